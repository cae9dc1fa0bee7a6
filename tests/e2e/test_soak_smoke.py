#!/usr/bin/env python3
"""bench/soak/run in its smoke mode, so that the soak benchmark (issue #12 item 6) cannot rot:
300 REFER calls of the five outcomes (success, busy, decline, NOTIFY timeout, auth) against a
callback server that fails, delays and never answers some callbacks; the verdict must pass
(every call as intended, every callback delivered, failed or dropped). And the other way: a
route expecting a result its calls do not produce must make the verdict fail."""

import json
import os
import random
import socket
import subprocess
import sys

import e2e
from e2e import case, free_port, run

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK = os.path.join(HERE, "..", "..", "bench", "soak", "run")
SANITIZED = bool(os.environ.get("SWMLD_SANITIZED"))


def build_dir():
    # --swmld is BUILD/src/app/swmld; http_sink is BUILD/bench/http_sink/http_sink.
    build = os.path.dirname(os.path.dirname(os.path.dirname(e2e.SWMLD)))
    assert os.access(os.path.join(build, "bench", "http_sink", "http_sink"), os.X_OK), build
    return build


def free_block(n, low, high, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM)):
    """An even base port in [low, high) with base..base+n-1 free on 127.0.0.1 now. Below the
    ports other runs use on a shared machine (e2e RTP 40000-40999 and free_rtp_range's
    41000-59000, other benchmarks 50000-59999 and 60000-64999)."""
    for _ in range(100):
        base = random.randrange(low, high - n, 2)
        socks = []
        try:
            for p in range(base, base + n):
                for kind in kinds:
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port block")


def soak(workdir, *extra):
    base = free_block(70, 33000, 39000)  # SIPp's five ports and, 10 apart above, their media ports
    rtp = free_block(200, 30000, 32700, (socket.SOCK_DGRAM,))
    cmd = [sys.executable, SOAK, "--bin", build_dir(), "--swmld", e2e.SWMLD, "--out", workdir,
           "--sip-port", str(free_port()), "--sink-port", str(free_port()),
           "--metrics-port", str(free_port()), "--sipp-port", str(base),
           "--sipp-media-port", str(base + 10), "--rtp-ports", f"{rtp}-{rtp + 199}",
           *extra]
    if os.environ.get("SOAK_TRACE"):  # SIPp's message traces in the kept folder, to debug a failure
        cmd.append("--trace-msg")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=150)
    lines = p.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), p.stdout[-3000:]
    return p.returncode, json.loads(lines[-1]), p.stdout


@case
def smoke_mode_passes(workdir):
    # Every 97th callback request hangs (swmld's 5 s time-out, then a retry), so that each
    # way of failing happens in 300 calls.
    # Under ASan a call costs about 25 ms of the SIP thread (a JavaScript heap per call): at
    # 50/s the thread fell behind and calls were lost (CI). 15/s stays well within it.
    rate = "15" if SANITIZED else "100"
    rc, res, out = soak(workdir, "--calls", "300", "--rate", rate, "--sink-hang-every", "97")
    assert rc == 0 and res["verdict"] == "pass", out[-3000:]
    assert res["plan"] == {"success": 210, "busy": 30, "decline": 24, "timeout": 21, "auth": 15}, res["plan"]
    for outcome, v in res["sipp"].items():
        assert v["ok"] == v["planned"] and v["failed"] == 0, (outcome, v)
    assert res["refer_results"] == {"success": 225, "failed": 54, "timeout": 21}, res["refer_results"]
    cb = res["callbacks"]
    # 210 x 2 + 30 x 2 + 24 + 21 x 3 + 15 x 2
    assert cb["expected"] == 597, cb
    assert cb["delivered"] + cb["failed"] + cb["dropped"] == 597 and cb["pending"] == 0, cb
    assert cb["retried"] > 0 and cb["sink"]["failed"] > 0 and cb["sink"]["hung"] > 0, cb
    assert cb["sink"]["ok"] == cb["delivered"], cb
    assert res["server_rc"] == 0, res


@case
def unexpected_result_fails_the_verdict(workdir):
    # The busy route expects "success": its document sends a second REFER, which the busy
    # scenario does not expect, so every call fails in SIPp and the verdict says so.
    rc, res, out = soak(workdir, "--calls", "20", "--rate", "20", "--mix", "busy=1",
                        "--expect", "busy=success")
    assert rc == 1 and res["verdict"] == "FAIL", out[-3000:]
    assert res["checks"]["calls"] is False and res["unintended_failures"] == 20, res
    assert res["sipp"]["busy"]["ok"] == 0 and res["sipp"]["busy"]["failed"] == 20, res["sipp"]


if __name__ == "__main__":
    run()
