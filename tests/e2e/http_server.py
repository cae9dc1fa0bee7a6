#!/usr/bin/env python3
"""Scriptable HTTP test server for the swmld test suite (Python 3 standard library only).

It plays every HTTP peer of swmld in tests: SWML document servers, `request` targets and
status-callback receivers. It records every request and answers as scripted per path.

Run as a program (what the C++ unit tests do):

    python3 tests/e2e/http_server.py [--host 127.0.0.1] [--port 0] [--exit-on-stdin-eof]

The first line on stdout is ``PORT <n>`` (the bound port; 0 picks a free one). The server
runs until SIGTERM/SIGINT, or until stdin reaches EOF with ``--exit-on-stdin-eof`` (give it a
pipe you keep open: the server then dies with its parent even when the parent crashes).

Use it in-process from Python tests:

    from http_server import HttpTestServer
    with HttpTestServer() as srv:                       # binds 127.0.0.1 on a free port
        srv.script("/doc", [{"status": 500}, {"status": 200, "body": "version: 1.0.0"}])
        url = srv.url("/doc")                           # http://127.0.0.1:<port>/doc
        ...
        srv.wait_for(2, path="/doc", timeout=5)         # raises TimeoutError
        reqs = srv.requests("/doc")                     # recorded requests, oldest first

Control endpoints (not recorded):

    GET  /_requests[?path=/p]   JSON list of recorded requests, oldest first. Each one:
                                {"method", "path" (with query), "path_only", "query",
                                 "headers" (dict, names lower-cased, last value wins),
                                 "raw_headers" ([[name, value], ...] as received),
                                 "body" (text, UTF-8 with replacement), "client_port",
                                 "time" (Unix seconds)}
    POST /_reset                forget requests and scripts
    POST /_script               body {"path": "/p", "responses": [spec, ...]} — responses are
                                consumed in order and the last one repeats. A path ends at
                                "?" (queries are ignored for matching). An empty list removes
                                the script.
    GET  /_wait?count=N[&path=/p][&timeout_ms=5000]
                                blocks until at least N requests (to /p) were recorded;
                                answers {"ok": true|false, "count": n}

A response spec (every field optional):

    status      int, default 200
    headers     {"Name": "value"}; Content-Length is always computed
    body        string
    json        any JSON value, sent as the body with Content-Type application/json
    body_bytes  int: a body of that many "x" characters
    body_file   path of a file sent as the body, bytes as they are (audio files)
    delay_ms    wait this long before answering
    action      "close": close the connection without answering
                "garbage": send bytes that are not HTTP, then close

Unscripted paths answer 200 with body "{}" and Content-Type application/json. The server
speaks HTTP/1.1 with keep-alive, so connection reuse can be observed through client_port.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_DEFAULT_RESPONSE = {"status": 200}


class _State:
    def __init__(self):
        self.lock = threading.Condition()
        self.requests = []
        self.scripts = {}  # path -> [spec, ...]

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.scripts.clear()
            self.lock.notify_all()

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            self.lock.notify_all()

    def next_response(self, path):
        with self.lock:
            queue = self.scripts.get(path)
            if not queue:
                return dict(_DEFAULT_RESPONSE)
            return queue.pop(0) if len(queue) > 1 else dict(queue[0])

    def matching(self, path):
        with self.lock:
            return [r for r in self.requests if path is None or r["path_only"] == path]

    def wait(self, count, path, timeout_s):
        deadline = time.monotonic() + timeout_s
        with self.lock:
            while True:
                n = sum(1 for r in self.requests if path is None or r["path_only"] == path)
                left = deadline - time.monotonic()
                if n >= count or left <= 0:
                    return n >= count, n
                self.lock.wait(left)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "swmld-test-http/1.0"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            sys.stderr.write("http_server: " + (fmt % args) + "\n")

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body, headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        names = set()
        for k, v in (headers or {}).items():
            if k.lower() == "content-length":
                continue
            self.send_header(k, str(v))
            names.add(k.lower())
        if "content-type" not in names and data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _control(self, parsed, body):
        state = self.server.state
        query = urllib.parse.parse_qs(parsed.query)
        path = query.get("path", [None])[0]
        if parsed.path == "/_requests":
            self._send(200, json.dumps(state.matching(path)))
        elif parsed.path == "/_reset":
            state.reset()
            self._send(200, "{}")
        elif parsed.path == "/_script":
            spec = json.loads(body or b"{}")
            with state.lock:
                if spec.get("responses"):
                    state.scripts[spec["path"]] = list(spec["responses"])
                else:
                    state.scripts.pop(spec.get("path"), None)
            self._send(200, "{}")
        elif parsed.path == "/_wait":
            count = int(query.get("count", ["1"])[0])
            timeout_ms = int(query.get("timeout_ms", ["5000"])[0])
            ok, n = state.wait(count, path, timeout_ms / 1000.0)
            self._send(200, json.dumps({"ok": ok, "count": n}))
        else:
            self._send(404, json.dumps({"error": "unknown control path"}))

    def _handle(self):
        body = self._read_body()
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path.startswith("/_"):
            self._control(parsed, body)
            return
        raw = [[k, v] for k, v in self.headers.items()]
        self.server.state.record({
            "method": self.command,
            "path": self.path,
            "path_only": parsed.path,
            "query": parsed.query,
            "headers": {k.lower(): v for k, v in raw},
            "raw_headers": raw,
            "body": body.decode("utf-8", "replace"),
            "client_port": self.client_address[1],
            "time": time.time(),
        })
        spec = self.server.state.next_response(parsed.path)
        if spec.get("delay_ms"):
            time.sleep(spec["delay_ms"] / 1000.0)
        action = spec.get("action")
        if action == "close":
            self.close_connection = True
            return
        if action == "garbage":
            self.wfile.write(b"THIS IS NOT HTTP\x00\x01\r\n\r\n")
            self.close_connection = True
            return
        headers = dict(spec.get("headers") or {})
        if "json" in spec:
            out = json.dumps(spec["json"])
            headers.setdefault("Content-Type", "application/json")
        elif "body_bytes" in spec:
            out = "x" * int(spec["body_bytes"])
            headers.setdefault("Content-Type", "text/plain")
        elif "body_file" in spec:
            with open(spec["body_file"], "rb") as f:
                out = f.read()
            headers.setdefault("Content-Type", "application/octet-stream")
        else:
            out = spec.get("body", "{}")
        self._send(int(spec.get("status", 200)), out, headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a client opening more connections at once (the
    # http::Client opens up to 16 per host) then has its handshake dropped and retried by
    # TCP a second later, which looks like a slow client.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Clients that time out or cancel hang up on purpose in tests: not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError) and not self.verbose:
            return
        super().handle_error(request, client_address)


class HttpTestServer:
    """The server, started in a background thread of the current process."""

    def __init__(self, host="127.0.0.1", port=0, verbose=False):
        self._httpd = _Server((host, port), _Handler)
        self._httpd.state = _State()
        self._httpd.verbose = verbose
        self._thread = None
        self.host = host
        self.port = self._httpd.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def script(self, path, responses):
        with self._httpd.state.lock:
            if responses:
                self._httpd.state.scripts[path] = list(responses)
            else:
                self._httpd.state.scripts.pop(path, None)

    def requests(self, path=None):
        return self._httpd.state.matching(path)

    def reset(self):
        self._httpd.state.reset()

    def wait_for(self, count, path=None, timeout=5.0):
        ok, n = self._httpd.state.wait(count, path, timeout)
        if not ok:
            raise TimeoutError("expected %d requests to %s, got %d" % (count, path or "*", n))
        return self.requests(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    server = HttpTestServer(args.host, args.port, args.verbose).start()
    print("PORT %d" % server.port, flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.exit_on_stdin_eof:
        def watch():
            while os.read(sys.stdin.fileno(), 4096):
                pass
            done.set()
        threading.Thread(target=watch, daemon=True).start()
    while not done.wait(0.5):
        pass
    server.stop()
    sys.stdout.flush()
    # Leave at once: interpreter finalisation with handler threads still blocked on
    # keep-alive sockets must not keep the process (and the test waiting for it) alive.
    os._exit(0)


if __name__ == "__main__":
    main()
