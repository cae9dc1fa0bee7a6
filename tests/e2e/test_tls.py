#!/usr/bin/env python3
"""SIP over TLS end to end: a small SIP UAC on Python's ssl module calls swmld on a tls:
listener, is REFERred, reports the transfer with a NOTIFY, and is hung up on; every request
swmld sends in the dialog must come over the caller's own TLS connection (no new
connection, no UDP). Also: client certificates with sip.tls.verify_peer, and the start-up
errors for a missing certificate and a key that does not match it.

The PKI (a CA, a server and a client certificate, a stray key) is made at test time with the
openssl command line in the case's directory: no private key is committed."""

import json
import os
import socket
import ssl
import subprocess
import time

import e2e
from e2e import HttpTestServer, Swmld, case, free_port, free_rtp_range, run

DOC = """
version: 1.0.0
sections:
  main:
    - answer
    - sip_refer:
        to_uri: "sip:alice@example.com"
    - request:
        url: "%(reveal)s"
        method: POST
        body:
          result: "${sip_refer_result}"
          refer_code: "${sip_refer_response_code}"
          to_code: "${sip_refer_to_response_code}"
    - hangup
"""


def openssl(workdir, *args):
    subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True, timeout=20)


def make_pki(workdir):
    """ca.pem; server.pem/server.key (SAN IP:127.0.0.1); client.pem/client.key; other.key."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(workdir, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=swmld test CA")
    with open(os.path.join(workdir, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl(workdir, "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=swmld test {name}")
        openssl(workdir, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext")
    openssl(workdir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-out", "other.key")
    return {n: os.path.join(workdir, n) for n in
            ("ca.pem", "server.pem", "server.key", "client.pem", "client.key", "other.key")}


class SipTlsClient:
    """One TLS connection to swmld; sends requests and reads whole SIP messages."""

    def __init__(self, port, ca, cert=None, key=None, local_port=0):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.settimeout(5)
        raw.bind(("127.0.0.1", local_port))
        raw.connect(("127.0.0.1", port))
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.replace("\n", "\r\n").encode())

    def recv(self, timeout=10):
        """The next message: (first line, {lower-case name: [values]}, body)."""
        deadline = time.time() + timeout
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buf[:head_end].decode()
                lines = head.split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers.setdefault(name.strip().lower(), []).append(value.strip())
                length = int(headers.get("content-length", ["0"])[0])
                if len(self.buf) >= head_end + 4 + length:
                    body = self.buf[head_end + 4:head_end + 4 + length].decode()
                    self.buf = self.buf[head_end + 4 + length:]
                    return lines[0], headers, body
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no complete SIP message within {timeout}s: {self.buf!r}")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"connection closed; left: {self.buf!r}")
            self.buf += data.lstrip(b"\r\n") if not self.buf else data

    def recv_request(self, method, timeout=10):
        first, headers, body = self.recv(timeout)
        assert first.startswith(method + " "), f"expected {method}, got {first}"
        return first, headers, body

    def respond(self, headers, code, reason):
        self.send("SIP/2.0 %d %s\n" % (code, reason) +
                  "".join("Via: %s\n" % v for v in headers["via"]) +
                  "From: %s\nTo: %s\nCall-ID: %s\nCSeq: %s\nContent-Length: 0\n\n" %
                  (headers["from"][0], headers["to"][0], headers["call-id"][0], headers["cseq"][0]))

    def close(self):
        self.sock.close()


def invite(c, port, uri, contact):
    sdp = ("v=0\no=uac 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
           "m=audio 49170 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n").replace("\n", "\r\n")
    c.send(f"INVITE {uri} SIP/2.0\n"
           f"Via: SIP/2.0/TLS 127.0.0.1:{c.local_port};branch=z9hG4bK-tls-1;rport\n"
           f"From: <sip:uac@127.0.0.1>;tag=uac1\nTo: <{uri}>\nCall-ID: tls-{c.local_port}@127.0.0.1\n"
           f"CSeq: 1 INVITE\nContact: {contact}\nMax-Forwards: 70\n"
           f"Content-Type: application/sdp\nContent-Length: {len(sdp)}\n\n" + sdp.replace("\r\n", "\n"))
    while True:
        first, headers, body = c.recv()
        code = int(first.split()[1])
        if code >= 200:
            return code, headers


def tls_extra(port, pki, **tls):
    return {"rtp": free_rtp_range(20),
            "sip": {"listen": [f"tls:127.0.0.1:{port}"],
                    "tls": dict({"cert_file": pki["server.pem"], "key_file": pki["server.key"]}, **tls)}}


def transfer_over_tls(workdir, uri_form):
    pki = make_pki(workdir)
    port = free_port((socket.SOCK_STREAM,))
    with HttpTestServer() as http:
        doc = DOC % {"reveal": http.url("/vars")}
        tmp = os.path.join(workdir, "tmp")
        os.mkdir(tmp)
        with Swmld(workdir, [{"swml": "doc.yaml"}], extra=tls_extra(port, pki),
                   documents={"doc.yaml": doc}, env={"TMPDIR": tmp}) as s:
            # The directory of key and certificates made for Sofia is gone once it has bound.
            assert os.listdir(tmp) == [], os.listdir(tmp)
            # REFER and BYE read from this socket came over the caller's connection: a new
            # connection to its Contact would be refused (nothing listens on that port).
            # Anything swmld sent over UDP to the caller's port would land here.
            local_port = free_port()
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", local_port))
            udp.setblocking(False)
            c = SipTlsClient(port, pki["ca.pem"], local_port=local_port)
            assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
            if uri_form == "sips":
                uri, contact = f"sips:swml@127.0.0.1:{port}", f"<sips:uac@127.0.0.1:{c.local_port}>"
            else:
                uri = f"sip:swml@127.0.0.1:{port};transport=tls"
                contact = f"<sip:uac@127.0.0.1:{c.local_port};transport=tls>"
            code, ok = invite(c, port, uri, contact)
            assert code == 200, code
            want = f"<sips:127.0.0.1:{port}>" if uri_form == "sips" else f"<sip:127.0.0.1:{port};transport=tls>"
            assert ok["contact"] == [want], ok["contact"]
            to = ok["to"][0]
            c.send(f"ACK {uri} SIP/2.0\nVia: SIP/2.0/TLS 127.0.0.1:{c.local_port};branch=z9hG4bK-tls-2\n"
                   f"From: <sip:uac@127.0.0.1>;tag=uac1\nTo: {to}\nCall-ID: {ok['call-id'][0]}\n"
                   f"CSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n")
            first, refer, _ = c.recv_request("REFER")
            assert refer["via"][0].startswith("SIP/2.0/TLS "), refer["via"]
            assert first.split()[1] == contact.strip("<>"), first
            assert "sip:alice@example.com" in refer["refer-to"][0], refer["refer-to"]
            c.respond(refer, 202, "Accepted")
            refer_cseq = refer["cseq"][0].split()[0]
            frag = "SIP/2.0 200 OK\r\n"
            c.send(f"NOTIFY {want.strip('<>')} SIP/2.0\n"
                   f"Via: SIP/2.0/TLS 127.0.0.1:{c.local_port};branch=z9hG4bK-tls-3;rport\n"
                   f"From: <sip:uac@127.0.0.1>;tag=uac1\nTo: {to}\nCall-ID: {ok['call-id'][0]}\n"
                   f"CSeq: 2 NOTIFY\nContact: {contact}\nMax-Forwards: 70\n"
                   f"Event: refer;id={refer_cseq}\nSubscription-State: terminated;reason=noresource\n"
                   f"Content-Type: message/sipfrag;version=2.0\nContent-Length: {len(frag)}\n\n"
                   + frag.replace("\r\n", "\n"))
            first, _, _ = c.recv()
            assert first == "SIP/2.0 200 OK", first
            first, bye, _ = c.recv_request("BYE")
            assert bye["via"][0].startswith("SIP/2.0/TLS "), bye["via"]
            c.respond(bye, 200, "OK")
            http.wait_for(1, path="/vars", timeout=10)
            variables = json.loads(http.requests("/vars")[0]["body"])
            assert variables == {"result": "success", "refer_code": "202", "to_code": "200"}, variables
            refer_result = s.wait_event("refer_result")[0]
            assert refer_result["result"] == "success" and refer_result["sipfrags"] == [200], refer_result
            try:
                stray = udp.recv(65536)
            except BlockingIOError:
                stray = None
            assert stray is None, f"swmld sent UDP to the TLS caller: {stray!r}"
            udp.close()
            c.close()



@case
def invite_refer_notify_bye_over_one_tls_connection(workdir):
    transfer_over_tls(workdir, "sip")


@case
def sips_uri_gets_a_sips_contact(workdir):
    transfer_over_tls(workdir, "sips")


@case
def verify_peer_requires_a_client_certificate(workdir):
    pki = make_pki(workdir)
    port = free_port((socket.SOCK_STREAM,))
    extra = tls_extra(port, pki, ca_file=pki["ca.pem"], verify_peer=True)
    with Swmld(workdir, [{"swml": "doc.yaml"}], extra=extra,
               documents={"doc.yaml": "version: 1.0.0\nsections:\n  main:\n    - hangup\n"}):
        refused = None
        try:
            c = SipTlsClient(port, pki["ca.pem"])
            # TLS 1.3: the server's refusal arrives after the client's handshake completes.
            c.send("OPTIONS sip:swml@127.0.0.1 SIP/2.0\nContent-Length: 0\n\n")
            c.recv(timeout=5)
        except (ssl.SSLError, ConnectionError, AssertionError, OSError) as e:
            refused = e
        assert refused is not None, "a client without a certificate was served"
        c = SipTlsClient(port, pki["ca.pem"], pki["client.pem"], pki["client.key"])
        code, _ = invite(c, port, f"sip:swml@127.0.0.1:{port};transport=tls",
                         f"<sip:uac@127.0.0.1:{c.local_port};transport=tls>")
        # The document hangs up before answering: the call is refused, over TLS.
        assert 400 <= code < 700, code
        c.close()


@case
def tls_beside_udp_and_tcp(workdir):
    # Two groups: udp+tcp on one port (the first bind URL), tls on another (the second).
    pki = make_pki(workdir)
    port = free_port()
    tls_port = free_port((socket.SOCK_STREAM,))
    extra = tls_extra(tls_port, pki)
    extra["sip"]["listen"] = [f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}", f"tls:127.0.0.1:{tls_port}"]
    doc = "version: 1.0.0\nsections:\n  main:\n    - answer\n    - hangup\n"
    with Swmld(workdir, [{"swml": "doc.yaml"}], extra=extra, documents={"doc.yaml": doc}):
        c = SipTlsClient(tls_port, pki["ca.pem"])
        uri = f"sip:swml@127.0.0.1:{tls_port};transport=tls"
        code, ok = invite(c, tls_port, uri, f"<sip:uac@127.0.0.1:{c.local_port};transport=tls>")
        assert code == 200, code
        assert ok["contact"] == [f"<sip:127.0.0.1:{tls_port};transport=tls>"], ok["contact"]
        c.send(f"ACK {uri} SIP/2.0\nVia: SIP/2.0/TLS 127.0.0.1:{c.local_port};branch=z9hG4bK-tls-2\n"
               f"From: <sip:uac@127.0.0.1>;tag=uac1\nTo: {ok['to'][0]}\nCall-ID: {ok['call-id'][0]}\n"
               f"CSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n")
        _, bye, _ = c.recv_request("BYE")
        c.respond(bye, 200, "OK")
        c.close()
        # The UDP listener still answers.
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        u.settimeout(5)
        lp = u.getsockname()[1]
        u.sendto((f"OPTIONS sip:swml@127.0.0.1:{port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-opt-1\r\n"
                  f"From: <sip:uac@127.0.0.1>;tag=o1\r\nTo: <sip:swml@127.0.0.1>\r\n"
                  f"Call-ID: opt-{lp}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                  f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        assert u.recv(65536).startswith(b"SIP/2.0 200 "), "no 200 to OPTIONS over UDP"
        u.close()


def start_error(workdir, tls, listen=None):
    port = free_port((socket.SOCK_STREAM,))
    listen = listen or [f"tls:127.0.0.1:{port}"]
    s = Swmld(workdir, [{"swml": "doc.yaml"}], extra={"sip": {"listen": listen, "tls": tls}},
              documents={"doc.yaml": "version: 1.0.0\nsections:\n  main:\n    - hangup\n"})
    proc = subprocess.run([e2e.SWMLD, "serve", "--config", s.config_path], capture_output=True,
                          text=True, timeout=20, cwd=workdir)
    check = subprocess.run([e2e.SWMLD, "check", "--config", s.config_path], capture_output=True,
                           text=True, timeout=20, cwd=workdir)
    return proc.returncode, proc.stdout + proc.stderr, check


@case
def missing_certificate_stops_start_up_naming_the_key(workdir):
    pki = make_pki(workdir)
    missing = os.path.join(workdir, "nope.pem")
    rc, out, check = start_error(workdir, {"cert_file": missing, "key_file": pki["server.key"]})
    assert rc == 1, (rc, out)
    message = f"sip.tls.cert_file '{missing}': cannot read: No such file or directory"
    assert message in out, out
    # `swmld check` reads the files as start-up does.
    assert check.returncode == 1 and message in check.stderr, (check.returncode, check.stderr)
    rc, out, _ = start_error(workdir, {})
    assert rc == 2, (rc, out)
    assert "config key 'sip.tls.cert_file': is required by the listen address 'tls:127.0.0.1:" in out, out


@case
def mismatched_key_stops_start_up_naming_the_key(workdir):
    pki = make_pki(workdir)
    rc, out, check = start_error(workdir, {"cert_file": pki["server.pem"], "key_file": pki["other.key"]})
    assert rc == 1, (rc, out)
    message = f"sip.tls.key_file '{pki['other.key']}': does not match the certificate in sip.tls.cert_file"
    assert message in out, out
    assert check.returncode == 1 and message in check.stderr, (check.returncode, check.stderr)


@case
def tls_sharing_a_port_with_udp_stops_start_up(workdir):
    # Sofia would take it as ";transport=udp,tls" and crash binding it.
    pki = make_pki(workdir)
    port = free_port()
    rc, out, _ = start_error(workdir, {"cert_file": pki["server.pem"], "key_file": pki["server.key"]},
                          [f"udp:127.0.0.1:{port}", f"tls:127.0.0.1:{port}"])
    assert rc == 1, (rc, out)
    assert f"udp:127.0.0.1:{port} and tls:127.0.0.1:{port}: tls needs a port of its own" in out, out


if __name__ == "__main__":
    run()
