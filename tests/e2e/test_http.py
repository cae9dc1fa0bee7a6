#!/usr/bin/env python3
"""SWML over HTTP end to end: URL routes (POST contract, retries, timeouts, fallback, cache),
execute/transfer to URLs, and the request method against a real HTTP server."""

import json
import time

from e2e import HttpTestServer, Swmld, case, run, sipp

YAML = {"Content-Type": "application/yaml"}

REFER_DOC = """
version: 1.0.0
sections:
  main:
    - answer
    - sip_refer: {to_uri: "sip:alice@example.com"}
    - request:
        url: "%s"
        method: POST
        body: {result: "${sip_refer_result}", team: "${params.team}"}
    - hangup
"""


@case
def url_route_runs_the_fetched_document(workdir):
    with HttpTestServer() as http:
        http.script("/route", [{"headers": YAML, "body": REFER_DOC % http.url("/vars")}])
        with Swmld(workdir, [{"swml": http.url("/route"), "params": {"team": "sales"}}],
                   extra={"envs": {"region": "eu"}}) as s:
            res = sipp(workdir, "uac_refer_notify_200.xml", s.port)
            assert res.rc == 0, res.out
            http.wait_for(1, path="/vars")
        fetch = http.requests("/route")[0]
        revealed = json.loads(http.requests("/vars")[0]["body"])
    assert revealed == {"result": "success", "team": "sales"}, revealed
    assert fetch["method"] == "POST" and fetch["headers"]["content-type"] == "application/json"
    body = json.loads(fetch["body"])
    assert sorted(body) == ["call", "envs", "params", "vars"], body
    assert body["vars"] == {} and body["params"] == {"team": "sales"} and body["envs"] == {"region": "eu"}
    call = body["call"]
    assert call["direction"] == "inbound" and call["type"] == "sip", call
    assert call["from"].startswith("sip:sipp@127.0.0.1") and call["sip_data"]["sip_req_user"] == "swml"
    assert call["node_id"] == "node-1" and call["project_id"] == "proj-1", call


@case
def execute_url_with_params_and_return_then_transfer_url(workdir):
    with HttpTestServer() as http:
        http.script("/sub", [{"json": {"version": "1.0.0", "sections": {"main": [
            {"return": "${parseInt(params.a) * 10}"}]}}}])
        http.script("/next", [{"headers": YAML, "body": (
            "- request: {url: '%s', method: POST, body: {rv: '${return_value}', why: '${params.why}',"
            " seen: '${vars.step}'}}\n- hangup\n") % http.url("/vars")}])
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - set: {step: one}
    - execute: {dest: "%s", params: {a: 4}}
    - transfer: {dest: "%s", params: {why: moved}}
    - hangup: {reason: busy}
""" % (http.url("/sub"), http.url("/next"))
        with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port)
            assert res.rc == 0, res.out
            http.wait_for(1, path="/vars")
        sub = json.loads(http.requests("/sub")[0]["body"])
        nxt = json.loads(http.requests("/next")[0]["body"])
        revealed = json.loads(http.requests("/vars")[0]["body"])
    # params scalars arrive as strings (the execute page's payload: "some_info": "12345");
    # call_state is "answered" after `answer`, as that payload shows.
    assert sub["params"] == {"a": "4"} and sub["vars"]["step"] == "one", sub
    assert sub["call"]["call_state"] == "answered", sub["call"]
    assert nxt["params"] == {"why": "moved"} and nxt["vars"]["return_value"] == 40, nxt
    assert revealed == {"rv": 40, "why": "moved", "seen": "one"}, revealed  # whole-value: a number


@case
def request_methods_and_response_variables(workdir):
    with HttpTestServer() as http:
        http.script("/api", [{"status": 201, "json": {"status": "created", "number": {"home": "n/a"}},
                              "headers": {"X-Trace": "abc"}}])
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - request: {url: "%(api)s?q=${call.sip_data.sip_req_user}", method: GET, save_variables: true,
                headers: {X-Caller: "${call.sip_data.sip_from_user}"}}
    - set: {get: "${request_result} ${request_response_code} ${request_response.number.home} ${request_response_headers.x-trace}"}
    - request: {url: "%(api)s", method: POST, body: {n: 1}}
    - request: {url: "%(api)s", method: PUT, body: "plain text"}
    - request: {url: "%(api)s", method: DELETE}
    - request: {url: "%(reveal)s", method: POST, body: {get: "${get}", last: "${request_result}"}}
    - hangup
""" % {"api": http.url("/api"), "reveal": http.url("/vars")}
        with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port, service="4000")
            assert res.rc == 0, res.out
            http.wait_for(1, path="/vars")
        api = http.requests("/api")
        revealed = json.loads(http.requests("/vars")[0]["body"])
    assert [r["method"] for r in api] == ["GET", "POST", "PUT", "DELETE"], api
    assert api[0]["query"] == "q=4000" and api[0]["headers"]["x-caller"] == "sipp", api[0]
    assert json.loads(api[1]["body"]) == {"n": 1} and api[1]["headers"]["content-type"] == "application/json"
    assert api[2]["body"] == "plain text" and api[2]["headers"]["content-type"] == "text/plain"
    assert revealed == {"get": "success 201 n/a abc", "last": "success"}, revealed


@case
def fetch_timeout_before_answer_is_503(workdir):
    with HttpTestServer() as http:
        http.script("/slow", [{"delay_ms": 3000, "headers": YAML, "body": "- hangup\n"}])
        with Swmld(workdir, [{"swml": http.url("/slow")}],
                   extra={"http": {"timeout": 0.5, "retries": 0}}) as s:
            t0 = time.time()
            res = sipp(workdir, "uac_invite_503.xml", s.port)
            took = time.time() - t0
            assert res.rc == 0, res.out
            assert res.responses(503)[0]["headers"]["retry-after"] == ["5"]
            assert took < 3, took
            assert not res.responses(180), "rang before the document was there"
            warn = [r for r in s.records() if "document fetch failed" in r.get("msg", "")]
            assert len(warn) == 1, warn


@case
def document_server_500_then_200_with_retries(workdir):
    with HttpTestServer() as http:
        http.script("/flaky", [{"status": 500}, {"status": 200, "headers": YAML,
                                                 "body": "- answer\n- hangup\n"}])
        with Swmld(workdir, [{"swml": http.url("/flaky")}], extra={"http": {"retries": 2}}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port)
            assert res.rc == 0, res.out
        assert len(http.requests("/flaky")) == 2


@case
def fallback_url_and_bad_documents(workdir):
    with HttpTestServer() as http:
        http.script("/garbage", [{"action": "garbage"}])
        http.script("/fallback", [{"headers": YAML, "body": "- answer\n- hangup\n"}])
        http.script("/html", [{"headers": {"Content-Type": "text/html"},
                               "body": "<html><body>502 Bad Gateway</body></html>\n"}])
        with Swmld(workdir, [{"swml": http.url("/html"), "match": {"user": "html"}},
                             {"swml": http.url("/garbage"), "fallback": http.url("/fallback")}],
                   extra={"http": {"retries": 0}}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port)
            assert res.rc == 0, res.out
            bad = sipp(workdir, "uac_invite_503.xml", s.port, service="html")
            assert bad.rc == 0, bad.out
            assert ("the body is not a SWML document (Content-Type 'text/html', "
                    "body starts '<html><body>502 Bad Gateway</body></html>") in s.text(), s.text()


@case
def documents_sent_as_text_html_run(workdir):
    # SignalWire's server examples (Express res.send, Flask returning a string) answer
    # text/html: the body decides. The route answers YAML, the executed URL JSON.
    html = {"Content-Type": "text/html; charset=utf-8"}
    with HttpTestServer() as http:
        http.script("/express", [{"headers": html, "body": (
            "version: 1.0.0\nsections:\n  main:\n    - answer\n"
            "    - execute: {dest: '%s'}\n    - hangup\n") % http.url("/flask")}])
        http.script("/flask", [{"headers": html, "body": json.dumps({"sections": {"main": [
            {"request": {"url": http.url("/vars"), "method": "POST", "body": {"ran": "flask"}}}]}})}])
        with Swmld(workdir, [{"swml": http.url("/express")}]) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port)
            assert res.rc == 0, res.out
            http.wait_for(1, path="/vars")
        revealed = json.loads(http.requests("/vars")[0]["body"])
    assert revealed == {"ran": "flask"}, revealed


@case
def cache_control_reuses_the_document(workdir):
    with HttpTestServer() as http:
        http.script("/cached", [{"headers": dict(YAML, **{"Cache-Control": "max-age=60"}),
                                 "body": "- answer\n- hangup\n"}])
        with Swmld(workdir, [{"swml": http.url("/cached")}]) as s:
            for i in range(2):
                res = sipp(workdir, "uac_wait_bye.xml", s.port, name="call%d" % i)
                assert res.rc == 0, res.out
        assert len(http.requests("/cached")) == 1


@case
def fetches_are_signed(workdir):
    import hashlib
    import hmac
    secret = "fetch-secret"
    with HttpTestServer() as http:
        http.script("/signed", [{"headers": YAML, "body": "- answer\n- hangup\n"}])
        with Swmld(workdir, [{"swml": http.url("/signed")}],
                   extra={"http": {"signing_secret": secret, "signature_header": "X-Body-Signature"}}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port)
            assert res.rc == 0, res.out
            assert secret not in s.text()
        r = http.requests("/signed")[0]
    body = r["body"].encode()
    url = http.url("/signed").encode()
    assert r["headers"]["x-signalwire-signature"] == hmac.new(secret.encode(), url + body, hashlib.sha1).hexdigest()
    assert r["headers"]["x-signalwire-sha256-signature"] == hmac.new(secret.encode(), url + body, hashlib.sha256).hexdigest()
    assert r["headers"]["x-body-signature"] == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@case
def simulate_against_a_real_server(workdir):
    import os
    import subprocess
    import e2e
    with HttpTestServer() as http:
        http.script("/sub", [{"headers": YAML, "body": "- return: '${params.x}!'\n"}])
        http.script("/api", [{"json": {"ok": True}}])
        path = os.path.join(workdir, "doc.yaml")
        with open(path, "w") as f:
            f.write("- execute: {dest: '%s', params: {x: hi}}\n"
                    "- request: {url: '%s', method: GET, save_variables: true}\n" % (http.url("/sub"), http.url("/api")))
        p = subprocess.run([e2e.SWMLD, "simulate", path], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    end = json.loads(p.stdout.splitlines()[-1])
    assert end["vars"]["return_value"] == "success" and end["vars"]["request_response"] == {"ok": True}, end
    actions = [json.loads(l)["action"] for l in p.stdout.splitlines()]
    assert actions == ["ring", "fetch", "request", "hangup", "end"], actions


if __name__ == "__main__":
    run()
