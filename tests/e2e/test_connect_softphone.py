#!/usr/bin/env python3
"""connect between two real softphones: linphonec A calls swmld, whose document connects it
to linphonec B (auto-answer); A's microphone is a 1 kHz tone, B's a 2 kHz one; each records
what it hears, and each must hear the other's tone through swmld's relay."""

import os
import time

from e2e import Swmld, case, free_rtp_range, run
from rtp_peer import read_wav, tone_fraction, tone_pcm, write_wav
from softphone import Softphone


def own_rtp(extra=None):
    """The test's configuration with its own RTP ports: other runs on this machine use the
    default 40000-40999 too, and a leg that finds 8 ports taken fails (`error`)."""
    return dict(extra or {}, rtp=free_rtp_range(20))


def seconds_of(pcm, freq, rate=8000):
    """Seconds of 100 ms frames that are mostly `freq` (>= 80% of their energy)."""
    n = rate // 10
    frames = [pcm[i:i + n] for i in range(0, len(pcm) - n + 1, n)]
    return sum(1 for f in frames if max(abs(x) for x in f) > 300 and tone_fraction(f, freq) > 0.8) / 10


@case
def two_softphones_hear_each_others_tone(workdir):
    a_mic, b_mic = os.path.join(workdir, "a_mic.wav"), os.path.join(workdir, "b_mic.wav")
    a_heard, b_heard = os.path.join(workdir, "a_heard.wav"), os.path.join(workdir, "b_heard.wav")
    write_wav(a_mic, tone_pcm(1000, 12000))
    write_wav(b_mic, tone_pcm(2000, 12000))
    with Softphone(workdir, name="b", auto_answer=True) as b:
        b.use_files(b_mic, b_heard)
        doc = ("version: 1.0.0\nsections:\n  main:\n    - answer: {}\n"
               f"    - connect: {{to: \"{b.uri}\"}}\n    - hangup: {{}}\n")
        with Swmld(workdir, [{"name": "all", "swml": "doc.yaml"}],
                   documents={"doc.yaml": doc}, extra=own_rtp()) as s, Softphone(workdir, name="a") as a:
            a.call(f"sip:swml@127.0.0.1:{s.port}", play_wav=a_mic, record_wav=a_heard)
            # linphonec once took 21 s to send its INVITE beside an ASan run (CI, 2 cores).
            a.wait_connected(timeout=45)
            b.wait_connected(timeout=45)
            rec = s.wait_event("connect_result", timeout=15)[0]
            time.sleep(4.0)  # talk
            a.hangup()
            a.wait_for(r"ended", timeout=10)
            b.wait_for(r"ended", timeout=10)  # swmld hung up the callee's leg
    assert rec["result"] == "connected", rec
    pcm_a, rate_a = read_wav(a_heard)
    pcm_b, rate_b = read_wav(b_heard)
    assert rate_a == rate_b == 8000, (rate_a, rate_b)
    # Each heard the other for most of the 4 s they talked, and never its own tone.
    print(f"A heard 2 kHz {seconds_of(pcm_a, 2000)} s, B heard 1 kHz {seconds_of(pcm_b, 1000)} s")
    assert seconds_of(pcm_a, 2000) >= 3.0, seconds_of(pcm_a, 2000)
    assert seconds_of(pcm_b, 1000) >= 3.0, seconds_of(pcm_b, 1000)
    assert seconds_of(pcm_a, 1000) == 0 and seconds_of(pcm_b, 2000) == 0, \
        (seconds_of(pcm_a, 1000), seconds_of(pcm_b, 2000))


if __name__ == "__main__":
    run()
