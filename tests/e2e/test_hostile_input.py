#!/usr/bin/env python3
"""Hostile bytes in SIP messages (issue #12): what a peer puts in a Call-ID, a URI, a display
name or a header reaches swmld's log; every log line stays valid UTF-8 without control
characters (text format: no ESC sequence reaches an operator's terminal, no line break fakes
a log line) or valid JSON (json format), and the document still runs."""

import json
import os
import re
import select
import socket
import time

from e2e import Swmld, case, run

BAD = b"\xff\xfe\x1b[31mred\x07"


def hostile_invite(port):
    """Sends an INVITE full of hostile bytes; returns the status lines received."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lp = str(s.getsockname()[1]).encode()
    msg = (b"INVITE sip:swml@127.0.0.1:" + str(port).encode() + b" SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 127.0.0.1:" + lp + b";branch=z9hG4bK-hostile\r\n"
           b"Max-Forwards: 70\r\n"
           b"From: \"" + BAD + b"\" <sip:u%ff@127.0.0.1>;tag=1\r\n"
           b"To: <sip:swml@127.0.0.1>\r\n"
           b"Call-ID: x\xc3\x28\x1b[2J\r\nfake@h\r\n"
           b"CSeq: 1 INVITE\r\n"
           b"Contact: <sip:u@127.0.0.1:" + lp + b">\r\n"
           b"X-Evil: " + BAD + b"\r\n"
           b"Content-Length: 0\r\n\r\n")
    s.sendto(msg, ("127.0.0.1", port))
    s.settimeout(2)
    codes = []
    try:
        while not any(c >= 200 for c in codes):
            data = s.recvfrom(65535)[0]
            codes.append(int(data.split(b" ", 2)[1]))
    except socket.timeout:
        pass
    # The Call-ID held a line break: Sofia takes the part before it (x\xc3(\x1b[2J).
    call_id = b"x\xc3\x28\x1b[2J"
    return codes, call_id


def check_log(raw, fmt):
    lines = [l for l in raw.split(b"\n") if l]
    assert len(lines) > 5, raw[:2000]
    for l in lines:
        text = l.decode("utf-8")  # raises on invalid UTF-8
        assert all(ord(c) >= 0x20 or c == "\t" for c in text), repr(l)
        assert "\x7f" not in text, repr(l)
        if fmt == "json":
            json.loads(text)
    return lines


def run_case(workdir, fmt):
    doc = '- set: {who: "${call.from} ${call.headers[0].value}"}\n- hangup\n'
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc},
               extra={"logging": {"level": "debug", "format": fmt}}) as s:
        codes, call_id = hostile_invite(s.port)
        time.sleep(0.3)
    assert codes and codes[-1] == 480, codes  # the document ran: hangup before answer
    with open(s.log_path, "rb") as f:
        raw = f.read()
    lines = check_log(raw, fmt)
    if fmt == "text":
        # The Call-ID is in the log, escaped.
        assert any(b"x\\xc3(\\x1b[2J" in l for l in lines), [l for l in lines if b"INVITE" in l]


TORTURE = os.environ.get("SWMLD_TORTURE", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "rfc4475-torture"))


def send_torture(port, name):
    """Sends RFC 4475's `name`.dat over UDP, its top Via pointing back at us; returns the
    responses received (full texts) until a final one or 1.5 s of silence."""
    with open(os.path.join(TORTURE, name + ".dat"), "rb") as f:
        data = f.read()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lines = data.split(b"\r\n")
    for i, line in enumerate(lines):
        if re.match(rb"(?i)^(via|v)\s*:", line):
            lines[i] = re.sub(rb"SIP\s*/\s*2\.0\s*/\s*\w+\s+[^;,\s]+",
                              b"SIP/2.0/UDP 127.0.0.1:%d" % s.getsockname()[1], line, count=1)
            break
    s.sendto(b"\r\n".join(lines), ("127.0.0.1", port))
    s.settimeout(1.5)
    out = []
    try:
        while not out or not re.match(rb"SIP/2.0 [2-6]", out[-1]):
            out.append(s.recvfrom(65535)[0])
    except socket.timeout:
        pass
    return [o.decode("latin-1") for o in out]


@case
def invite_with_a_body_we_cannot_read_is_415_and_one_refusing_sdp_is_406(workdir):
    # RFC 4475 invut (Content-Type application/unknownformat) and sdp01 (Accept:
    # text/nobodyKnowsThis): refused before any document runs (it would answer 486).
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": "- hangup: {reason: busy}\n"}) as s:
        invut = send_torture(s.port, "invut")
        sdp01 = send_torture(s.port, "sdp01")
        esc01 = send_torture(s.port, "esc01")  # a valid INVITE: the document runs
    assert invut and invut[-1].startswith("SIP/2.0 415 "), invut
    assert re.search(r"(?mi)^Accept:\s*application/sdp\s*$", invut[-1]), invut[-1]
    assert sdp01 and sdp01[-1].startswith("SIP/2.0 406 "), sdp01
    assert esc01 and esc01[-1].startswith("SIP/2.0 486 "), esc01
    ran = [r["msg"] for r in s.records() if " route=" in r.get("msg", "") and "ended:" in r["msg"]]
    assert len(ran) == 1 and "sip_call_id=esc01." in ran[0], ran


def out_of_dialog(port, method, to_tag=""):
    """Sends one request outside any dialog; returns everything received in 2 s (responses
    and any request swmld sends back to the Contact)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lp = s.getsockname()[1]
    to = "<sip:swml@127.0.0.1>" + (";tag=" + to_tag if to_tag else "")
    extra = "Refer-To: <sip:victim@192.0.2.1>\r\n" if method == "REFER" else ""
    body = "Signal=5\r\nDuration=160\r\n" if method == "INFO" else ""
    ctype = "Content-Type: application/dtmf-relay\r\n" if body else ""
    msg = ("%s sip:swml@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ood-%s-%s\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=abc\r\nTo: %s\r\n"
           "Call-ID: ood-%s-%s@h\r\nCSeq: 1 %s\r\nContact: <sip:a@127.0.0.1:%d>\r\n"
           "%s%sContent-Length: %d\r\n\r\n%s") % (
        method, port, lp, method, to_tag, to, method, to_tag, method, lp, extra, ctype,
        len(body), body)
    s.sendto(msg.encode(), ("127.0.0.1", port))
    s.settimeout(2)
    got = []
    try:
        while True:
            got.append(s.recvfrom(65535)[0].decode("latin-1"))
    except socket.timeout:
        pass
    return [g.split("\r\n", 1)[0] for g in got], got


@case
def out_of_dialog_refer_and_info_get_no_reflection_and_the_right_code(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": "- hangup\n"}) as s:
        refer, refer_raw = out_of_dialog(s.port, "REFER")
        refer_tag, _ = out_of_dialog(s.port, "REFER", "t1")
        info, _ = out_of_dialog(s.port, "INFO")
        info_tag, _ = out_of_dialog(s.port, "INFO", "t2")
        bye_tag, _ = out_of_dialog(s.port, "BYE", "t3")
    # A REFER is refused with 405 and nothing else: no NOTIFY to its Contact (a spoofed
    # source could aim that anywhere), whatever its To tag.
    assert refer == ["SIP/2.0 405 Method Not Allowed"], refer
    assert re.search(r"(?mi)^Allow:.*\bINVITE\b", refer_raw[0]) and "REFER" not in \
        re.search(r"(?mi)^Allow:(.*)$", refer_raw[0]).group(1), refer_raw[0]
    assert refer_tag == ["SIP/2.0 405 Method Not Allowed"], refer_tag
    # No dialog for an INFO (or a BYE) outside one: 481.
    for got in (info, info_tag, bye_tag):
        assert len(got) == 1 and got[0].startswith("SIP/2.0 481 "), (info, info_tag, bye_tag)


@case
def tcp_garbage_half_messages_and_huge_messages_are_closed(workdir):
    # sip.message_timeout bounds a message that never completes, sip.max_message_bytes a
    # message without end, sip.tcp_idle_timeout a connection Sofia stopped reading after a
    # non-SIP line (it used to sit in CLOSE-WAIT with its descriptor for ever).
    extra = {"sip": {"tcp_idle_timeout": 3, "message_timeout": 2, "max_message_bytes": 8192},
             "logging": {"level": "info", "format": "json"}}
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": "- hangup\n"}, extra=extra) as s:
        fds = lambda: len(os.listdir("/proc/%d/fd" % s.proc.pid))
        before = fds()
        conns = {}
        for name, payload in (("garbage", b"HELLO WORLD\r\n\r\n"),
                              ("half", b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4"),
                              ("huge", None)):
            c = socket.create_connection(("127.0.0.1", s.port))
            if payload is None:
                c.setblocking(False)
                try:
                    c.send(b"A" * 1000000)  # no CRLF: a message without end
                except OSError:
                    pass
            else:
                c.sendall(payload)
            conns[c] = name
        t0 = time.time()
        closed = {}
        while len(closed) < len(conns) and time.time() - t0 < 10:
            ready, _, _ = select.select([c for c in conns if conns[c] not in closed], [], [], 0.1)
            for c in ready:
                try:
                    data = c.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    closed[conns[c]] = time.time() - t0
        assert set(closed) == {"garbage", "half", "huge"}, closed
        assert closed["huge"] < 1.5, closed
        assert 1.5 <= closed["half"] < 4, closed
        assert closed["garbage"] < 5.5, closed
        for c in conns:
            c.close()
        deadline = time.time() + 3
        while fds() > before and time.time() < deadline:
            time.sleep(0.1)
        assert fds() <= before, (before, fds())
        # Ordinary calls still work.
        codes, _ = hostile_invite(s.port)
        assert codes and codes[-1] == 480, codes


@case
def hostile_bytes_in_text_log_lines_are_escaped(workdir):
    run_case(workdir, "text")


@case
def hostile_bytes_in_json_log_lines_stay_valid_json(workdir):
    run_case(workdir, "json")


if __name__ == "__main__":
    run()
