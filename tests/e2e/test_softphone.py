#!/usr/bin/env python3
"""A person with a softphone calls `make run`'s default route (examples/welcome.yaml with the
shipped config's media root): linphonec, a real SIP/RTP phone, hears the chime and the
spoken welcome, keys an extension with RFC 4733 digits, hears it read back and is
transferred by REFER to that extension, which answers (SIPp's built-in UAS)."""

import os
import subprocess
import time

import e2e
from e2e import Swmld, case, free_port, run
from rtp_peer import read_wav, speech_stats, tone_fraction, write_wav
from softphone import Softphone

ROOT = os.path.abspath(os.path.join(e2e.HERE, "..", ".."))


@case
def caller_hears_the_welcome_keys_an_extension_and_is_transferred(workdir):
    target_port = free_port()
    uas = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(target_port),
                            "-m", "1", "-nostdin", "-timeout", "90", "-timeout_error",
                            "-trace_msg", "-message_file", os.path.join(workdir, "uas.log")],
                           cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    silence = os.path.join(workdir, "mic.wav")
    write_wav(silence, [0] * 8000 * 30)
    heard = os.path.join(workdir, "heard.wav")
    try:
        routes = [{"swml": os.path.join(ROOT, "examples", "welcome.yaml"),
                   "params": {"target_host": f"127.0.0.1:{target_port}"}}]
        extra = {"media": {"root": os.path.join(ROOT, "examples", "sounds")},
                 "envs": {"company": "Example Incorporated"}}
        with Swmld(workdir, routes, extra=extra) as s, Softphone(workdir) as phone:
            phone.call(f"sip:100@127.0.0.1:{s.port}", play_wav=silence, record_wav=heard)
            # linphonec once took 21 s to send its INVITE beside an ASan run (CI, 2 cores).
            phone.wait_connected(timeout=45)
            # The chime and the welcome take about 3 s; keys barge into the prompt after it.
            time.sleep(4.0)
            phone.send_digits("12#")
            results = s.wait_event("refer_result", timeout=40)
            phone.wait_for(r"ended", timeout=20)
            log = s.text()
    finally:
        try:
            uas.wait(30)
        except subprocess.TimeoutExpired:
            uas.kill()
            uas.wait()
    r = results[0]
    assert r["to_uri"] == f"sip:12@127.0.0.1:{target_port}", r
    assert r["result"] == "success" and r["refer_code"] == 202 and r["sipfrags"][-1] == 200, r
    assert uas.returncode == 0, open(os.path.join(workdir, "uas.log"), errors="replace").read()[-2000:]
    pcm, rate = read_wav(heard)
    assert rate == 8000, rate
    first = next(i for i, x in enumerate(pcm) if abs(x) > 300)
    chime = pcm[first + 400:first + 2400]  # inside the 880 Hz note (0.35 s)
    assert tone_fraction(chime, 880) > 0.8, tone_fraction(chime, 880)
    # linphonec records the feedback tones of the keys it sends: find "1" and "#" (DTMF
    # 697+1209 Hz and 941+1477 Hz) to tell the welcome from the read-back.
    frames = [pcm[i:i + 160] for i in range(0, len(pcm) - 160, 160)]
    def key_frames(low, high):
        return [i * 160 for i, f in enumerate(frames) if tone_fraction(f, low) + tone_fraction(f, high) > 0.8]
    one, pound = key_frames(697, 1209), key_frames(941, 1477)
    assert one and pound and one[0] < pound[0], (one, pound)
    welcome = speech_stats(pcm[first + 7200:one[0]])  # after the chime (0.85 s)
    assert welcome.active_s >= 1.5, welcome
    readback = speech_stats(pcm[pound[-1] + 800:])  # "You keyed 1 2. Transferring you now."
    assert readback.active_s >= 1.5, readback

if __name__ == "__main__":
    run()
