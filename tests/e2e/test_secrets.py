#!/usr/bin/env python3
"""Secrets stay secret (issue #12, "Secrets"): a sip_refer digest password, the callback
signing secret and credentials in URLs (a URL route, a `request`, a status_url, an
`execute`) never appear in swmld's log at trace level, on its metrics page, in what the SIP
peer receives, or in what any HTTP server receives beyond that server's own credentials;
nor in `swmld simulate`'s output."""

import base64
import json
import os
import subprocess
import urllib.request

import socket

import e2e
from e2e import HttpTestServer, Swmld, case, free_port, run, sipp

SECRETS = {
    "refer": "refer-pw-5ecret",
    "signing": "sign-5ecret-key",
    "doc": "doc-5ecret",
    "api": "api-5ecret",
    "cb": "cb-5ecret",
    "ex": "ex-5ecret",
}

DOC = """
version: 1.0.0
sections:
  main:
    - answer
    - request: {url: "%(api)s", method: GET, save_variables: true}
    - sip_refer:
        to_uri: "sip:alice@example.com"
        username: transfer
        password: "%(password)s"
        status_url: "%(cb)s"
    - execute: {dest: "%(ex)s", params: {why: "after ${request_url}"}}
    - hangup
"""


def with_user(url, user, secret):
    return url.replace("http://", "http://%s:%s@" % (user, secret), 1)


def leaks(text, allowed=()):
    """The secrets (plain, or as Basic credentials) found in `text`, except `allowed`."""
    found = []
    for name, secret in SECRETS.items():
        if name in allowed:
            continue
        b64 = base64.b64encode(secret.encode()).decode()
        if secret in text or b64[:-2] in text:
            found.append(name)
    return found


@case
def no_secret_in_logs_metrics_sip_or_http(workdir):
    with HttpTestServer() as http:
        doc = DOC % {
            "api": with_user(http.url("/api"), "apiuser", SECRETS["api"]),
            "password": SECRETS["refer"],
            "cb": with_user(http.url("/refer"), "cbuser", SECRETS["cb"]),
            "ex": with_user(http.url("/sub"), "exuser", SECRETS["ex"]),
        }
        http.script("/route", [{"headers": {"Content-Type": "application/yaml"}, "body": doc}])
        http.script("/api", [{"json": {"ok": True}}])
        http.script("/sub", [{"json": {"version": "1.0.0", "sections": {"main": [{"return": "ok"}]}}}])
        metrics_port = free_port((socket.SOCK_STREAM,))
        route = with_user(http.url("/route"), "docuser", SECRETS["doc"])
        with Swmld(workdir, [{"swml": route}],
                   extra={"logging": {"level": "trace", "format": "text"},
                          "metrics": {"listen": "127.0.0.1:%d" % metrics_port}},
                   env={"SWMLD_HTTP_SIGNING_SECRET": SECRETS["signing"]}) as s:
            res = sipp(workdir, "uac_refer_auth_407.xml", s.port)
            assert res.rc == 0, res.out
            http.wait_for(1, path="/sub", timeout=10)
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port, timeout=5) as r:
                metrics = r.read().decode()
        log = s.text()
        # The run did what it should: the password answered the challenge, callbacks were
        # signed, every URL was reached with its own credentials.
        auth = [m for m in res.messages if m["dir"] == "received" and "proxy-authorization" in m["headers"]]
        assert auth, "no REFER with Proxy-Authorization reached SIPp"
        for path, user, name in (("/route", "docuser", "doc"), ("/api", "apiuser", "api"),
                                 ("/refer", "cbuser", "cb"), ("/sub", "exuser", "ex")):
            reqs = http.requests(path)
            assert reqs, path
            want = "Basic " + base64.b64encode(("%s:%s" % (user, SECRETS[name])).encode()).decode()
            assert all(r["headers"].get("authorization") == want for r in reqs), (path, reqs[0]["headers"])
            for r in reqs:
                text = r["body"] + json.dumps({k: v for k, v in r["headers"].items() if k != "authorization"})
                assert not leaks(text), (path, leaks(text), text[:2000])
        assert any("x-signalwire-signature" in r["headers"] for r in http.requests("/refer"))
        sub_body = json.loads(http.requests("/sub")[0]["body"])
        assert sub_body["vars"]["request_url"] == with_user(http.url("/api"), "apiuser", "***"), sub_body["vars"]
        assert sub_body["params"]["why"] == "after " + with_user(http.url("/api"), "apiuser", "***")
    assert len(log) > 2000 and " debug " in log, log[:500]  # trace level: the detailed lines ran
    assert not leaks(log), (leaks(log), [l for l in log.splitlines() if leaks(l)][:5])
    assert not leaks(metrics), leaks(metrics)
    sip_text = "\n".join(m["raw"] for m in res.messages if m["dir"] == "received")
    assert not leaks(sip_text), leaks(sip_text)


@case
def no_secret_in_simulate_output(workdir):
    doc = DOC % {"api": "https://apiuser:%s@api.example.com/v1" % SECRETS["api"],
                 "password": SECRETS["refer"],
                 "cb": "https://cbuser:%s@cb.example.com/refer" % SECRETS["cb"],
                 "ex": "https://exuser:%s@docs.example.com/sub" % SECRETS["ex"]}
    path = os.path.join(workdir, "doc.yaml")
    with open(path, "w") as f:
        f.write(doc)
    fixtures = os.path.join(workdir, "fixtures")  # no fixture: every fetch fails, and says so
    os.makedirs(fixtures)
    p = subprocess.run([e2e.SWMLD, "simulate", "--http-fixture", fixtures, "--log-level", "trace", path],
                       capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    assert '"action":"end"' in out and "apiuser:***@" in out, out
    assert not leaks(out), (leaks(out), [l for l in out.splitlines() if leaks(l)][:5])


if __name__ == "__main__":
    run()
