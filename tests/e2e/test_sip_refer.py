#!/usr/bin/env python3
"""sip_refer end to end: swmld answers a SIPp trunk, REFERs it, follows the NOTIFYs, and
reports the outcome in variables (revealed by a `request` to the test HTTP server), in the
status callback and in the `refer_result` log record."""

import json
import time

from e2e import HttpTestServer, Swmld, case, run, sipp

# sip_refer, then a request that reveals the variables, then hangup (the scenarios expect
# a BYE from swmld after the transfer step).
DOC = """
version: 1.0.0
sections:
  main:
    - answer
    - sip_refer:
        to_uri: "%(to_uri)s"
        status_url: "%(callback)s"
%(auth)s
    - request:
        url: "%(reveal)s"
        method: POST
        body:
          result: "${sip_refer_result}"
          return_value: "${return_value}"
          refer_code: "${sip_refer_response_code}"
          to_code: "${sip_refer_to_response_code}"
          to: "${sip_refer_to}"
    - hangup
"""


def refer_call(workdir, scenario, to_uri="sip:alice@example.com", auth="", extra=None,
               sipp_timeout=30, env=None):
    """One call through `scenario`; returns (sipp result, revealed variables, the
    refer_result record, the callback bodies, the Swmld)."""
    with HttpTestServer() as http:
        doc = DOC % {"to_uri": to_uri, "callback": http.url("/refer"), "reveal": http.url("/vars"),
                     "auth": auth}
        with Swmld(workdir, [{"swml": "doc.yaml"}], extra=extra, documents={"doc.yaml": doc},
                   env=env) as s:
            res = sipp(workdir, scenario, s.port, timeout=sipp_timeout)
            assert res.rc == 0, "sipp failed: " + res.out
            http.wait_for(1, path="/vars", timeout=10)
            variables = json.loads(http.requests("/vars")[0]["body"])
            refer = s.wait_event("refer_result")[0]
            bodies = final_callbacks(http)
        return res, variables, refer, bodies, s


def final_callbacks(http, timeout=5):
    """The callback bodies once the final state (not accepted/progress) has arrived."""
    end = time.time() + timeout
    while True:
        bodies = [json.loads(r["body"]) for r in http.requests("/refer")]
        if time.time() > end or (bodies and bodies[-1]["params"]["state"] not in ("accepted", "progress")):
            return bodies
        time.sleep(0.05)


def states(bodies):
    return [b["params"]["state"] for b in bodies]


def expect_vars(variables, result, refer_code, to_code, to="sip:alice@example.com"):
    assert variables == {"result": result, "return_value": result, "refer_code": refer_code,
                         "to_code": to_code, "to": to}, variables


@case
def transfer_success(workdir):
    res, variables, refer, bodies, _ = refer_call(workdir, "uac_refer_notify_200.xml")
    refer_msg = res.requests("REFER")[0]
    assert refer_msg["headers"]["refer-to"] == ["<sip:alice@example.com>"] or \
        refer_msg["headers"]["refer-to"] == ["sip:alice@example.com"], refer_msg["headers"]["refer-to"]
    assert "referred-by" in refer_msg["headers"], refer_msg["raw"]
    assert "sip:swml@127.0.0.1" in refer_msg["headers"]["referred-by"][0], refer_msg["headers"]
    expect_vars(variables, "success", "202", "200")
    assert refer["result"] == "success" and refer["refer_code"] == 202 and refer["sipfrags"] == [200], refer
    assert refer["to_uri"] == "sip:alice@example.com"
    assert states(bodies) == ["accepted", "success"], states(bodies)
    final = bodies[-1]
    assert final["event_type"] == "calling.call.refer"
    assert final["project_id"] == "proj-1" and final["space_id"] == "space-1"
    assert final["event_channel"] == "swml:" + final["params"]["call_id"]
    assert isinstance(final["timestamp"], float)
    p = dict(final["params"])
    del p["call_id"]
    assert p == {"node_id": "node-1", "sip_refer_to": "sip:alice@example.com", "state": "success",
                 "sip_refer_response_code": "202", "sip_notify_response_code": "200"}, p


@case
def transfer_busy_continues_the_document(workdir):
    res, variables, refer, bodies, _ = refer_call(workdir, "uac_refer_notify_486.xml")
    expect_vars(variables, "failed", "202", "486")
    assert refer["result"] == "failed" and refer["sipfrags"] == [486], refer
    assert states(bodies) == ["accepted", "failed"], states(bodies)
    assert len(res.requests("BYE")) == 1


@case
def refer_rejected_603(workdir):
    res, variables, refer, bodies, _ = refer_call(workdir, "uac_refer_reject_603.xml")
    expect_vars(variables, "failed", "603", "")
    assert refer["refer_code"] == 603 and refer["sipfrags"] == [], refer
    assert states(bodies) == ["failed"], states(bodies)
    assert "sip_notify_response_code" not in bodies[-1]["params"]


@case
def progress_notifies_with_id(workdir):
    res, variables, refer, bodies, _ = refer_call(workdir, "uac_refer_progress_id.xml")
    expect_vars(variables, "success", "202", "200")
    assert refer["sipfrags"] == [100, 200], refer
    assert states(bodies) == ["accepted", "progress", "success"], states(bodies)
    assert bodies[1]["params"]["sip_notify_response_code"] == "100"


@case
def tel_uri_target(workdir):
    res, variables, refer, _, _ = refer_call(workdir, "uac_refer_notify_200.xml",
                                             to_uri="tel:+15551234567")
    assert "tel:+15551234567" in res.requests("REFER")[0]["headers"]["refer-to"][0]
    expect_vars(variables, "success", "202", "200", to="tel:+15551234567")


@case
def challenge_407_then_success_and_no_password_in_logs(workdir):
    auth = "        username: transfer\n        password: s3cret-pw"
    res, variables, refer, bodies, s = refer_call(workdir, "uac_refer_auth_407.xml", auth=auth)
    refers = res.requests("REFER")
    assert len(refers) == 2, [m["first"] for m in res.messages]
    assert "proxy-authorization" not in refers[0]["headers"]
    pa = refers[1]["headers"]["proxy-authorization"][0]
    assert 'username="transfer"' in pa and 'realm="swml.test"' in pa, pa
    assert "s3cret-pw" not in pa
    expect_vars(variables, "success", "202", "200")
    assert "s3cret-pw" not in s.text(), "the password appears in the log"


@case
def notify_before_202(workdir):
    res, variables, refer, bodies, _ = refer_call(workdir, "uac_refer_notify_before_202.xml")
    expect_vars(variables, "success", "202", "200")
    assert refer["sipfrags"] == [200], refer


@case
def notify_with_wrong_id_gets_481(workdir):
    res, variables, refer, bodies, _ = refer_call(workdir, "uac_refer_notify_wrong_id.xml")
    assert len(res.responses(481)) == 1, [m["first"] for m in res.messages]
    expect_vars(variables, "success", "202", "200")
    assert refer["sipfrags"] == [200], refer


@case
def no_notify_times_out_after_the_configured_time(workdir):
    t0 = time.time()
    res, variables, refer, bodies, s = refer_call(workdir, "uac_refer_no_notify.xml",
                                                  extra={"refer": {"notify_timeout": 1.5}})
    expect_vars(variables, "timeout", "202", "")
    assert 1500 <= refer["duration_ms"] < 4000, refer
    assert refer["reason"] == "no final NOTIFY within 1500 ms" and refer["notifies"] == 0, refer
    assert states(bodies) == ["accepted", "timeout"], states(bodies)
    # The document went on and hung up: the call's end record and one BYE (SIPp answered it).
    assert len(res.requests("BYE")) == 1 and "ended: hangup" in s.text(), s.text()[-2000:]


@case
def caller_hangs_up_during_the_wait(workdir):
    doc = DOC % {"to_uri": "sip:alice@example.com", "callback": "%s", "reveal": "%s", "auth": ""}
    with HttpTestServer() as http:
        doc = doc % (http.url("/refer"), http.url("/vars"))
        with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
            res = sipp(workdir, "uac_bye_during_refer.xml", s.port)
            assert res.rc == 0, res.out
            refer = s.wait_event("refer_result")[0]
            assert refer["result"] == "failed" and refer["reason"] == "call ended before the final NOTIFY", refer
            bodies = final_callbacks(http)
            assert states(bodies) == ["accepted", "failed"], states(bodies)
            time.sleep(0.3)
            assert http.requests("/vars") == [], "steps after the hangup ran"
            assert not res.requests("BYE"), "swmld sent a BYE for a call the caller ended"


@case
def second_refer_after_a_failed_one(workdir):
    doc = """
version: 1.0.0
sections:
  main:
    - answer
    - sip_refer: {to_uri: "sip:first@example.com"}
    - cond:
        - when: "sip_refer_result == 'failed'"
          then:
            - sip_refer: {to_uri: "sip:second@example.com"}
    - hangup
"""
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
        res = sipp(workdir, "uac_refer_twice.xml", s.port)
        assert res.rc == 0, res.out
        results = s.wait_event("refer_result", count=2)
    refers = res.requests("REFER")
    assert [r["headers"]["refer-to"][0] for r in refers] == ["<sip:first@example.com>",
                                                            "<sip:second@example.com>"], refers
    cseqs = [int(r["headers"]["cseq"][0].split()[0]) for r in refers]
    assert cseqs[1] > cseqs[0], cseqs
    assert [(r["result"], r["sipfrags"]) for r in results] == [("failed", [486]), ("success", [200])]


@case
def callbacks_are_signed_and_retried(workdir):
    """With a signing secret (here from the environment), every callback carries HMAC
    signatures over URL + body; a callback server failing twice still gets every state."""
    import hashlib
    import hmac
    secret = "k3y-for-callbacks"
    with HttpTestServer() as http:
        http.script("/refer", [{"status": 503}, {"status": 503}, {"status": 200}])
        doc = DOC % {"to_uri": "sip:alice@example.com", "callback": http.url("/refer"),
                     "reveal": http.url("/vars"), "auth": ""}
        with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc},
                   env={"SWMLD_HTTP_SIGNING_SECRET": secret}) as s:
            res = sipp(workdir, "uac_refer_notify_200.xml", s.port)
            assert res.rc == 0, res.out
            http.wait_for(4, path="/refer", timeout=15)
            reqs = http.requests("/refer")
            assert secret not in s.text()
    bodies = [json.loads(r["body"]) for r in reqs]
    assert states(bodies) == ["accepted", "accepted", "accepted", "success"], states(bodies)
    for r in reqs:
        signed = (http.url("/refer") + r["body"]).encode()
        want = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        assert r["headers"]["x-signalwire-sha256-signature"] == want, r["headers"]
        want1 = hmac.new(secret.encode(), signed, hashlib.sha1).hexdigest()
        assert r["headers"]["x-signalwire-signature"] == want1
        assert r["headers"]["content-type"] == "application/json"


if __name__ == "__main__":
    run()
