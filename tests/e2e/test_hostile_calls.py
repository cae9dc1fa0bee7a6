#!/usr/bin/env python3
"""One hostile call must not hurt the others (issue #12 item 3): while documents that burn
their JavaScript budget in a `goto` loop run one after another, ordinary REFER calls at
50/s keep a fast INVITE->REFER and none fails; each hostile call ends with 500 and an error
naming limits.expression_time_per_call. The interpreter runs on the SIP thread (engine.mode sip_thread, the default)."""

import os
import re
import threading
import time

from e2e import HttpTestServer, Swmld, case, run, sipp

HERE = os.path.dirname(os.path.abspath(__file__))
# The load scenario of bench/refer_load: INVITE -> 200 -> ACK -> REFER (rtd "refer") -> 202 ->
# NOTIFY 200 -> BYE.
REFER_LOAD = os.path.join(HERE, "..", "..", "bench", "refer_load", "refer_load.xml")

PLAIN = """version: 1.0.0
sections:
  main:
    - answer: {}
    - sip_refer: {to_uri: "sip:target@127.0.0.1:5999"}
    - hangup: {}
"""

# Each evaluation computes for 120 ms (inside the 150 ms per-evaluation limit), 100 times.
HOSTILE = """version: 1.0.0
sections:
  main:
    - label: loop
    - set:
        x: "${(function(){ var t = Date.now(); while (Date.now() - t < 120) {} return t; })()}"
    - goto: {label: loop, max: 100}
"""


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def refer_rtts(workdir):
    out = []
    for f in os.listdir(workdir):
        if f.endswith("_rtt.csv"):
            for line in open(os.path.join(workdir, f), errors="replace"):
                parts = line.strip().split(";")
                if len(parts) >= 3 and parts[2] == "refer":
                    try:
                        out.append(float(parts[1]))
                    except ValueError:
                        pass
    return out


@case
def ordinary_calls_stay_fast_while_hostile_calls_burn_their_budget(workdir):
    routes = [{"name": "hostile", "match": {"user": "hostile"}, "swml": "hostile.yaml"},
              {"name": "plain", "swml": "plain.yaml"}]
    calls, rate = 500, 50
    with Swmld(workdir, routes, documents={"hostile.yaml": HOSTILE, "plain.yaml": PLAIN},
               extra={"logging": {"level": "info"}}) as s:
        hostile = {}

        def hostile_calls():
            # One at a time, back to back: about 1 s each (the budget), for most of the load.
            hostile["r"] = sipp(workdir, "uac_invite_500.xml", s.port, service="hostile",
                                calls=6, timeout=40, extra=["-l", "1", "-r", "10"])

        t = threading.Thread(target=hostile_calls)
        t.start()
        load = sipp(workdir, REFER_LOAD, s.port, service="refer", calls=calls, timeout=50,
                    name="load", extra=["-r", str(rate), "-l", "200", "-trace_rtt",
                                        "-rtt_freq", "1"])
        t.join(60)
        assert not t.is_alive(), "the hostile calls did not finish"
        h = hostile["r"]
    assert load.rc == 0, load.out[-2000:]
    assert h.rc == 0, h.out[-2000:]
    # Each hostile call ended with 500 (retransmitted until SIPp's ACK: count calls).
    ended = {m["headers"]["call-id"][0] for m in h.responses(500)}
    assert len(ended) == 6, [m["first"] for m in h.messages if m["dir"] == "received"]
    rtts = refer_rtts(workdir)
    assert len(rtts) == calls, len(rtts)
    p99 = percentile(rtts, 99)
    # Without the isolation the hostile calls' expressions would hold the SIP thread about
    # 1 s each; ASan makes every call slower (104 ms seen once in CI), not that much slower.
    bound = 250 if os.environ.get("SWMLD_SANITIZED") else 100
    assert p99 < bound, f"INVITE->REFER p99 {p99} ms (max {max(rtts)} ms)"
    text = s.text()
    assert "expression time budget of 1000 ms per call used up (limits.expression_time_per_call)" \
        in text, text[-3000:]
    assert "runs on the expression worker" in text
    print(f"  {calls} calls at {rate}/s beside 6 hostile calls: INVITE->REFER p99 {p99:.1f} ms, "
          f"max {max(rtts):.1f} ms, 0 failed")


@case
def sigterm_while_a_hostile_call_evaluates_on_the_worker_stops_cleanly(workdir):
    routes = [{"name": "hostile", "swml": "hostile.yaml"}]
    s = Swmld(workdir, routes, documents={"hostile.yaml": HOSTILE},
              extra={"logging": {"level": "info"}, "shutdown": {"drain_timeout": 0}})
    s.start()
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=sipp(workdir, "uac_invite_500.xml", s.port, service="hostile", calls=1, timeout=20)))
    t.start()
    try:
        deadline = time.time() + 10
        while "runs on the expression worker" not in s.text():
            assert time.time() < deadline, "the hostile call never moved to the worker"
            time.sleep(0.02)
        time.sleep(0.05)  # a 120 ms evaluation is running on swmld-expr
    finally:
        s.stop()  # asserts exit code 0 within 15 s
    t.join(30)
    assert s.exit_code == 0


@case
def request_responses_that_are_huge_or_never_end_fail_the_request_not_the_node(workdir):
    # A 2 MiB body (over the HTTP client's 1 MiB) is cut off; a response that never comes
    # ends at the request's timeout (1 s). The document goes on after each: request_result
    # "failed", and the call runs off its end (480).
    with HttpTestServer() as http:
        http.script("/huge", [{"body": "x" * (2 << 20)}])
        http.script("/never", [{"delay_ms": 20000}])
        doc = ("version: 1.0.0\nsections:\n  main:\n"
               f"    - request: {{url: '{http.url('/huge')}', method: GET}}\n"
               "    - set: {huge: '${request_result}'}\n"
               f"    - request: {{url: '{http.url('/never')}', method: GET, timeout: 1}}\n"
               "    - set: {never: '${request_result}'}\n"
               "    - cond:\n        - when: \"vars.huge == 'failed' && vars.never == 'failed'\"\n"
               "          then: [{hangup: {reason: busy}}]\n")
        with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
            t0 = time.time()
            res = sipp(workdir, "uac_invite_486.xml", s.port)
            took = time.time() - t0
    assert res.rc == 0, res.out[-2000:]
    assert took < 8, took
    text = s.text()
    assert f"request GET {http.url('/huge')}: response body larger than 1048576 bytes" in text, \
        text[-3000:]
    assert re.search(r"request GET %s: .*[Tt]imed? ?out" % re.escape(http.url("/never")), text), \
        text[-3000:]


if __name__ == "__main__":
    run()
