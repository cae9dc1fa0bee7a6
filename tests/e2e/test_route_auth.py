#!/usr/bin/env python3
"""routes[].auth (issue 15, toll-fraud guard): a route may require digest authentication of
the caller. SIPp computes the digest answers ([authentication]): an INVITE without
credentials gets 407 with a Proxy-Authenticate challenge, the right answer lets the call in,
wrong answers are challenged again and the third gets 403. The password never reaches the
log; the rejections are counted on /metrics."""

import re
import socket
import urllib.request

from e2e import Swmld, case, free_port, run, sipp

PASSWORD = "tr0mbone-5ecret"
GATEWAY_PASSWORD = "gw-5ecret-pw"
DOC = "version: 1.0.0\nsections:\n  main:\n    - answer\n    - hangup\n"


def server(workdir, metrics_port):
    routes = [{"swml": "doc.yaml", "name": "trunk",
               "auth": {"realm": "swmld-test",
                        "users": [{"username": "carrier", "password_env": "SWMLD_TEST_AUTH_PW"}]}}]
    return Swmld(workdir, routes, documents={"doc.yaml": DOC},
                 extra={"logging": {"level": "trace", "format": "text"},
                        "metrics": {"listen": "127.0.0.1:%d" % metrics_port},
                        "outbound": {"gateway": {"uri": "sip:127.0.0.1:5999", "username": "trunk",
                                                 "password": GATEWAY_PASSWORD},
                                     "country": "+1", "deny": ["+1900"]}},
                 env={"SWMLD_TEST_AUTH_PW": PASSWORD})


def metrics(port):
    return urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()


@case
def right_credentials_after_a_407_challenge_run_the_call(workdir):
    mport = free_port((socket.SOCK_STREAM,))
    with server(workdir, mport) as s:
        res = sipp(workdir, "uac_invite_auth.xml", s.port, extra=["-au", "carrier", "-ap", PASSWORD])
        assert res.rc == 0, res.out
        challenges = res.responses(407)
        assert len(challenges) == 1, [m["first"] for m in res.messages]
        value = challenges[0]["headers"]["proxy-authenticate"][0]
        assert value.startswith("Digest ") and 'realm="swmld-test"' in value and "nonce=" in value, value
        assert 'qop="auth"' in value, value
        assert res.responses(200), "the authenticated INVITE was not answered"
        assert res.requests("BYE"), "the document did not run to its hangup"
        text = metrics(mport)
        assert 'swmld_calls_rejected_total{reason="auth_challenge"} 1' in text, text
        assert 'reason="auth"}' not in text
        assert 'swmld_calls_total 1' in text
        assert PASSWORD not in text and GATEWAY_PASSWORD not in text
    log = s.text()
    assert PASSWORD not in log, "the password is in the log"
    # The outbound policy in force, in one start-up line, without the gateway's password.
    assert ("outbound policy: gateway sip:127.0.0.1:5999 (digest user trunk); allow numbers of "
            "+1, any SIP domain (default); deny +1900; 10 legs/call, 20 legs/s") in log, log
    assert GATEWAY_PASSWORD not in log


@case
def wrong_credentials_are_challenged_then_forbidden(workdir):
    mport = free_port((socket.SOCK_STREAM,))
    with server(workdir, mport) as s:
        res = sipp(workdir, "uac_invite_auth_wrong.xml", s.port,
                   extra=["-au", "carrier", "-ap", "not-the-password"])
        assert res.rc == 0, res.out
        assert len(res.responses(407)) == 3, [m["first"] for m in res.messages]
        assert len(res.responses(403)) == 1
        assert not res.responses(200)
        text = metrics(mport)
        assert 'swmld_calls_rejected_total{reason="auth"} 1' in text, text
        assert 'swmld_calls_rejected_total{reason="auth_challenge"} 3' in text, text
        assert not re.search(r"^swmld_calls_total [1-9]", text, re.M), text
    log = s.text()
    assert "digest authentication failed for user 'carrier' (wrong credentials, attempt 3): 403" in log, log
    assert PASSWORD not in log and "not-the-password" not in log


@case
def an_unknown_user_is_challenged_then_forbidden(workdir):
    mport = free_port((socket.SOCK_STREAM,))
    with server(workdir, mport) as s:
        # A user the route does not know is refused like a wrong password.
        res = sipp(workdir, "uac_invite_auth_wrong.xml", s.port, extra=["-au", "x", "-ap", "y"],
                   name="unknown_user")
        assert res.rc == 0, res.out
        assert len(res.responses(403)) == 1 and not res.responses(200)
    assert "digest authentication failed for user 'x'" in s.text()


if __name__ == "__main__":
    run()
