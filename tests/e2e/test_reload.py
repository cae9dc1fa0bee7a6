#!/usr/bin/env python3
"""Readiness and reload: SIGHUP applies a new configuration (routes, documents, limits, log
level) to new calls while running calls finish with what they started with; an invalid
configuration is refused and the old one keeps serving; /readyz turns 503 at SIGTERM; systemd
hears READY/RELOADING/STOPPING on $NOTIFY_SOCKET; a reload under SIPp load loses no call."""

import json
import os
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import e2e
from e2e import Swmld, case, run, sipp

# answer, [sleep], REFER to `to`, hangup: the Refer-To SIPp receives tells which document ran.
DOC = """version: 1.0.0
sections:
  main:
    - answer
%(sleep)s    - sip_refer: {to_uri: "%(to)s"}
    - hangup
"""


def doc(to, sleep_ms=0):
    return DOC % {"to": to, "sleep": f"    - sleep: {sleep_ms}\n" if sleep_ms else ""}


def refer_to(res):
    refers = res.requests("REFER")
    assert refers, "no REFER received: " + res.out
    return refers[0]["headers"]["refer-to"][0].strip("<>")


def config(s):
    with open(s.config_path) as f:
        return json.load(f)


def write_config(s, cfg):
    with open(s.config_path, "w") as f:
        json.dump(cfg, f, indent=2)


def write_doc(s, name, text):
    with open(os.path.join(s.workdir, name), "w") as f:
        f.write(text)


def reload_and_wait(s, count):
    """SIGHUP, then the `count`-th config_reload record."""
    s.proc.send_signal(signal.SIGHUP)
    return s.wait_event("config_reload", count=count)[count - 1]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in metrics: {text}")


def background(workdir, port, scenario="uac_refer_notify_200.xml", name="bg", **kw):
    out = {}
    t = threading.Thread(target=lambda: out.update(res=sipp(workdir, scenario, port, name=name, **kw)))
    t.start()
    return t, out


def wait_for(predicate, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(what)


@case
def reload_gives_new_calls_the_new_config_and_running_calls_keep_theirs(workdir):
    mport = e2e.free_port()
    with Swmld(workdir, [{"name": "main", "swml": "doc.yaml"}],
               extra={"metrics": {"listen": f"127.0.0.1:{mport}"}, "limits": {"max_calls": 50}},
               documents={"doc.yaml": doc("sip:old@example.com", sleep_ms=3000)}) as s:
        metrics = f"http://127.0.0.1:{mport}/metrics"
        t, out = background(workdir, s.port, name="running")
        wait_for(lambda: "source=127.0.0.1" in s.text(), "the first call did not start")

        # New document for the route, a new route before it, a new limit, a new log level.
        write_doc(s, "doc.yaml", doc("sip:new@example.com"))
        write_doc(s, "vip.yaml", doc("sip:vip@example.com"))
        cfg = config(s)
        cfg["routes"].insert(0, {"name": "vip", "match": {"user": "vip"},
                                 "swml": os.path.join(s.workdir, "vip.yaml")})
        cfg["limits"]["max_calls"] = 40
        cfg["logging"]["level"] = "info"
        write_config(s, cfg)
        rec = reload_and_wait(s, 1)
        assert rec["result"] == "ok", rec
        assert rec["routes"] == 2 and rec["documents"] == 2, rec
        assert rec["changed"] == ["routes", "limits.max_calls", "logging.level"], rec
        assert rec["needs_restart"] == [] and rec["log_level"] == "info", rec

        new = sipp(workdir, "uac_refer_notify_200.xml", s.port, name="new")
        assert new.rc == 0, new.out
        assert refer_to(new) == "sip:new@example.com"
        vip = sipp(workdir, "uac_refer_notify_200.xml", s.port, service="vip", name="vip")
        assert vip.rc == 0, vip.out
        assert refer_to(vip) == "sip:vip@example.com"

        t.join(30)
        assert out["res"].rc == 0, "the running call did not finish: " + out["res"].out
        assert refer_to(out["res"]) == "sip:old@example.com"
        # ...and it reached its REFER after the reload: it kept the document it started with.
        old = [r for r in s.events("refer_result") if r.get("to_uri") == "sip:old@example.com"]
        assert len(old) == 1 and old[0]["ts"] > rec["ts"], (old, rec)
        # logging.level info took effect: no per-call debug line for the calls after it.
        assert s.text().count("source=127.0.0.1") == 1, s.text()[-3000:]
        text = urllib.request.urlopen(metrics, timeout=5).read().decode()
        assert 'swmld_config_reloads_total{result="ok"} 1' in text, text
        assert 'swmld_config_reloads_total{result="failed"} 0' in text, text
        assert abs(metric(text, "swmld_config_last_reload_success_timestamp_seconds") - time.time()) < 60


@case
def an_invalid_config_is_refused_and_the_old_one_keeps_serving(workdir):
    mport = e2e.free_port()
    with Swmld(workdir, [{"swml": "doc.yaml"}],
               extra={"metrics": {"listen": f"127.0.0.1:{mport}"}},
               documents={"doc.yaml": doc("sip:old@example.com")}) as s:
        good = config(s)
        bad = json.loads(json.dumps(good))
        bad["limits"] = {"max_calls": 0}
        write_doc(s, "doc.yaml", doc("sip:new@example.com"))
        write_config(s, bad)
        rec = reload_and_wait(s, 1)
        assert rec["result"] == "failed", rec
        assert "config key 'limits.max_calls': must be at least 1" in rec["error"], rec
        assert rec["message"] == "configuration refused; the running configuration stays", rec

        # A broken route document is refused too, located in its file.
        write_config(s, good)
        write_doc(s, "doc.yaml", "version: 1.0.0\nsections:\n  main:\n    - answr\n")
        rec = reload_and_wait(s, 2)
        assert rec["result"] == "failed", rec
        assert re.search(r"doc\.yaml:4:7: relay_script_method_undefined", rec["error"]), rec

        # Still the document loaded at start-up.
        res = sipp(workdir, "uac_refer_notify_200.xml", s.port)
        assert res.rc == 0, res.out
        assert refer_to(res) == "sip:old@example.com"

        # Keys that need a restart are named and keep their running value; the rest applies.
        changed = json.loads(json.dumps(good))
        changed["rtp"]["port_min"] = 41000
        changed["rtp"]["port_max"] = 41999
        changed["sip"]["listen"] = [f"udp:127.0.0.1:{e2e.free_port()}"]
        write_config(s, changed)
        write_doc(s, "doc.yaml", doc("sip:new@example.com"))
        rec = reload_and_wait(s, 3)
        assert rec["result"] == "ok", rec
        assert rec["needs_restart"] == ["sip.listen", "rtp.port_min", "rtp.port_max"], rec
        for key in ("sip.listen", "rtp.port_min", "rtp.port_max"):
            assert f"config reload: {key} needs a restart; it keeps its running value" in s.text()
        res = sipp(workdir, "uac_refer_notify_200.xml", s.port, name="after")
        assert res.rc == 0, res.out
        assert refer_to(res) == "sip:new@example.com"
        text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
        assert 'swmld_config_reloads_total{result="failed"} 2' in text, text
        assert 'swmld_config_reloads_total{result="ok"} 1' in text, text


@case
def check_config_validates_without_starting(workdir):
    import subprocess
    with open(os.path.join(workdir, "doc.yaml"), "w") as f:
        f.write(doc("sip:a@example.com"))
    good = os.path.join(workdir, "good.yaml")
    with open(good, "w") as f:
        f.write("sip: {listen: ['udp:127.0.0.1:1']}\nroutes: [{swml: doc.yaml}]\n")
    p = subprocess.run([e2e.SWMLD, "check", "--config", good, "-v"], capture_output=True, text=True,
                       timeout=20, cwd=workdir)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{good}: ok (1 route(s), 1 document(s))\n", p.stdout
    bad = os.path.join(workdir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("routes: [{swml: doc.yaml}]\nlimits: {max_cps: -1}\n")
    p = subprocess.run([e2e.SWMLD, "check", "--config", bad], capture_output=True, text=True,
                       timeout=20, cwd=workdir)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert p.stderr == (f"{bad}: relay_script_element_invalid_value: config key 'limits.max_cps': "
                        "must be positive\n"), p.stderr


@case
def readyz_is_200_while_serving_and_503_while_draining_and_systemd_is_told(workdir):
    mport = e2e.free_port()
    sock_path = os.path.join(workdir, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(sock_path)
    notify.settimeout(10)
    s = Swmld(workdir, [{"swml": "doc.yaml"}], extra={"metrics": {"listen": f"127.0.0.1:{mport}"}},
              documents={"doc.yaml": doc("sip:old@example.com", sleep_ms=2000)},
              env={"NOTIFY_SOCKET": sock_path})
    base = f"http://127.0.0.1:{mport}"
    try:
        s.start()
        assert notify.recv(4096) == b"READY=1\nSTATUS=serving 1 route(s)"
        assert http_get(base + "/readyz") == (200, "ready\n")
        assert http_get(base + "/healthz") == (200, "ok\n")

        s.proc.send_signal(signal.SIGHUP)
        msg = notify.recv(4096).decode()
        assert re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", msg), msg
        assert notify.recv(4096) == b"READY=1\nSTATUS=serving 1 route(s)"
        assert http_get(base + "/readyz") == (200, "ready\n")

        t, out = background(workdir, s.port, name="draining")
        wait_for(lambda: "source=127.0.0.1" in s.text(), "the call did not start")
        s.proc.send_signal(signal.SIGTERM)
        assert notify.recv(4096) == b"STOPPING=1"
        # The call keeps the server draining for about 2 s: the endpoint answers meanwhile.
        assert http_get(base + "/readyz") == (503, "draining\n")
        assert http_get(base + "/healthz") == (503, "draining\n")
        assert s.proc.poll() is None
        t.join(30)
        assert out["res"].rc == 0, out["res"].out
        assert s.proc.wait(15) == 0
    finally:
        s.stop()
        notify.close()


@case
def reloads_under_refer_load_lose_no_call(workdir):
    # 400 REFER calls at 80/s (about 5 s) while the document and the configuration are
    # reloaded every 0.4 s: every call must complete (SIPp counts a failure otherwise).
    mport = e2e.free_port()
    calls, rate = 400, 80
    with Swmld(workdir, [{"swml": "doc.yaml"}],
               extra={"metrics": {"listen": f"127.0.0.1:{mport}"}, "logging": {"level": "info"},
                      "rtp": {"port_min": 42000, "port_max": 43999}},
               documents={"doc.yaml": doc("sip:a@example.com")}) as s:
        t, out = background(workdir, s.port, name="load", calls=calls, timeout=40,
                            extra=["-r", str(rate), "-rp", "1000", "-l", "200"])
        cfg = config(s)
        reloads = 0
        start = time.time()
        while t.is_alive() and time.time() - start < 40:
            time.sleep(0.4)
            if not t.is_alive():
                break
            reloads += 1
            write_doc(s, "doc.yaml", doc("sip:%s@example.com" % ("b" if reloads % 2 else "a")))
            cfg["limits"] = {"max_calls": 500 + reloads}
            write_config(s, cfg)
            rec = reload_and_wait(s, reloads)
            assert rec["result"] == "ok", rec
        t.join(60)
        res = out["res"]
        # SIPp exits 0 only when every call went through its scenario.
        assert res.rc == 0, res.out[-3000:]
        referred = {m["headers"]["call-id"][0] for m in res.requests("REFER")}
        assert len(referred) == calls, (len(referred), res.out[-3000:])
        assert reloads >= 5, reloads
        targets = {refer_to_of(r) for r in res.requests("REFER")}
        assert targets == {"sip:a@example.com", "sip:b@example.com"}, targets
        text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
        assert f'swmld_config_reloads_total{{result="ok"}} {reloads}' in text, text
        assert f"swmld_calls_total {calls}" in text, text
        print(f"  {calls} calls at {rate}/s, {reloads} reloads, 0 failed")


def refer_to_of(msg):
    return msg["headers"]["refer-to"][0].strip("<>")


if __name__ == "__main__":
    run()
