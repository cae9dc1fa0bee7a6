#!/usr/bin/env python3
"""RFC 4475 torture messages (issue #12): every message of the RFC is sent to a running
swmld over UDP, and the ones whose framing or transport matters over TCP as well; each gets
the answer the RFC expects of an endpoint (a UAS that is neither proxy nor registrar), or
where Sofia-SIP answers differently and swmld cannot change it, the answer Sofia gives,
written down here and in docs/operations.md ("Bad input"). Afterwards swmld is still
running and an ordinary call with a REFER completes.

The messages are in $SWMLD_TORTURE (default ../shared/rfc4475-torture next to the
repository), one file each as the RFC ships them. They are sent unchanged except that the
top Via's sent-by becomes this test's socket (the answer must come back to us), its
transport the one used, and the TCP copy's Call-ID gets ".tcp" appended (else it would be a
merged request). Request-URIs keep their example.com hosts: the catch-all route takes them.
"""

import os
import re
import socket

from e2e import Swmld, case, free_rtp_range, run, sipp

TORTURE = os.environ.get("SWMLD_TORTURE", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "rfc4475-torture"))

# name -> (RFC 4475 section, answer over UDP, answer over TCP or None when not sent over TCP).
# An answer is the final status code, or "none": no response at all (a response we have no
# transaction for; a request Sofia-SIP's parser drops before swmld sees it). The RFC allows
# "400 or drop" for its invalid messages (3.1.2); the table holds what swmld actually does,
# exactly, so that a change in Sofia or swmld shows here. DEVIATION marks an answer other
# than the RFC's (docs/operations.md, "Bad input"). INVITEs that reach the catch-all route
# run a document that hangs up busy: 486.
EXPECT = {
    # 3.1.1 valid messages: each must be answered.
    "wsinv":      ("3.1.1.1", 481, 481),        # its To has a tag: no such dialog
    "intmeth":    ("3.1.1.2", "none", "none"),  # DEVIATION: Sofia drops it (method token, NUL)
    "esc01":      ("3.1.1.3", 486, None),       # the document runs
    "escnull":    ("3.1.1.4", 405, None),       # REGISTER: not a registrar (Allow lists ours)
    "esc02":      ("3.1.1.5", 501, 501),        # RE%47IST%45R is an unknown method
    "lwsdisp":    ("3.1.1.6", 200, None),
    "longreq":    ("3.1.1.7", 486, 486),
    "dblreq":     ("3.1.1.8", 405, None),       # the REGISTER; the INVITE after it is ignored (UDP)
    "semiuri":    ("3.1.1.9", 200, None),
    "transports": ("3.1.1.10", 200, None),
    "mpart01":    ("3.1.1.11", 405, None),      # MESSAGE is not taken
    "unreason":   ("3.1.1.12", "none", None),   # responses without a transaction: dropped
    "noreason":   ("3.1.1.13", "none", None),
    # 3.1.2 invalid messages: 400, or dropped.
    "badinv01":   ("3.1.2.1", "none", None),    # Sofia cannot read its Via: dropped
    "clerr":      ("3.1.2.2", 400, "none"),     # TCP: waits for the rest; message_timeout closes
    "ncl":        ("3.1.2.3", 400, 400),
    "scalar02":   ("3.1.2.4", 400, 400),
    "scalarlg":   ("3.1.2.5", "none", "none"),
    "quotbal":    ("3.1.2.6", 400, None),
    "ltgtruri":   ("3.1.2.7", 400, None),
    "lwsruri":    ("3.1.2.8", "none", None),    # the request line does not parse: dropped
    "lwsstart":   ("3.1.2.9", 486, None),       # DEVIATION: Sofia takes it; the document runs
    "trws":       ("3.1.2.10", 200, 200),       # DEVIATION: Sofia takes it
    "escruri":    ("3.1.2.11", 400, None),      # swmld refuses it (Sofia would take it)
    "baddate":    ("3.1.2.12", 486, None),      # DEVIATION: Sofia takes it; the document runs
    "regbadct":   ("3.1.2.13", 400, None),
    "badaspec":   ("3.1.2.14", 200, None),      # DEVIATION: Sofia takes it
    "baddn":      ("3.1.2.15", 400, None),
    "badvers":    ("3.1.2.16", 505, None),
    "mismatch01": ("3.1.2.17", 400, None),
    "mismatch02": ("3.1.2.18", 400, None),
    "bigcode":    ("3.1.2.19", "none", None),
    # 3.2 transaction layer
    "badbranch":  ("3.2.1", 200, None),
    # 3.3 application layer
    "insuf":      ("3.3.1", 400, None),
    "unkscm":     ("3.3.2", 416, 416),
    "novelsc":    ("3.3.3", 416, 416),
    "unksm2":     ("3.3.4", 405, None),
    "bext01":     ("3.3.5", 420, 420),
    "invut":      ("3.3.6", 415, None),
    "regaut01":   ("3.3.7", 405, 405),
    "multi01":    ("3.3.8", 400, None),
    "mcl01":      ("3.3.9", 400, 400),
    "bcast":      ("3.3.10", "none", None),
    "zeromf":     ("3.3.11", 200, None),
    "cparam01":   ("3.3.12", 405, None),
    "cparam02":   ("3.3.13", 405, None),
    "regescrt":   ("3.3.14", 405, None),
    "sdp01":      ("3.3.15", 406, None),
    # 3.4 backwards compatibility
    "inv2543":    ("3.4.1", 486, None),
}


def load(name):
    with open(os.path.join(TORTURE, name + ".dat"), "rb") as f:
        return f.read()


def rewrite(data, transport, port, call_id_suffix=b""):
    """The message with its top Via (folded lines joined) sent by 127.0.0.1:port over
    `transport`, and its Call-ID suffixed."""
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = []
    i = 0
    via_done = cid_done = False
    while i < len(lines):
        line = lines[i]
        if not via_done and re.match(rb"(?i)^(via|v)\s*:", line):
            while i + 1 < len(lines) and lines[i + 1][:1] in (b" ", b"\t"):
                line += b" " + lines[i + 1].strip()
                i += 1
            line = re.sub(rb"SIP\s*/\s*[\d.]+\s*/\s*\w+\s+[^;,\s]+",
                          b"SIP/2.0/" + transport + b" 127.0.0.1:%d" % port, line, count=1)
            via_done = True
        elif call_id_suffix and not cid_done and re.match(rb"(?i)^(call-id|i)\s*:", line):
            line = line.rstrip() + call_id_suffix
            cid_done = True
        out.append(line)
        i += 1
    return b"\r\n".join(out) + sep + body


def first_lines(chunks):
    """Status lines of the responses in `chunks` (bytes received)."""
    return re.findall(rb"(?m)^SIP/2\.0 (\d{3}) [^\r\n]*", b"".join(chunks))


def send_udp(port, name, wait=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.sendto(rewrite(load(name), b"UDP", s.getsockname()[1]), ("127.0.0.1", port))
    s.settimeout(wait)
    got = []
    try:
        while True:
            got.append(s.recvfrom(65535)[0])
            if re.match(rb"SIP/2.0 [2-6]", got[-1]):
                s.settimeout(0.3)  # anything after the final response (there must be nothing)
    except socket.timeout:
        pass
    s.close()
    return [int(c) for c in first_lines(got)], got


def send_tcp(port, name, wait=1.0):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(rewrite(load(name), b"TCP", s.getsockname()[1], b".tcp"))
    s.settimeout(wait)
    got = []
    try:
        while True:
            data = s.recv(65535)
            if not data:
                break
            got.append(data)
            if re.search(rb"(?m)^SIP/2.0 [2-6]", b"".join(got)):
                s.settimeout(0.3)
    except (socket.timeout, OSError):
        pass
    s.close()
    return [int(c) for c in first_lines(got)], got


def outcome(codes):
    """The final answer: a code, or "none"."""
    finals = [c for c in codes if c >= 200]
    return finals[-1] if finals else "none"


def matches(expected, got):
    options = expected if isinstance(expected, tuple) else (expected,)
    for e in options:
        if e == got or (isinstance(e, str) and e.endswith("xx") and isinstance(got, int)
                        and str(got)[0] == e[0]):
            return True
    return False


REFER_DOC = """
- answer
- sip_refer: {to_uri: "sip:alice@example.com"}
- hangup
"""


def sweep(s):
    """Sends everything; returns {name: (udp outcome, tcp outcome or None, udp codes)}."""
    results = {}
    for name in sorted(EXPECT):
        section, exp_udp, exp_tcp = EXPECT[name]
        codes, _ = send_udp(s.port, name)
        tcp = None
        if exp_tcp is not None:
            tcp = outcome(send_tcp(s.port, name)[0])
        results[name] = (outcome(codes), tcp, codes)
        assert s.proc.poll() is None, "swmld died after " + name
    return results


@case
def every_torture_message_gets_the_rfc_answer_and_swmld_keeps_working(workdir):
    missing = [n for n in EXPECT if not os.path.exists(os.path.join(TORTURE, n + ".dat"))]
    present = sorted(f[:-4] for f in os.listdir(TORTURE) if f.endswith(".dat"))
    assert not missing and present == sorted(EXPECT), (missing, set(present) ^ set(EXPECT))
    routes = [{"match": {"user": "refer"}, "swml": "refer.yaml"}, {"swml": "busy.yaml"}]
    docs = {"busy.yaml": "- hangup: {reason: busy}\n", "refer.yaml": REFER_DOC}
    extra = {"logging": {"level": "info", "format": "json"},
             "sip": {"message_timeout": 2}, "rtp": free_rtp_range(40)}
    with Swmld(workdir, routes, documents=docs, extra=extra) as s:
        results = sweep(s)
        table = "\n".join("%-10s %-8s udp=%-5s tcp=%-5s codes=%s" % (
            n, EXPECT[n][0], r[0], r[1], r[2]) for n, r in sorted(results.items()))
        if os.environ.get("SWMLD_TORTURE_PRINT"):
            print(table)
        wrong = []
        for name, (udp, tcp, codes) in results.items():
            _, exp_udp, exp_tcp = EXPECT[name]
            if not matches(exp_udp, udp):
                wrong.append("%s udp: expected %s, got %s" % (name, exp_udp, udp))
            if exp_tcp is not None and not matches(exp_tcp, tcp):
                wrong.append("%s tcp: expected %s, got %s" % (name, exp_tcp, tcp))
            # One transaction, one final response.
            assert len([c for c in codes if c >= 200]) <= 1, (name, codes)
        assert not wrong, "\n".join(wrong) + "\n" + table
        # dblreq: the INVITE after the REGISTER's end in the same datagram is not a
        # message of its own (RFC 4475 3.1.1.8): no call ran for it.
        calls = [r["msg"] for r in s.records() if "ended:" in r.get("msg", "")]
        assert not any("dblreq.0ha0isnda977644900765" in c for c in calls), calls
        # Still alive, and an ordinary call with a REFER completes.
        assert s.proc.poll() is None
        res = sipp(workdir, "uac_refer_notify_200.xml", s.port, service="refer", timeout=20)
        assert res.rc == 0, res.out
        assert res.requests("REFER"), res.out
    assert s.exit_code == 0


if __name__ == "__main__":
    run()
