"""End-to-end test harness: the real swmld binary against real peers on loopback.

Each test file (tests/e2e/test_*.py) is run by ctest as
``python3 test_x.py --swmld PATH``; it registers cases with ``@case`` and ends with
``run()``, which prints ``N passed, M failed`` and exits non-zero on any failure.

- ``Swmld``: writes a config, starts ``swmld serve`` on free ports (127.0.0.1), waits until
  it listens, reads its JSON-lines log, stops it with SIGTERM and checks it exits 0.
- ``sipp(...)``: runs a SIPp scenario against it with a bounded time, keeping the message
  trace so tests can assert the exact SIP messages.
- ``HttpTestServer`` (http_server.py): a real HTTP server receiving callbacks and requests.

Every wait has a deadline; a failing case keeps its files (logs, traces) and prints where.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SIPP_DIR = os.path.join(HERE, "sipp")
sys.path.insert(0, HERE)
from http_server import HttpTestServer  # noqa: E402  (re-exported for tests)

SWMLD = None  # set by run()
_cases = []


def case(fn):
    """Registers a test case (a function taking a fresh working directory)."""
    _cases.append(fn)
    return fn


def free_port(kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM)):
    """A port free for UDP and TCP on 127.0.0.1 (racy by nature; retried by callers)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for kind in kinds:
            t = socket.socket(socket.AF_INET, kind)
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return port
    raise RuntimeError("no free port")


def free_sipp_media_port():
    """A port for SIPp's -mp: SIPp binds it and the next three (audio RTP/RTCP, video
    RTP/RTCP) and exits 254 when one is taken ("Unable to bind video RTP socket", seen with
    free_port() beside other test runs), so all four must be free (racy by nature, as
    free_port)."""
    import random
    for _ in range(200):
        base = random.randrange(20000, 32000, 2)  # below the ephemeral range (32768-60999)
        socks = []
        try:
            for p in range(base, base + 4):
                t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(t)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            pass
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no four free UDP ports for SIPp's media")


def free_rtp_range(n):
    """`n` consecutive UDP ports on 127.0.0.1 free now, outside the default 40000-40999 (for
    `rtp.port_min`/`port_max` when a test must not share ports with other runs)."""
    import random
    for _ in range(100):
        base = random.randrange(41000, 59000, 2)
        socks = []
        try:
            for p in range(base, base + n):
                t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(t)
                t.bind(("127.0.0.1", p))
            return {"port_min": base, "port_max": base + n - 1}
        except OSError:
            pass
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free RTP port range")


def metric(port, name):
    """The value of one series of swmld's /metrics on `port` ('name' or 'name{labels}'), 0
    when absent."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class Swmld:
    """A running `swmld serve`. Use as a context manager."""

    def __init__(self, workdir, routes, extra=None, documents=None, env=None):
        self.workdir = workdir
        self.port = free_port()
        self.log_path = os.path.join(workdir, "swmld.log")
        docs = {}
        for name, text in (documents or {}).items():
            path = os.path.join(workdir, name)
            with open(path, "w") as f:
                f.write(text)
            docs[name] = path
        cfg = {
            "sip": {"listen": [f"udp:127.0.0.1:{self.port}", f"tcp:127.0.0.1:{self.port}"]},
            "rtp": {"port_min": 40000, "port_max": 40999},
            "callbacks": {"project_id": "proj-1", "space_id": "space-1", "node_id": "node-1"},
            "logging": {"level": "debug", "format": "json"},
            "shutdown": {"drain_timeout": 5},
            "routes": [dict(r, swml=docs.get(r["swml"], r["swml"])) for r in routes],
        }
        for key, value in (extra or {}).items():
            cfg.setdefault(key, {}).update(value)
        self.config_path = os.path.join(workdir, "swmld.yaml")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)  # JSON is YAML
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.exit_code = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=10):
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([SWMLD, "serve", "--config", self.config_path],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.workdir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"swmld exited with {self.proc.returncode}: {self.text()}")
            if "swmld listening" in self.text():
                # The suite runs in both engine modes (tests/CMakeLists.txt): make sure the
                # one asked for is the one running.
                mode = self.env.get("SWMLD_ENGINE_MODE", "sip_thread")
                expect = "interpreter on the SIP thread" if mode == "sip_thread" else "engine thread(s)"
                if expect not in self.text():
                    raise AssertionError(f"engine.mode {mode}: '{expect}' not in the start-up log")
                return
            time.sleep(0.05)
        raise AssertionError("swmld did not start listening within %ss" % timeout)

    def stop(self, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            self.exit_code = self.proc.returncode if self.proc else None
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_code = self.proc.wait()
            raise AssertionError("swmld did not stop within %ss of SIGTERM" % timeout)
        finally:
            self._log.close()
        assert self.exit_code == 0, f"swmld exited with {self.exit_code}"

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def records(self):
        out = []
        for line in self.text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def events(self, name):
        return [r for r in self.records() if r.get("event") == name]

    def wait_event(self, name, count=1, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            ev = self.events(name)
            if len(ev) >= count:
                return ev
            time.sleep(0.05)
        raise AssertionError(f"no {count} '{name}' record(s) within {timeout}s")


class SippResult:
    def __init__(self, rc, out, messages):
        self.rc, self.out, self.messages = rc, out, messages

    def requests(self, method):
        """Requests swmld sent to SIPp (what SIPp received), by method."""
        return [m for m in self.messages if m["dir"] == "received" and m["first"].startswith(method + " ")]

    def responses(self, code):
        """Responses swmld sent to SIPp, by status code."""
        return [m for m in self.messages if m["dir"] == "received"
                and m["first"].startswith("SIP/2.0 %d " % code)]


def _parse_trace(path):
    """SIPp's -trace_msg file -> [{dir, first, headers{lower: [values]}, body, raw}]."""
    if not os.path.exists(path):
        return []
    text = open(path, errors="replace").read()
    blocks = re.split(r"^-{10,}.*$", text, flags=re.M)
    out = []
    for b in blocks:
        m = re.search(r"message (sent|received) \[\d+\] bytes\s*:\s*\n\n?", b)
        if not m:
            continue
        raw = b[m.end():].lstrip("\n").replace("\r", "")
        head, _, body = raw.partition("\n\n")
        lines = head.split("\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.setdefault(k.strip().lower(), []).append(v.strip())
        out.append({"dir": m.group(1), "first": lines[0].strip(), "headers": headers,
                    "body": body.strip(), "raw": raw})
    return out


def sipp(workdir, scenario, target_port, service="swml", calls=1, timeout=30, extra=(),
         transport="u1", name=None):
    """Runs a SIPp scenario (a file in tests/e2e/sipp or a path) against 127.0.0.1:port."""
    path = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
    name = name or os.path.splitext(os.path.basename(path))[0]
    trace = os.path.join(workdir, name + "_messages.log")
    local = free_port()
    cmd = ["sipp", "-sf", path, "-s", service, f"127.0.0.1:{target_port}", "-i", "127.0.0.1",
           "-p", str(local), "-mp", str(free_sipp_media_port()), "-m", str(calls), "-nostdin",
           "-timeout", str(timeout), "-timeout_error", "-t", transport,
           "-trace_msg", "-message_file", trace, "-trace_err",
           "-error_file", os.path.join(workdir, name + "_errors.log")] + list(extra)
    try:
        p = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout + 15)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = -1, "sipp did not finish: " + str(e)
    return SippResult(rc, out, _parse_trace(trace))


class SippUas:
    """A SIPp UAS (a scenario in tests/e2e/sipp) listening on 127.0.0.1:``port`` in the
    background, for calls swmld places (connect). ``result()`` waits for it to end."""

    def __init__(self, workdir, scenario, calls=1, timeout=30, extra=(), name=None):
        path = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
        self.name = name or os.path.splitext(os.path.basename(path))[0]
        self.trace = os.path.join(workdir, self.name + "_messages.log")
        self.port = free_port()
        self.timeout = timeout
        cmd = ["sipp", "-sf", path, "-i", "127.0.0.1", "-p", str(self.port),
               "-mp", str(free_sipp_media_port()), "-m", str(calls), "-nostdin", "-timeout", str(timeout),
               "-timeout_error", "-trace_msg", "-message_file", self.trace, "-trace_err",
               "-error_file", os.path.join(workdir, self.name + "_errors.log")] + list(extra)
        self._out = open(os.path.join(workdir, self.name + "_stdout.log"), "w")
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=self._out, stderr=subprocess.STDOUT)
        self._wait_bound()

    def _wait_bound(self, timeout=10):
        """Waits until SIPp holds its UDP port (swmld's INVITE to a port nobody holds yet
        fails at once with ICMP unreachable: a 503 transport error). A fixed sleep was not
        enough on a loaded machine."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sipp {self.name} exited with {self.proc.returncode}")
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                return  # taken: SIPp is listening
            finally:
                probe.close()
            time.sleep(0.02)
        raise AssertionError(f"sipp {self.name} did not bind 127.0.0.1:{self.port} in {timeout}s")

    @property
    def uri(self):
        return f"sip:callee@127.0.0.1:{self.port}"

    def result(self, timeout=None):
        try:
            rc = self.proc.wait(timeout or self.timeout + 15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._out.close()
        with open(self._out.name, errors="replace") as f:
            out = f.read()
        return SippResult(rc, out, _parse_trace(self.trace))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run():
    """Parses --swmld, runs every registered case, prints the totals, exits."""
    global SWMLD
    ap = argparse.ArgumentParser()
    ap.add_argument("--swmld", required=True)
    ap.add_argument("-k", default="", help="run only cases whose name contains this")
    args = ap.parse_args()
    SWMLD = os.path.abspath(args.swmld)
    passed = failed = 0
    root = tempfile.mkdtemp(prefix="swmld-e2e-")
    for fn in _cases:
        if args.k and args.k not in fn.__name__:
            continue
        workdir = os.path.join(root, fn.__name__)
        os.makedirs(workdir)
        t0 = time.time()
        try:
            fn(workdir)
            passed += 1
            print(f"PASS {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
            shutil.rmtree(workdir, ignore_errors=True)
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__} ({time.time() - t0:.1f}s); files kept in {workdir}")
            traceback.print_exc()
            sys.stdout.flush()
    if failed == 0:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
