#!/usr/bin/env python3
"""connect end to end: SIPp calls swmld, swmld dials SIPp callees (tests/e2e/sipp/uas_connect_*)
and bridges the caller to the one that answers. Asserts the SIP messages on both sides, the
variables (through what the document does next), the calling.call.connect callbacks and the
connect_result log record."""

import datetime
import hashlib
import json
import re
import time

from e2e import (HttpTestServer, SippUas, Swmld, case, free_port, free_rtp_range, metric,
                 run, sipp)
from rtp_peer import RtpPeer


def connect_doc(connect_yaml, after="    - hangup: {}\n"):
    return ("version: 1.0.0\nsections:\n  main:\n    - answer: {}\n    - connect:\n" +
            connect_yaml + "    - set: {after: \"${connect_result}/${connect_failed_reason}\"}\n" +
            after)


def own_rtp(extra=None):
    """The test's configuration with its own RTP ports: other runs on this machine use the
    default 40000-40999 too, and a leg that finds 8 ports taken fails (`error`)."""
    return dict(extra or {}, rtp=free_rtp_range(20))


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
                       documents={"doc.yaml": doc}, extra=own_rtp()) as d:
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
                       documents={"doc.yaml": doc}, extra=own_rtp()) as d:
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
                   documents={"doc.yaml": doc}, extra=own_rtp()) as d:
            caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=15)
            assert caller.rc == 0, caller.out
            rec = d.wait_event("connect_result")[0]
        r = ringer.result()
        assert r.rc == 0, r.out
        assert rec["result"] == "failed" and rec["reason"] == "no_answer", rec
    finally:
        ringer.stop()


def trace_times(path):
    """SIPp's -trace_msg file -> [(datetime, 'sent'|'received', first line)] in file order."""
    out = []
    text = open(path, errors="replace").read()
    for m in re.finditer(r"^-{10,} (\d{4}-\d\d-\d\d[ \t]+\d\d:\d\d:\d\d\.\d+)\s*\n"
                         r".*?message (sent|received) (?:\[\d+\] bytes|\(\d+ bytes\))\s*:\s*\n\n?([^\n]*)",
                         text, flags=re.M):
        stamp = datetime.datetime.strptime(" ".join(m.group(1).split()), "%Y-%m-%d %H:%M:%S.%f")
        out.append((stamp, m.group(2), m.group(3).strip()))
    return out


def first_time(times, direction, prefix):
    hits = [t for t, d, first in times if d == direction and first.startswith(prefix)]
    assert hits, f"no {direction} '{prefix}' in {times}"
    return hits[0]


@case
def answer_on_bridge_answers_the_caller_only_after_the_callee(workdir):
    with RtpPeer() as callee_rtp:
        agent = SippUas(workdir, "uas_connect_answer.xml", name="agent",
                        extra=["-key", "rtp_port", str(callee_rtp.port)])
        try:
            doc = ("version: 1.0.0\nsections:\n  main:\n    - connect:\n"
                   f"        to: \"{agent.uri}\"\n        answer_on_bridge: true\n"
                   "    - hangup: {}\n")
            with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                       documents={"doc.yaml": doc}, extra=own_rtp()) as d:
                caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=20, name="caller")
                assert caller.rc == 0, caller.out
                rec = d.wait_event("connect_result")[0]
            a = agent.result()
            assert a.rc == 0, a.out
            assert rec["result"] == "connected", rec
        finally:
            agent.stop()
    # The caller's phone rang by itself (180, no ringback: no 183) and got its 200 only
    # after the callee's 200 (both SIPp traces use this machine's clock).
    assert caller.responses(180) and not caller.responses(183), caller.out
    ct = trace_times(f"{workdir}/caller_messages.log")
    at = trace_times(f"{workdir}/agent_messages.log")
    callee_200 = first_time(at, "sent", "SIP/2.0 200")
    caller_180 = first_time(ct, "received", "SIP/2.0 180")
    caller_200 = first_time(ct, "received", "SIP/2.0 200")
    callee_invite = first_time(at, "received", "INVITE ")
    assert caller_180 < callee_200 < caller_200, (caller_180, callee_200, caller_200)
    assert callee_invite < caller_200, (callee_invite, caller_200)
    # The callee rang 0.3 s before answering: the caller waited at least that long.
    assert (caller_200 - caller_180).total_seconds() >= 0.25, (caller_180, caller_200)


def wait_metrics_zero(port, names, timeout=5):
    deadline = time.time() + timeout
    while True:
        values = {n: metric(port, n) for n in names}
        if all(v == 0 for v in values.values()):
            return
        assert time.time() < deadline, values
        time.sleep(0.1)


@case
def caller_hangs_up_while_ringing_every_leg_is_cancelled_nothing_left(workdir):
    mport = free_port()
    ringers = [SippUas(workdir, "uas_connect_ring_cancel.xml", name=f"ringer{i}") for i in (1, 2)]
    try:
        doc = ("version: 1.0.0\nsections:\n  main:\n    - connect:\n"
               f"        parallel: [{{to: \"{ringers[0].uri}\"}}, {{to: \"{ringers[1].uri}\"}}]\n"
               "        answer_on_bridge: true\n    - hangup: {}\n")
        with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}], documents={"doc.yaml": doc},
                   extra=own_rtp({"metrics": {"listen": f"127.0.0.1:{mport}"}})) as d:
            caller = sipp(workdir, "uac_cancel_after_1s.xml", d.port, timeout=15)
            assert caller.rc == 0, caller.out  # INVITE -> 180 -> (1 s) CANCEL -> 200, 487 -> ACK
            rec = d.wait_event("connect_result")[0]
            results = [r.result() for r in ringers]
            for r in results:
                assert r.rc == 0, r.out  # INVITE -> 180 -> CANCEL -> 200, 487 -> ACK
                assert len(r.requests("CANCEL")) == 1 and len(r.requests("INVITE")) == 1, r.out
            wait_metrics_zero(mport, ["swmld_calls_active", "swmld_sip_dialogs_active",
                                      "swmld_rtp_streams_active"])
        assert rec["result"] == "failed" and rec["reason"] == "cancel", rec
    finally:
        for r in ringers:
            r.stop()


@case
def digest_auth_407_on_the_outbound_invite(workdir):
    with RtpPeer() as callee_rtp:
        agent = SippUas(workdir, "uas_connect_auth_407.xml", name="agent",
                        extra=["-key", "rtp_port", str(callee_rtp.port)])
        try:
            doc = connect_doc(f"        to: \"{agent.uri}\"\n        username: alice\n"
                              "        password: s3cret\n")
            with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                       documents={"doc.yaml": doc}, extra=own_rtp()) as d:
                caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=20)
                assert caller.rc == 0, caller.out
                rec = d.wait_event("connect_result")[0]
                log = d.text()
            a = agent.result()
            # 407 -> ACK -> INVITE whose Proxy-Authorization SIPp's verifyauth accepted -> 200
            assert a.rc == 0, a.out
            invites = a.requests("INVITE")
            assert len(invites) == 2, a.out
            assert "proxy-authorization" not in invites[0]["headers"], invites[0]["raw"]
            auth = invites[1]["headers"]["proxy-authorization"][0]
            assert auth.startswith("Digest "), auth
            f = dict((k, v.strip('"')) for k, v in
                     re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', auth[len("Digest "):]))
            assert f["username"] == "alice" and f["realm"] == "sipp.test", auth
            assert f["nonce"] == "4f3d2a1b0c" and f["qop"] == "auth", auth
            assert f["uri"] == agent.uri, auth
            # RFC 2617 with qop=auth: what SIPp's verifyauth would check for Authorization:.
            md5 = lambda x: hashlib.md5(x.encode()).hexdigest()  # noqa: E731
            ha1, ha2 = md5("alice:sipp.test:s3cret"), md5("INVITE:" + f["uri"])
            expect = md5(f"{ha1}:{f['nonce']}:{f['nc']}:{f['cnonce']}:auth:{ha2}")
            assert f["response"] == expect, (auth, expect)
            assert rec["result"] == "connected", rec
            assert "s3cret" not in log
        finally:
            agent.stop()


@case
def gateway_dials_numbers_and_premium_numbers_are_denied_without_invite(workdir):
    with RtpPeer() as callee_rtp:
        gw = SippUas(workdir, "uas_connect_answer.xml", name="gateway", timeout=15,
                     extra=["-key", "rtp_port", str(callee_rtp.port)])
        try:
            doc = ("version: 1.0.0\nsections:\n  main:\n    - answer: {}\n"
                   "    - connect: {to: \"+19005550100\"}\n"
                   "    - cond:\n"
                   "        - when: \"connect_result == 'failed' && connect_failed_reason == 'denied'\"\n"
                   "          then:\n"
                   "            - connect: {to: \"+15551230000\"}\n"
                   "            - hangup: {}\n"
                   "        - else: [{sleep: 20000}]\n")
            with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}], documents={"doc.yaml": doc},
                       extra=own_rtp({"outbound": {"gateway": {"uri": f"sip:127.0.0.1:{gw.port}"},
                                                   "country": "+1"}})) as d:
                caller = sipp(workdir, "uac_wait_bye.xml", d.port, timeout=20)
                assert caller.rc == 0, caller.out
                recs = d.wait_event("connect_result", count=2)
            g = gw.result()
            assert g.rc == 0, g.out
            invites = g.requests("INVITE")
            assert len(invites) == 1, g.out  # nothing for the +1900 number
            assert invites[0]["first"] == f"INVITE sip:+15551230000@127.0.0.1:{gw.port} SIP/2.0", \
                invites[0]["first"]
            assert recs[0]["result"] == "failed" and recs[0]["reason"] == "denied", recs[0]
            assert [x["result"] for x in recs[0]["destinations"]] == ["denied"], recs[0]
            assert recs[1]["result"] == "connected", recs[1]
        finally:
            gw.stop()


@case
def sip_refer_of_the_caller_after_the_callee_hung_up(workdir):
    with RtpPeer() as callee_rtp:
        agent = SippUas(workdir, "uas_connect_answer.xml", name="agent",
                        extra=["-key", "rtp_port", str(callee_rtp.port)])
        try:
            doc = connect_doc(f"        to: \"{agent.uri}\"\n",
                              after="    - sip_refer: {to_uri: \"sip:transfer@example.com\"}\n"
                                    "    - hangup: {}\n")
            with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                       documents={"doc.yaml": doc}, extra=own_rtp()) as d:
                # INVITE -> 200 -> ACK; REFER -> 202; NOTIFY(200) -> 200; BYE -> 200
                caller = sipp(workdir, "uac_refer_notify_200.xml", d.port, timeout=20)
                assert caller.rc == 0, caller.out
                rec = d.wait_event("connect_result")[0]
                refer = d.wait_event("refer_result")[0]
            a = agent.result()
            assert a.rc == 0, a.out  # the callee hung up the bridge
            assert rec["result"] == "connected", rec
            refers = caller.requests("REFER")
            assert len(refers) == 1, caller.out
            assert refers[0]["headers"]["refer-to"][0].strip("<>") == "sip:transfer@example.com", \
                refers[0]["raw"]
            assert refer["result"] == "success", refer
        finally:
            agent.stop()


if __name__ == "__main__":
    run()
