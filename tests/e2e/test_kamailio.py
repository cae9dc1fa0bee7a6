"""e2e: two swmld nodes behind Kamailio (examples/kamailio/, docs/scaling.md).

Kamailio runs the operator's file examples/kamailio/kamailio.cfg itself, in the foreground
(-DD -E) on a free loopback port with its own runtime dir and pid file; the test generates
only the addresses (the dispatcher list and -A defines). SIPp places REFER calls
(tests/e2e/sipp/uac_refer_via_proxy.xml) through it. Checked: every call succeeds (SIPp's
exit code and counters), round-robin gives both nodes calls (their /metrics and logs agree),
a node drained with SIGTERM under load takes no new call, loses none and exits 0, and a node
that does not answer at all is skipped after FR_TIMER_MS.
"""

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import e2e
from e2e import Swmld, case, free_port, run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KAMAILIO_CFG = os.path.join(ROOT, "examples", "kamailio", "kamailio.cfg")
SCENARIO = os.path.join(e2e.SIPP_DIR, "uac_refer_via_proxy.xml")
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
KAMCMD = shutil.which("kamcmd") or "/usr/sbin/kamcmd"

REFER_DOC = """
version: 1.0.0
sections:
  main:
    - answer
    - sip_refer:
        to_uri: "sip:target@127.0.0.1:5999"
    - hangup
"""


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(step)
    if not pred():
        raise AssertionError(f"not within {timeout}s: {what}")


def udp_bound(port):
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        return any(len(l.split()) > 1 and l.split()[1] == want for l in list(f)[1:])


class Node(Swmld):
    """An swmld node: its own folder, RTP range and metrics port; the REFER document."""

    def __init__(self, workdir, index, drain_min=0):
        folder = os.path.join(workdir, f"node{index}")
        os.makedirs(folder)
        self.metrics_port = free_port()
        rtp = 40000 + 500 * index
        super().__init__(folder, [{"name": f"node{index}", "swml": "refer.yaml"}],
                         documents={"refer.yaml": REFER_DOC},
                         extra={"sip": {"ring": False},  # no 180 to be overtaken by the 200
                                "rtp": {"port_min": rtp, "port_max": rtp + 499},
                                "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"},
                                "shutdown": dict({"drain_timeout": 20},
                                                 **({"drain_min": drain_min} if drain_min else {}))})
        self.uri = f"sip:127.0.0.1:{self.port}"

    def metric(self, name):
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return int(float(line.split()[1]))
        return 0

    def call_starts(self):
        """Timestamps of the calls this node admitted (their debug 'from=... source=' line)."""
        return [r["ts"] for r in self.records()
                if r.get("msg", "").startswith("call=") and " source=" in r.get("msg", "")]

    def refer_successes(self):
        return [r for r in self.events("refer_result") if r.get("result") == "success"]

    def drain_started(self):
        """When the SIP stack began answering 503 (the line begin_drain logs on the SIP thread)."""
        for r in self.records():
            if r.get("msg", "").startswith("sip: draining"):
                return r["ts"]
        return None


class Kamailio:
    """kamailio -f examples/kamailio/kamailio.cfg in the foreground, on a free loopback port."""

    def __init__(self, workdir, node_uris, ping_s=1, fr_timer_ms=3000):
        self.dir = os.path.join(workdir, "kamailio")
        self.run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.run_dir)
        self.port = free_port()
        # relative to its working directory (-w): a unix socket path must stay under 108 bytes
        self.ctl = os.path.join(self.dir, "kamailio_ctl")
        self.list_path = os.path.join(self.dir, "dispatcher.list")
        with open(self.list_path, "w") as f:
            for i, uri in enumerate(node_uris, 1):
                f.write(f"1 {uri} 0 0 duid=node{i};maxload=500\n")
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.cmd = [KAMAILIO, "-f", KAMAILIO_CFG, "-DD", "-E",
                    "-Y", self.run_dir, "-P", os.path.join(self.run_dir, "kamailio.pid"),
                    "-m", "64", "-M", "8", "-w", self.dir,
                    "-A", f"LISTEN=udp:127.0.0.1:{self.port}",
                    "-A", f'DS_LIST="{self.list_path}"',
                    "-A", f"DS_PING_S={ping_s}", "-A", f"FR_TIMER_MS={fr_timer_ms}",
                    "-A", "CHILDREN=2", "-A", "WITH_CTL", "-A", 'CTL_SOCK="unix:kamailio_ctl"']
        self.proc = None

    def __enter__(self):
        assert os.path.exists(KAMAILIO), "kamailio not installed: run scripts/install-deps"
        self._log = open(self.log_path, "w")
        # Its own session: the children it forks are stopped with it (killpg of this group).
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_for(lambda: self.proc.poll() is None and udp_bound(self.port) and os.path.exists(self.ctl),
                     10, "kamailio listening (see %s)" % self.log_path)
        except AssertionError:
            self.__exit__()
            raise AssertionError(f"kamailio did not start: {self.text()[-3000:]}")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # whatever of its children is left
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self._log.close()

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def states(self):
        """{node URI: dispatcher flags} from kamcmd dispatcher.list (AP active, IP inactive...)."""
        out = subprocess.run([KAMCMD, "-s", "unix:kamailio_ctl", "dispatcher.list"], capture_output=True,
                             text=True, timeout=10, cwd=self.dir).stdout
        states, uri = {}, None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("URI:"):
                uri = line.split(None, 1)[1]
            elif line.startswith("FLAGS:") and uri:
                states[uri] = line.split(None, 1)[1]
        return states


class Calls:
    """SIPp placing `calls` REFER calls at `rate`/s through Kamailio, in the background."""

    def __init__(self, workdir, port, calls, rate, timeout=45):
        self.workdir, self.calls = workdir, calls
        self.stat = os.path.join(workdir, "sipp_stat.csv")
        self.out_path = os.path.join(workdir, "sipp.out")
        cmd = ["sipp", "-sf", SCENARIO, "-s", "swml", f"127.0.0.1:{port}", "-i", "127.0.0.1",
               "-p", str(free_port()), "-mp", str(free_port()), "-t", "u1",
               "-r", str(rate), "-m", str(calls), "-l", str(calls), "-nostdin",
               "-timeout", f"{timeout}s", "-timeout_error", "-trace_err",
               "-error_file", os.path.join(workdir, "sipp_errors.log"),
               "-trace_stat", "-stf", self.stat, "-fd", "1", "-trace_screen",
               "-trace_msg", "-message_file", os.path.join(workdir, "sipp_messages.log"),
               # A 200 to a retransmitted NOTIFY may come after the BYE (UNEXPECTED_OK below):
               # note it and go on instead of aborting the call.
               "-default_behaviors", "all,-abortunexp"]
        self._out = open(self.out_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, cwd=workdir)
        self.timeout = timeout

    def wait(self):
        """SIPp's exit code and its final counters {successful, failed, created}."""
        try:
            rc = self.proc.wait(self.timeout + 15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._out.close()
        rows = open(self.stat, errors="replace").read().splitlines() if os.path.exists(self.stat) else []
        head = rows[0].rstrip(";").split(";") if rows else []
        last = dict(zip(head, rows[-1].rstrip(";").split(";"))) if len(rows) > 1 else {}
        counters = {k: int(last.get(f, 0) or 0) for k, f in
                    (("successful", "SuccessfulCall(C)"), ("failed", "FailedCall(C)"),
                     ("created", "TotalCallCreated"))}
        return rc, counters

    def errors(self):
        p = os.path.join(self.workdir, "sipp_errors.log")
        return open(p, errors="replace").read() if os.path.exists(p) else ""


# The messages a call may receive out of its script, both retransmissions answered already
# (no answer within 500 ms when this busy machine stalls a process): the 200 to a NOTIFY SIPp
# retransmitted, arriving after the call moved on, and a REFER whose 202 was late.
UNEXPECTED_OK = re.compile(r"\A(SIP/2\.0 200 OK$.*^CSeq: 2 NOTIFY$|REFER .*^CSeq: \d+ REFER$)", re.M | re.S)


def assert_all_succeeded(calls, rc, counters):
    errors = calls.errors()
    assert rc == 0, f"SIPp exited {rc}: {counters} {errors[-3000:]}"
    assert "unexpected BYE" not in errors, errors[-3000:]
    for part in errors.split("Continuing call on unexpected message")[1:]:
        message = part.split("received '", 1)[1].split("'", 1)[0].replace("\r", "")
        assert UNEXPECTED_OK.search(message), "unexpected message: " + message
    assert counters == {"successful": calls.calls, "failed": 0, "created": calls.calls}, \
        f"{counters} {errors[-3000:]}"


@case
def calls_through_kamailio_all_succeed_on_both_nodes(workdir):
    with Node(workdir, 1) as a, Node(workdir, 2) as b, Kamailio(workdir, [a.uri, b.uri]) as kam:
        wait_for(lambda: kam.states() == {a.uri: "AP", b.uri: "AP"}, 10, "both nodes probed active")
        calls = Calls(workdir, kam.port, 200, 50)
        rc, counters = calls.wait()
        assert_all_succeeded(calls, rc, counters)
        taken = {n.uri: n.metric("swmld_calls_total") for n in (a, b)}
        # round-robin: both nodes took calls, between them every call, each about half
        assert sum(taken.values()) == 200, taken
        assert min(taken.values()) >= 60, taken
        for n in (a, b):
            wait_for(lambda: len(n.refer_successes()) == taken[n.uri], 5,
                     f"{n.uri}: a refer_result success per call taken")
            assert n.metric("swmld_calls_active") == 0
        assert "failover" not in kam.text(), kam.text()[-3000:]


@case
def sigterm_on_a_node_under_load_moves_new_calls_to_the_other_without_a_failed_call(workdir):
    # Node 2 keeps answering 503 for 2 s after SIGTERM (shutdown.drain_min, more than the 1 s
    # probe interval), so Kamailio takes it out on a 503 (an INVITE's or a probe's) before
    # it is gone: no INVITE is sent to a node that no longer answers.
    with Node(workdir, 1) as a, Node(workdir, 2, drain_min=2) as b, Kamailio(workdir, [a.uri, b.uri]) as kam:
        wait_for(lambda: kam.states() == {a.uri: "AP", b.uri: "AP"}, 10, "both nodes probed active")
        calls = Calls(workdir, kam.port, 400, 50)
        # Drain b once it has some calls behind it and the load is still running (~2 s in).
        wait_for(lambda: b.metric("swmld_calls_total") >= 40, 20, "node 2 took 40 calls")
        b_before = b.metric("swmld_calls_total")
        sigterm_at = time.time()
        b.proc.send_signal(signal.SIGTERM)
        assert b.proc.wait(25) == 0, "the drained node did not exit 0"
        assert time.time() - sigterm_at >= 2, "the drained node left before shutdown.drain_min"
        assert calls.proc.poll() is None, "the load ended before the drained node exited"
        rc, counters = calls.wait()
        assert_all_succeeded(calls, rc, counters)

        drained_at = b.drain_started()
        assert drained_at, b.text()[-2000:]
        b_starts, a_starts = b.call_starts(), a.call_starts()
        late = [t for t in b_starts if t > drained_at]
        assert not late, f"node 2 admitted {len(late)} call(s) after it began draining"
        assert len(b_starts) >= b_before, (len(b_starts), b_before)
        assert len(a_starts) + len(b_starts) == 400, (len(a_starts), len(b_starts))
        assert len([t for t in a_starts if t > drained_at]) >= 100, "node 1 did not take the new calls"
        # every call the drained node had taken was finished, none lost
        assert len(b.refer_successes()) == len(b_starts), (len(b.refer_successes()), len(b_starts))
        assert "swmld stopped" in b.text()
        assert a.metric("swmld_calls_total") == len(a_starts)
        # Kamailio saw it go on a 503 (to an INVITE: failover; to a probe: dst-down), never on
        # a timeout, and its dispatcher now holds it inactive.
        text = kam.text()
        assert f"failover: node {b.uri} gave 503" in text or "is down (inactive)" in text, text[-3000:]
        assert "gave 408" not in text, text[-3000:]
        wait_for(lambda: kam.states().get(b.uri, "").startswith("I"), 5, "node 2 inactive in dispatcher")
        assert kam.states().get(a.uri) == "AP", kam.states()


@case
def a_node_that_answers_nothing_is_skipped_after_fr_timer(workdir):
    # A dispatcher entry where nothing listens (a dead node). Probing is slowed to 60 s so
    # that the first INVITE sent there meets the dead node, not a probe's verdict.
    dead = f"sip:127.0.0.1:{free_port()}"
    fr_timer_ms, rate = 1500, 5
    with Node(workdir, 1) as a, Kamailio(workdir, [dead, a.uri], ping_s=60, fr_timer_ms=fr_timer_ms) as kam:
        calls = Calls(workdir, kam.port, 20, rate)
        rc, counters = calls.wait()
        assert_all_succeeded(calls, rc, counters)
        assert a.metric("swmld_calls_total") == 20
        text = kam.text()
        assert f"failover: node {dead} gave 408" in text, text[-3000:]
        # The first timeout marks it inactive (ds_mark_dst "ip"): only the INVITEs sent to it
        # before that (within FR_TIMER_MS of the first) failed over; no later call went there.
        failed_over = [int(m) for m in re.findall(r"failover: node %s gave 408; trying the next one "
                                                  r"for (\d+)-" % re.escape(dead), text)]
        assert failed_over and max(failed_over) <= rate * (fr_timer_ms / 1000 + 1) + 2, failed_over
        assert f"failover: node {a.uri}" not in text, text[-3000:]
        assert kam.states().get(dead, "").startswith("I"), kam.states()


if __name__ == "__main__":
    run()
