#!/usr/bin/env python3
"""Calls end to end: SDP answer, call variables, CANCEL, hangup codes, runtime errors,
admission (allowlist, max calls, no route), OPTIONS, re-INVITE, JSON logs, SIGTERM drain,
and start-up errors."""

import json
import os
import re
import subprocess
import threading
import time

import e2e
from e2e import HttpTestServer, Swmld, case, run, sipp

WAIT_THEN_HANGUP = """
version: 1.0.0
sections:
  main:
    - answer
    - sleep: %d
    - hangup
"""


@case
def sdp_answer_and_call_variables(workdir):
    with HttpTestServer() as http:
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - request:
        url: "%s"
        method: POST
        body: {from: "${call.from}", to: "${call.to}", user: "${call.sip_data.sip_req_user}",
               type: "${call.type}", direction: "${call.direction}", headers: "${call.headers}",
               route_param: "${params.team}", env: "${envs.company}"}
    - hangup
""" % http.url("/vars")
        with Swmld(workdir, [{"swml": "doc.yaml", "params": {"team": "sales"}}],
                   extra={"envs": {"company": "ACME"}}, documents={"doc.yaml": doc}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port, service="4000")
            assert res.rc == 0, res.out
            http.wait_for(1, path="/vars")
            v = json.loads(http.requests("/vars")[0]["body"])
    assert v["user"] == "4000" and v["type"] == "sip" and v["direction"] == "inbound", v
    assert v["from"].startswith("sip:sipp@127.0.0.1") and v["to"].startswith("sip:4000@127.0.0.1"), v
    assert {"name": "X-Account", "value": "acme-42"} in v["headers"], v["headers"]
    assert v["route_param"] == "sales" and v["env"] == "ACME", v
    ok = res.responses(200)[0]
    assert ok["headers"]["content-type"] == ["application/sdp"], ok["headers"]
    sdp = ok["body"].split("\n")
    m = [l for l in sdp if l.startswith("m=audio ")][0].split()
    port = int(m[1])
    assert 40000 <= port <= 40999 and port % 2 == 0, m
    assert m[2] == "RTP/AVP" and m[3] in ("0", "8") and m[4:] == ["101"], m
    assert "c=IN IP4 127.0.0.1" in sdp, sdp
    assert "a=rtpmap:101 telephone-event/8000" in sdp, sdp
    assert len(res.responses(180)) == 1


@case
def cancel_before_answer(workdir):
    doc = "version: 1.0.0\nsections:\n  main:\n    - sleep: 3000\n    - answer\n    - hangup\n"
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
        res = sipp(workdir, "uac_cancel_before_answer.xml", s.port)
        assert res.rc == 0, res.out
        assert len(res.responses(487)) == 1
        deadline = time.time() + 5
        while "ended: remote_hangup" not in s.text() and time.time() < deadline:
            time.sleep(0.05)
        assert "ended: remote_hangup" in s.text(), s.text()[-2000:]


@case
def hangup_busy_before_answer_is_486(workdir):
    doc = "- hangup: {reason: busy}\n"
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
        res = sipp(workdir, "uac_invite_486.xml", s.port)
        assert res.rc == 0, res.out


@case
def runtime_error_before_answer_is_500(workdir):
    # A failing ${} is a warning (the document goes on); a transfer to a section that does
    # not exist ends the call: 500 before answer.
    doc = "- set: {x: \"${nosuch()}\", t: nowhere}\n- transfer: {dest: \"${t}\"}\n- answer\n"
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
        res = sipp(workdir, "uac_invite_500.xml", s.port)
        assert res.rc == 0, res.out
        time.sleep(0.2)
        warnings = [r for r in s.records() if r.get("level") == "warning"]
        assert any("relay_script_js_eval_error" in r["msg"] and "doc.yaml:1:" in r["msg"]
                   for r in warnings), warnings
        errors = [r for r in s.records() if r.get("level") == "error"]
        assert any("relay_script_section_parameter_undefined" in r["msg"] and "doc.yaml:2:" in r["msg"]
                   for r in errors), errors


@case
def end_of_document_before_answer_is_480(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": "- set: {a: 1}\n"}) as s:
        res = sipp(workdir, "uac_invite_480.xml", s.port)
        assert res.rc == 0, res.out


@case
def no_route_is_404(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml", "match": {"user": "only-this"}}],
               documents={"doc.yaml": "- hangup\n"}) as s:
        res = sipp(workdir, "uac_invite_404.xml", s.port, service="other")
        assert res.rc == 0, res.out


@case
def routes_match_user_regex_to_user_and_source(workdir):
    busy = "- hangup: {reason: busy}\n"
    routes = [
        {"name": "other-net", "match": {"source": ["10.0.0.0/8"]}, "swml": "busy.yaml"},
        {"name": "sales", "match": {"user_regex": "^5[0-9]{2}$", "source": ["127.0.0.0/8"]},
         "swml": "answer.yaml"},
        {"name": "busy", "match": {"to_user": "busy"}, "swml": "busy.yaml"},
    ]
    with Swmld(workdir, routes, documents={"busy.yaml": busy, "answer.yaml": WAIT_THEN_HANGUP % 10}) as s:
        assert sipp(workdir, "uac_wait_bye.xml", s.port, service="501").rc == 0
        assert sipp(workdir, "uac_invite_486.xml", s.port, service="busy").rc == 0
        assert sipp(workdir, "uac_invite_404.xml", s.port, service="5012").rc == 0
        assert "route=sales" in s.text() and "route=busy" in s.text()


@case
def source_not_allowed_is_403(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], extra={"limits": {"allow_sources": ["10.0.0.0/8"]}},
               documents={"doc.yaml": "- hangup\n"}) as s:
        res = sipp(workdir, "uac_invite_403.xml", s.port)
        assert res.rc == 0, res.out


def background_call(workdir, port, scenario="uac_wait_bye.xml", name="bg"):
    out = {}
    t = threading.Thread(target=lambda: out.update(res=sipp(workdir, scenario, port, name=name)))
    t.start()
    return t, out


def wait_active(s, n, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if s.text().count("source=127.0.0.1") >= n:
            return
        time.sleep(0.02)
    raise AssertionError("call did not start")


@case
def max_calls_is_503_with_retry_after(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], extra={"limits": {"max_calls": 1}},
               documents={"doc.yaml": WAIT_THEN_HANGUP % 1500}) as s:
        t, out = background_call(workdir, s.port)
        wait_active(s, 1)
        res = sipp(workdir, "uac_invite_503.xml", s.port)
        t.join(30)
        assert res.rc == 0, res.out
        assert res.responses(503)[0]["headers"]["retry-after"] == ["5"], res.responses(503)
        assert out["res"].rc == 0, out["res"].out


@case
def sigterm_drains_calls_then_exits_0(workdir):
    s = Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": WAIT_THEN_HANGUP % 1500})
    s.start()
    try:
        t, out = background_call(workdir, s.port)
        wait_active(s, 1)
        s.proc.send_signal(15)
        time.sleep(0.2)
        res = sipp(workdir, "uac_drain_503.xml", s.port, calls=1)
        assert res.rc == 0, res.out
        t.join(30)
        assert out["res"].rc == 0, "the running call did not finish normally: " + out["res"].out
        assert s.proc.wait(10) == 0
    finally:
        s.stop()


@case
def drain_timeout_ends_the_calls_left_then_exits_0(workdir):
    # A call still running when shutdown.drain_timeout expires is ended with a BYE (on the
    # SIP thread in engine.mode sip_thread, by the engine threads otherwise) and swmld exits 0.
    s = Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": WAIT_THEN_HANGUP % 60000},
              extra={"shutdown": {"drain_timeout": 1}})
    s.start()
    try:
        t, out = background_call(workdir, s.port)
        wait_active(s, 1)
        started = time.time()
        s.proc.send_signal(15)
        assert s.proc.wait(15) == 0
        elapsed = time.time() - started
        t.join(30)
        assert out["res"].rc == 0, "the caller did not get a BYE: " + out["res"].out
        assert 1 <= elapsed < 10, elapsed
        text = s.text()
        assert "drain timeout: ending 1 call(s)" in text, text[-2000:]
        assert "ended: remote_hangup" in text, text[-2000:]
        assert "swmld stopped" in text, text[-2000:]
    finally:
        s.stop()


@case
def options_ping(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": "- hangup\n"}) as s:
        res = sipp(workdir, "uac_options_ping.xml", s.port)
        assert res.rc == 0, res.out
        allow = res.responses(200)[0]["headers"]["allow"][0]
        for method in ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "NOTIFY", "INFO"):
            assert method in allow, allow
        # We send REFERs; we take none (an incoming one gets 405, see test_hostile_input).
        assert "REFER" not in allow, allow
        # Each body type we take, once (Sofia appends application/sdp itself).
        accept = res.responses(200)[0]["headers"]["accept"]
        assert len(accept) == 1, accept
        types = sorted(t.strip() for t in accept[0].split(","))
        assert types == ["application/dtmf-relay", "application/sdp", "message/sipfrag"], accept


@case
def reinvite_then_refer(workdir):
    doc = """
version: 1.0.0
sections:
  main:
    - answer
    - sleep: 800
    - sip_refer: {to_uri: "sip:alice@example.com"}
    - hangup
"""
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
        res = sipp(workdir, "uac_reinvite.xml", s.port)
        assert res.rc == 0, res.out
        assert s.wait_event("refer_result")[0]["result"] == "success"


@case
def unknown_in_dialog_request_gets_405_and_the_call_goes_on(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": WAIT_THEN_HANGUP % 800}) as s:
        res = sipp(workdir, "uac_unknown_in_dialog.xml", s.port)
        assert res.rc == 0, res.out
        allow = res.responses(405)[0]["headers"]["allow"][0]
        assert "NOTIFY" in allow and "MESSAGE" not in allow and "REFER" not in allow, allow
        assert len(res.requests("BYE")) == 1


@case
def json_logs_are_one_object_per_line(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": WAIT_THEN_HANGUP % 10}) as s:
        res = sipp(workdir, "uac_wait_bye.xml", s.port)
        assert res.rc == 0, res.out
    lines = [l for l in s.text().splitlines() if l.strip()]
    assert len(lines) > 5
    for line in lines:
        rec = json.loads(line)
        assert {"ts", "level"} <= set(rec), rec


@case
def invalid_route_document_stops_start_up(workdir):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write("version: 1.0.0\nsections:\n  main:\n    - answer\n    - plya: {url: 'say:x'}\n")
    cfg = os.path.join(workdir, "c.yaml")
    with open(cfg, "w") as f:
        f.write("sip: {listen: ['udp:127.0.0.1:%d']}\nroutes:\n  - swml: %s\n" % (e2e.free_port(), path))
    p = subprocess.run([e2e.SWMLD, "serve", "--config", cfg], capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert re.search(r"bad\.yaml:5:7: relay_script_method_undefined: unknown method 'plya'", p.stderr), p.stderr


@case
def unknown_config_key_names_the_key(workdir):
    cfg = os.path.join(workdir, "c.yaml")
    with open(cfg, "w") as f:
        f.write("sip:\n  listen: ['udp:127.0.0.1:5999']\n  lisen: x\nroutes: [{swml: a.yaml}]\n")
    p = subprocess.run([e2e.SWMLD, "serve", "--config", cfg], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "config key 'sip.lisen': unknown key" in p.stderr, p.stderr
    assert "c.yaml:3:3" in p.stderr, p.stderr


@case
def metrics_and_healthz(workdir):
    import urllib.request
    mport = e2e.free_port()
    doc = "version: 1.0.0\nsections:\n  main:\n    - answer\n    - sip_refer: {to_uri: 'sip:alice@example.com'}\n    - hangup\n"
    with Swmld(workdir, [{"swml": "doc.yaml"}], extra={"metrics": {"listen": f"127.0.0.1:{mport}"}},
               documents={"doc.yaml": doc}) as s:
        res = sipp(workdir, "uac_refer_notify_200.xml", s.port)
        assert res.rc == 0, res.out
        s.wait_event("refer_result")
        time.sleep(0.2)
        base = f"http://127.0.0.1:{mport}"
        text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        health = urllib.request.urlopen(base + "/healthz", timeout=5)
        assert health.status == 200 and health.read() == b"ok\n"
    lines = set(text.splitlines())
    for want in ("swmld_calls_total 1", 'swmld_refer_results_total{result="success"} 1',
                 'swmld_steps_total{method="sip_refer",outcome="ok"} 1',
                 'swmld_calls_ended_total{reason="hangup"} 1', "swmld_calls_active 0",
                 "swmld_log_lines_dropped_total 0", "# TYPE swmld_log_lines_dropped_total counter",
                 "# TYPE swmld_calls_active gauge"):
        assert want in lines, (want, text)


if __name__ == "__main__":
    run()
