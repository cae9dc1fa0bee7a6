#!/usr/bin/env python3
"""Scanners and attackers (issue #12): SIPVicious (svmap, svwar, svcrack: the Debian package
sipvicious, run as separate programs), mutated datagrams from a fixed seed, TCP connections
that send nothing, half a message, a megabyte without a line end, one byte a second or more
connections than allowed, and an OPTIONS flood. Throughout, a SIPp REFER load at a modest
rate sees no failed call; afterwards swmld's memory and descriptors are back where they were
(a second round of the same abuse does not grow them), and the scanner learnt nothing beyond
the configured User-Agent."""

import os
import random
import re
import select
import shutil
import socket
import subprocess
import time
import urllib.request

from e2e import SIPP_DIR, Swmld, case, free_port, free_rtp_range, run

UA = "acme-edge"  # sip.user_agent: the only name a peer may see

REFER_DOC = """
- answer
- sip_refer: {to_uri: "sip:alice@example.com"}
- hangup
"""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Load:
    """A SIPp REFER load in the background: `rate` calls/s for `calls` calls."""

    def __init__(self, workdir, port, rate=10, calls=100, name="load"):
        self.stat = os.path.join(workdir, name + "_stat.csv")
        self.errors = os.path.join(workdir, name + "_errors.log")
        cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, "uac_refer_notify_200.xml"), "-s", "refer",
               "127.0.0.1:%d" % port, "-i", "127.0.0.1", "-p", str(free_port()),
               "-mp", str(free_port()), "-r", str(rate), "-m", str(calls), "-l", str(rate * 4),
               "-nostdin", "-timeout", "120", "-timeout_error", "-t", "u1",
               "-trace_err", "-error_file", self.errors, "-trace_screen",
               "-screen_file", os.path.join(workdir, name + "_screen.log")]
        self.out = open(os.path.join(workdir, name + ".out"), "w")
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=self.out, stderr=subprocess.STDOUT)
        self.workdir, self.name = workdir, name

    def finish(self, timeout=90):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("SIPp load did not finish")
        finally:
            self.out.close()
        screen = open(os.path.join(self.workdir, self.name + "_screen.log"), errors="replace").read()
        ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", screen)
        failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", screen)
        return rc, int(ok.group(1)) if ok else -1, int(failed.group(1)) if failed else -1, screen


# --- mutated datagrams ----------------------------------------------------------------------

def base_messages(port, lp):
    opt = ("OPTIONS sip:swml@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-m%%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:m@127.0.0.1>;tag=m%%d\r\nTo: <sip:swml@127.0.0.1>\r\n"
           "Call-ID: mut-%%d@h\r\nCSeq: 1 OPTIONS\r\nContact: <sip:m@127.0.0.1:%d>\r\n"
           "Content-Length: 0\r\n\r\n") % (port, lp, lp)
    sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 9 RTP/AVP 0\r\n")
    inv = ("INVITE sip:busy@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-i%%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:m@127.0.0.1>;tag=i%%d\r\nTo: <sip:busy@127.0.0.1>\r\n"
           "Call-ID: muti-%%d@h\r\nCSeq: 1 INVITE\r\nContact: <sip:m@127.0.0.1:%d>\r\n"
           "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
        port, lp, lp, len(sdp), sdp)
    return [opt.encode(), inv.encode()]


def mutations(port, lp, seed, count):
    """`count` hostile datagrams (bytes) from a fixed seed."""
    rnd = random.Random(seed)
    bases = base_messages(port, lp)
    out = []
    for i in range(count):
        m = rnd.choice(bases).replace(b"%d", str(seed * 100000 + i).encode())
        kind = i % 10
        if kind == 0:    # truncated anywhere
            m = m[:rnd.randrange(1, len(m))]
        elif kind == 1:  # a 60 KB header
            m = m.replace(b"Max-Forwards", b"X-Big: " + b"a" * 60000 + b"\r\nMax-Forwards", 1)
        elif kind == 2:  # NUL bytes in random places
            b = bytearray(m)
            for _ in range(rnd.randrange(1, 8)):
                b.insert(rnd.randrange(len(b)), 0)
            m = bytes(b)
        elif kind == 3:  # a wrong Content-Length
            m = re.sub(rb"Content-Length: \d+", b"Content-Length: " + rnd.choice(
                [b"99999", b"-1", b"1", b"18446744073709551617", b"abc", b"1 2"]), m)
        elif kind == 4:  # thousands of Via values (one datagram holds ~4,000)
            vias = b",".join([b"SIP/2.0/UDP 10.0.0.%d;branch=z9hG4bK%d" % (j % 250, j)
                              for j in range(rnd.randrange(1000, 1400))])
            m = m.replace(b"Max-Forwards", b"Via: " + vias + b"\r\nMax-Forwards", 1)
        elif kind == 5:  # random bytes
            m = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 1500)))
        elif kind == 6:  # bit flips
            b = bytearray(m)
            for _ in range(rnd.randrange(1, 20)):
                j = rnd.randrange(len(b))
                b[j] ^= 1 << rnd.randrange(8)
            m = bytes(b)
        elif kind == 7:  # a header line repeated, folded, or without colon
            m = m.replace(b"\r\nTo:", rnd.choice([b"\r\nTo:" * 50, b"\r\n  \r\nTo:", b"\r\nTo"]), 1)
        elif kind == 8:  # huge numbers and odd start lines
            m = rnd.choice([m.replace(b"CSeq: 1", b"CSeq: 99999999999999999999"),
                            m.replace(b"SIP/2.0\r\n", b"SIP/2.0 \r\n", 1),
                            b"SIP/2.0 200 OK\r\n" + m.split(b"\r\n", 1)[1],
                            m.replace(b"Max-Forwards: 70", b"Max-Forwards: -5")])
        # kind 9: unchanged (a valid message among the rest)
        out.append(m[:65000])
    return out


def send_mutations(port, seed, count=1500, rate=1500):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    msgs = mutations(port, s.getsockname()[1], seed, count)
    t0 = time.time()
    for i, m in enumerate(msgs):
        try:
            s.sendto(m, ("127.0.0.1", port))
        except OSError:
            pass
        while time.time() - t0 < i / rate:
            drain(s)
            time.sleep(0.001)
    end = time.time() + 1
    while time.time() < end:
        drain(s)
        time.sleep(0.01)
    s.close()


def drain(s):
    try:
        while True:
            s.recv(65535)
    except OSError:
        pass


# --- TCP abuse -------------------------------------------------------------------------------

def tcp_abuse(port, per_source, timeout_s, with_limit_check=True):
    """Opens the hostile connections; returns {name: seconds until swmld closed it}."""
    conns = {}

    def open_conn(name, payload=b""):
        c = socket.create_connection(("127.0.0.1", port))
        if payload:
            c.sendall(payload)
        conns[c] = name
        return c

    open_conn("silent")
    open_conn("half", b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1\r\n")
    open_conn("garbage", b"HELLO WORLD\r\n\r\n")
    huge = open_conn("huge")
    huge.setblocking(False)
    try:
        huge.send(b"A" * 1000000)  # as much of a megabyte without CRLF as the kernel takes
    except OSError:
        pass
    trickle = open_conn("trickle", b"OPTIONS sip:swml@127.0.0.1 SIP/2.0\r\n")
    extra = []
    if with_limit_check:
        # Already 5 open from here; the limit closes the newest beyond it.
        for i in range(per_source + 5):
            extra.append(open_conn("over%d" % i))
    t0 = time.time()
    closed = {}
    next_byte = t0 + 1
    deadline = t0 + timeout_s * 3 + 3
    while len(closed) < len(conns) and time.time() < deadline:
        if time.time() >= next_byte and "trickle" not in closed:
            try:
                trickle.send(b"X")  # one byte a second: Sofia's own timers restart at each
            except OSError:
                pass
            next_byte += 1
        live = [c for c in conns if conns[c] not in closed]
        ready, _, _ = select.select(live, [], [], 0.05)
        for c in ready:
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed[conns[c]] = time.time() - t0
        if with_limit_check and len([n for n in closed if n.startswith("over")]) >= 10 \
                and len([n for n in closed if not n.startswith("over")]) == 5:
            break
    for c in conns:
        c.close()
    return closed


def options_flood(port, seconds=3, rate=3000, tag=0):
    """OPTIONS at `rate`/s from one socket; returns (sent, 200s received)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    lp = s.getsockname()[1]
    tmpl = ("OPTIONS sip:swml@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-f%%d\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:f@127.0.0.1>;tag=f\r\nTo: <sip:swml@127.0.0.1>\r\n"
            "Call-ID: flood-%%d@h\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (port, lp)
    # Each round its own branches: a branch seen in the last 32 s is a retransmission, whose
    # answer goes where the first copy came from.
    tmpl = tmpl.replace("z9hG4bK-f", "z9hG4bK-f%d-" % tag).replace("flood-", "flood%d-" % tag)
    sent = ok = 0
    t0 = time.time()
    while time.time() - t0 < seconds:
        target = int((time.time() - t0) * rate)
        while sent < target:
            try:
                s.sendto((tmpl % (sent, sent)).encode(), ("127.0.0.1", port))
            except OSError:
                pass
            sent += 1
        try:
            while True:
                if s.recv(65535).startswith(b"SIP/2.0 200 "):
                    ok += 1
        except OSError:
            pass
        time.sleep(0.002)
    end = time.time() + 2
    while time.time() < end:
        try:
            while True:
                if s.recv(65535).startswith(b"SIP/2.0 200 "):
                    ok += 1
        except OSError:
            time.sleep(0.01)
    s.close()
    return sent, ok


def settle(pid, baseline, timeout=8):
    """Waits for the descriptors to come back to `baseline`; returns the count."""
    end = time.time() + timeout
    while fds(pid) > baseline and time.time() < end:
        time.sleep(0.1)
    return fds(pid)


def config(timeout_s=2, per_source=10, rtp_ports=400):
    return {"rtp": free_rtp_range(rtp_ports),"sip": {"user_agent": UA, "message_timeout": timeout_s, "tcp_idle_timeout": timeout_s + 1,
                    "tcp_max_connections_per_source": per_source},
            "logging": {"level": "info", "format": "json"},
            "limits": {"max_cps": 10000},
            "metrics": {"listen": "127.0.0.1:%d" % free_port()}}


ROUTES = [{"match": {"user": "refer"}, "swml": "refer.yaml"}, {"swml": "busy.yaml"}]
DOCS = {"refer.yaml": REFER_DOC, "busy.yaml": "- hangup: {reason: busy}\n"}


def metrics(cfg):
    url = "http://%s/metrics" % cfg["metrics"]["listen"]
    return urllib.request.urlopen(url, timeout=5).read().decode()


@case
def sipvicious_learns_only_the_user_agent_and_calls_keep_working(workdir):
    assert shutil.which("svmap"), "sipvicious is not installed (scripts/install-deps)"
    env = dict(os.environ, HOME=workdir)  # sipvicious keeps its sessions in ~/.sipvicious
    with Swmld(workdir, ROUTES, documents=DOCS, extra=config()) as s:
        load = Load(workdir, s.port, rate=5, calls=60)
        time.sleep(1)
        base = ["-p", str(s.port), "-P", str(free_port()), "-b", "127.0.0.1", "-t", "0.01"]
        svmap = subprocess.run(["svmap", "127.0.0.1", "--debug"] + base, env=env, cwd=workdir,
                               capture_output=True, text=True, timeout=60)
        svmap_inv = subprocess.run(["svmap", "127.0.0.1", "-m", "INVITE", "--debug"] + base,
                                   env=env, cwd=workdir, capture_output=True, text=True, timeout=60)
        base[3] = str(free_port())
        svwar = subprocess.run(["svwar", "127.0.0.1", "-e", "100-300", "--force"] + base, env=env,
                               cwd=workdir, capture_output=True, text=True, timeout=60)
        svwar_inv = subprocess.run(["svwar", "127.0.0.1", "-e", "100-150", "-m", "INVITE", "--force"]
                                   + base, env=env, cwd=workdir, capture_output=True, text=True,
                                   timeout=60)
        base[3] = str(free_port())
        svcrack = subprocess.run(["svcrack", "127.0.0.1", "-u", "100", "-r", "1000-1300"] + base,
                                 env=env, cwd=workdir, capture_output=True, text=True, timeout=60)
        rc, ok, failed, screen = load.finish()
        alive = s.proc.poll() is None
    open(os.path.join(workdir, "sipvicious.txt"), "w").write(
        "\n\n".join(p.stdout + p.stderr for p in (svmap, svmap_inv, svwar, svwar_inv, svcrack)))
    assert alive
    # svmap finds a SIP device and names it by our User-Agent, nothing more.
    assert re.search(r"127\.0\.0\.1:%d\s*\|\s*%s\s*\|" % (s.port, UA), svmap.stdout), svmap.stdout
    heard = svmap.stdout + svmap.stderr + svmap_inv.stdout + svmap_inv.stderr
    # --debug prints each response as a Python bytes literal: line ends are "\\r\\n".
    names = set(re.findall(r"(?i)(?:\\r\\n|\n)(?:User-Agent|Server):\s*(.*?)(?:\\r\\n|\r?\n)", heard))
    assert names == {UA}, names
    assert not re.search(r"(?i)sofia|swmld|nua/|\d+\.\d+\.\d+\.\d+/", " ".join(names))
    # svwar finds no extension, by REGISTER (405 for every one) or by INVITE (the catch-all
    # route answers every extension the same: nothing tells one from another), and svcrack
    # no password (no registrar, nothing asks for credentials).
    for p in (svwar, svwar_inv, svcrack):
        assert "found nothing" in p.stdout + p.stderr, p.stdout + p.stderr
        assert not re.search(r"\|\s*(reqauth|noauth)\s*\|", p.stdout), p.stdout
    assert rc == 0 and failed == 0 and ok == 60, (rc, ok, failed, screen[-2000:])


def wait_memory(pid, since, hold=33, timeout=45):
    """RSS once what the abuse left in Sofia's transactions has gone: Sofia keeps every
    server transaction, with its request and response, for 64 x T1 = 32 s after answering
    (Timer J); waits that long after `since`, then for RSS to stop falling."""
    time.sleep(max(0, since + hold - time.time()))
    last, end = rss_kb(pid), time.time() + timeout - hold
    while time.time() < end:
        time.sleep(0.5)
        now = rss_kb(pid)
        if now >= last:
            return now
        last = now
    return last


@case
def hostile_datagrams_tcp_abuse_and_floods_leave_no_trace(workdir):
    per_source, timeout_s = 10, 2
    cfg = config(timeout_s, per_source, rtp_ports=80)  # 40 pairs, all used in the warm-up
    # jemalloc hands freed pages back lazily (MADV_FREE: still counted in RSS until the
    # kernel needs them); measured here is what swmld holds, so it returns them at once.
    env = {"MALLOC_CONF": "dirty_decay_ms:1000,muzzy_decay_ms:0"}
    with Swmld(workdir, ROUTES, documents=DOCS, extra=cfg, env=env) as s:
        pid = s.proc.pid
        # Warm up: every RTP port pair gets its socket (kept open between calls).
        load = Load(workdir, s.port, rate=25, calls=60, name="warmup")
        assert load.finish()[2] == 0
        fd0 = settle(pid, fds(pid))
        rss0 = wait_memory(pid, time.time(), hold=1)
        load = Load(workdir, s.port, rate=5, calls=360)
        rounds, rss = [], []
        for seed in (1, 2):
            send_mutations(s.port, seed, count=1000, rate=1000)
            flood = options_flood(s.port, seconds=2, rate=2000, tag=seed)
            t_flood = time.time()
            closed = tcp_abuse(s.port, per_source, timeout_s)
            assert s.proc.poll() is None, "swmld died in round %d" % seed
            rounds.append((closed, flood))
            rss.append(wait_memory(pid, t_flood))
        rc, ok, failed, screen = load.finish()
        fd1 = settle(pid, fd0)
        page = metrics(cfg)
    print("rss kB: before %d, after round 1 %d, after round 2 %d; fds %d -> %d; flood sent/answered: %s"
          % (rss0, rss[0], rss[1], fd0, fd1, [r[1] for r in rounds]))
    assert rc == 0 and failed == 0 and ok == 360, (rc, ok, failed, screen[-2000:])
    for closed, (sent, answered) in rounds:
        # The flood got answers (answering it is not what hurts) ...
        assert answered > sent * 0.5, (sent, answered)
        # ... and every hostile TCP connection was closed, each within a bounded time.
        assert {"silent", "half", "garbage", "huge", "trickle"} <= set(closed), closed
        assert closed["huge"] < 1.5, closed
        for n in ("silent", "half", "trickle", "garbage"):
            assert closed[n] < timeout_s * 2 + 1.5, closed
        # 5 + per_source + 5 connections from one address, "huge" closed at once: the 9
        # newest beyond the limit go within a guard tick (0.5 s here), the rest (silent)
        # after message_timeout.
        over = [n for n in closed if n.startswith("over")]
        assert len(over) == per_source + 5, closed
        assert len([n for n in over if closed[n] < 1.5]) >= 9, closed
    assert fd1 <= fd0, (fd0, fd1)
    if not os.environ.get("SWMLD_SANITIZED"):
        # ASan holds freed memory in its quarantine (hundreds of MB) by design: no bound then.
        assert rss[0] <= rss0 * 1.5, (rss0, rss)
        assert rss[1] <= rss[0] * 1.1 + 2048, (rss0, rss)
    for reason in ("over_limit", "silent", "trickle"):
        m = re.search(r'swmld_sip_tcp_closed_total\{reason="%s"\} (\d+)' % reason, page)
        assert m and int(m.group(1)) >= 2, (reason, page)


if __name__ == "__main__":
    run()
