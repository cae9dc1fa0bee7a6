#!/usr/bin/env python3
"""linphonec (Debian linphone-cli) as a headless softphone for the e2e tests.

A real SIP/RTP client on loopback: it plays a WAV file as its microphone, records what it
hears into a WAV file, sends RFC 4733 digits, answers (auto_answer=True) and follows REFER.
Set-up as measured in /work/shared/peers/linphone/README.md: its own HOME with
.local/share/linphone, a fresh copy of tests/e2e/peers/linphonerc with free ports, file
audio switched on by commands after start.

    from softphone import Softphone
    with Softphone(workdir) as phone:              # starts linphonec (about 2 s)
        phone.call(f"sip:swml@127.0.0.1:{s.port}", play_wav=IN, record_wav=OUT)
        phone.wait_connected(timeout=10)           # raises AssertionError at the deadline
        phone.send_digits("12#")                   # only once connected; ~1 s per digit
        phone.wait_for(r"ended", timeout=30)       # e.g. swmld hung up
    # leaving the block: 'terminate all', 'quit', killed if still running after 5 s
    pcm, rate = rtp_peer.read_wav(OUT)             # what linphonec heard

stdout (``phone.text()``) has ``Call N with <uri> connected.``, ``Call N with <uri> ended
(...).``, ``Receiving tone D`` and ``error.`` (any failure; the SIP code is only in
``phone.log_path``, linphonec's -d 6 log). linphonec always exits 0.
Files in workdir/<name>/: linphonerc, stdout.log, debug.log, home/.

Callee mode: ``Softphone(workdir, auto_answer=True)``, then ``phone.use_files(IN, OUT)`` and
dial ``phone.uri`` (sip:lp@127.0.0.1:<phone.sip_port>).

What linphonec 5.1.65 does on the wire (measured 2026-12 against SIPp and rtp_peer.RtpPeer):
- offers ``m=audio P RTP/AVP 0 8 96``, telephone-event on 96; it sends digits with 96, its
  own offered number, even when the answer maps telephone-event to 101;
- a digit: 100 ms event, marker on the first packet, 4 updates 20 ms apart (durations 160,
  320, 480, 640) then 3 end packets (800) back to back with one sequence number, volume 10;
  digits 1 s apart; the audio stream pauses for the event (its ts jumps by 800) and shares
  the sequence numbers;
- audio: 20 ms packets from its RTP port, no marker bit on the first; 2 STUN binding
  requests (20 bytes, not RTP) from the same port at the start of each call;
- records at 8 kHz mono 16-bit; prints "Receiving tone D from <uri>" for each RFC 4733
  digit it receives (checked with uac_dtmf_2833.xml: 1, 2, #).
- tests/e2e/peers/linphonerc is /work/shared/peers/linphone/linphonerc (opus, speex, G729
  disabled); it is copied per instance because linphonec rewrites its config on exit.
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e import free_port  # noqa: E402

LINPHONERC = os.path.join(HERE, "peers", "linphonerc")
START_DELAY = 2.0      # linphonec takes commands before it is ready; the README's 2 s
DIGIT_SECONDS = 1.0    # each digit blocks linphonec's SIP handling for about 1 s
# "Call 1 with sip:x@127.0.0.1:5060 connected." / "Call 1 with "sipp" <sip:...> ended (...)."
CALL_STATE = r"Call \d+ with .+ (connected|ended)"


class Softphone:
    """One linphonec process. Every wait has a deadline; the process never outlives the
    `with` block."""

    def __init__(self, workdir, name="linphone", auto_answer=False):
        self.dir = os.path.join(workdir, name)
        self.home = os.path.join(self.dir, "home")
        os.makedirs(os.path.join(self.home, ".local", "share", "linphone"))  # else no SIP port
        self.sip_port = free_port()
        self.rtp_port = free_port()
        self.config_path = os.path.join(self.dir, "linphonerc")
        self.out_path = os.path.join(self.dir, "stdout.log")
        self.log_path = os.path.join(self.dir, "debug.log")
        self.uri = f"sip:lp@127.0.0.1:{self.sip_port}"
        self._write_config()
        self.auto_answer = auto_answer
        self.proc = None

    def _write_config(self):
        # linphonec rewrites its config on exit: always start from the pristine copy.
        text = open(LINPHONERC).read()
        for key, value in (("sip_port", self.sip_port), ("contact", self.uri),
                           ("audio_rtp_port", self.rtp_port)):
            text, n = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
            assert n == 1, f"{LINPHONERC}: no single '{key}='"
        with open(self.config_path, "w") as f:
            f.write(text)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.quit()

    def start(self):
        cmd = ["linphonec", "-c", self.config_path, "-d", "6", "-l", self.log_path]
        if self.auto_answer:
            cmd.append("-a")
        self._out = open(self.out_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self._out,
                                     stderr=subprocess.STDOUT, cwd=self.dir, text=True,
                                     env=dict(os.environ, HOME=self.home))
        time.sleep(START_DELAY)
        if self.proc.poll() is not None:
            raise AssertionError(f"linphonec exited at start: {self.text()[-2000:]}")

    def command(self, line):
        """Sends one line to linphonec's prompt."""
        if self.proc.poll() is not None:
            raise AssertionError(f"linphonec is not running; sent {line!r}")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def use_files(self, play_wav=None, record_wav=None):
        """File audio: play_wav (8 kHz mono 16-bit) as the microphone, record_wav for what
        it hears. Takes effect for the next call."""
        self.command("soundcard use files")
        if play_wav:
            self.command(f"play {os.path.abspath(play_wav)}")
        if record_wav:
            self.command(f"record {os.path.abspath(record_wav)}")

    def call(self, uri, play_wav=None, record_wav=None):
        self.use_files(play_wav, record_wav)
        self.command(f"call {uri}")

    def send_digits(self, digits):
        """RFC 4733 digits on the current call; never before it is connected (linphonec
        crashed once), so this checks that the last call state printed is 'connected'.
        Returns after DIGIT_SECONDS per digit."""
        assert re.fullmatch(r"[0-9*#A-D]+", digits), digits
        states = re.findall(CALL_STATE, self.text())
        assert states and states[-1] == "connected", f"digits {digits!r} with no call connected"
        self.command(digits)
        time.sleep(DIGIT_SECONDS * len(digits))

    def hangup(self):
        self.command("terminate all")

    def quit(self, timeout=5):
        """Ends every call, quits, kills linphonec if it has not exited within `timeout`."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.command("terminate all")
                self.command("quit")
                self.proc.stdin.close()
            except (OSError, AssertionError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()

    def text(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def wait_for(self, regex, timeout=10, count=1):
        """Waits until `regex` matches `count` times in linphonec's stdout; returns the last
        match. Raises AssertionError at the deadline or if linphonec exits first."""
        deadline = time.monotonic() + timeout
        while True:
            exited = self.proc.poll() is not None  # before reading: its last words count
            found = list(re.finditer(regex, self.text()))
            if len(found) >= count:
                return found[count - 1]
            if exited or time.monotonic() >= deadline:
                raise AssertionError(f"linphonec: {count} x /{regex}/ not seen within {timeout}s"
                                     f" (log {self.out_path}):\n{self.text()[-1500:]}")
            time.sleep(0.05)

    def wait_connected(self, timeout=10):
        return self.wait_for(r"Call \d+ with .+ connected\.", timeout)
