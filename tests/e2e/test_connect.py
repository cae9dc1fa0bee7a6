#!/usr/bin/env python3
"""connect end to end: SIPp calls swmld, swmld dials SIPp callees (tests/e2e/sipp/uas_connect_*)
and bridges the caller to the one that answers. Asserts the SIP messages on both sides, the
variables (through what the document does next), the calling.call.connect callbacks and the
connect_result log record."""

import json

from e2e import HttpTestServer, SippUas, Swmld, case, run, sipp
from rtp_peer import RtpPeer


def connect_doc(connect_yaml, after="    - hangup: {}\n"):
    return ("version: 1.0.0\nsections:\n  main:\n    - answer: {}\n    - connect:\n" +
            connect_yaml + "    - set: {after: \"${connect_result}/${connect_failed_reason}\"}\n" +
            after)


def callback_states(srv):
    return [json.loads(r["body"])["params"]["connect_state"] for r in srv.requests("/connect")]


@case
def serial_first_busy_then_second_answers_and_hangs_up(workdir):
    with HttpTestServer() as srv, RtpPeer() as callee_rtp:
        busy = SippUas(workdir, "uas_connect_busy.xml", name="busy")
        agent = SippUas(workdir, "uas_connect_answer.xml", name="agent",
                        extra=["-key", "rtp_port", str(callee_rtp.port)])
        try:
            doc = connect_doc(
                f"        serial: [{{to: \"{busy.uri}\"}}, {{to: \"{agent.uri}\", "
                f"headers: [{{name: X-Queue, value: sales}}]}}]\n"
                f"        status_url: \"{srv.url('/connect')}\"\n",
                after="    - play: \"silence:0.2\"\n    - hangup: {}\n")
            with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                       documents={"doc.yaml": doc}) as d:
                caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=20)
                assert caller.rc == 0, caller.out
                rec = d.wait_event("connect_result")[0]
            b, a = busy.result(), agent.result()
            assert b.rc == 0, b.out  # INVITE -> 486 -> ACK
            assert a.rc == 0, a.out  # INVITE -> 180 -> 200 -> ACK -> BYE -> 200
            invite = a.requests("INVITE")[0]
            assert invite["headers"]["x-queue"] == ["sales"], invite["raw"]
            assert "m=audio" in invite["body"], invite["body"]  # our offer
            assert rec["result"] == "connected", rec
            assert [x["result"] for x in rec["destinations"]] == ["busy", "connected"], rec
            assert rec["destinations"][0]["sip_code"] == 486, rec
            srv.wait_for(3, path="/connect", timeout=5)
            assert callback_states(srv) == ["connecting", "connected", "disconnected"], \
                callback_states(srv)
        finally:
            busy.stop()
            agent.stop()


@case
def parallel_first_answer_wins_and_the_other_sees_cancel(workdir):
    with RtpPeer() as callee_rtp:
        ringer = SippUas(workdir, "uas_connect_ring_cancel.xml", name="ringer")
        agent = SippUas(workdir, "uas_connect_answer.xml", name="agent",
                        extra=["-key", "rtp_port", str(callee_rtp.port)])
        try:
            doc = connect_doc(f"        parallel: [{{to: \"{ringer.uri}\"}}, {{to: \"{agent.uri}\"}}]\n")
            with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                       documents={"doc.yaml": doc}) as d:
                caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=20)
                assert caller.rc == 0, caller.out
                rec = d.wait_event("connect_result")[0]
            r, a = ringer.result(), agent.result()
            assert r.rc == 0, r.out  # INVITE -> 180 -> CANCEL -> 200, 487 -> ACK
            assert len(r.requests("CANCEL")) == 1, r.out
            assert a.rc == 0, a.out
            assert sorted(x["result"] for x in rec["destinations"]) == ["connected", "lost"], rec
        finally:
            ringer.stop()
            agent.stop()


@case
def no_answer_within_timeout_cancels_and_the_document_goes_on(workdir):
    ringer = SippUas(workdir, "uas_connect_ring_cancel.xml", name="ringer")
    try:
        doc = connect_doc(f"        to: \"{ringer.uri}\"\n        timeout: 1\n",
                          after="    - cond:\n        - when: \"after == 'failed/no_answer'\"\n"
                                "          then: [hangup]\n        - else: [{sleep: 20000}]\n")
        with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                   documents={"doc.yaml": doc}) as d:
            caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=15)
            assert caller.rc == 0, caller.out
            rec = d.wait_event("connect_result")[0]
        r = ringer.result()
        assert r.rc == 0, r.out
        assert rec["result"] == "failed" and rec["reason"] == "no_answer", rec
    finally:
        ringer.stop()


if __name__ == "__main__":
    run()
