#!/usr/bin/env python3
"""Recording end to end: an RtpPeer (the caller's media) sends known audio into `record` and
`record_call`; the test reads the file swmld wrote back and checks its format, its length and
that its audio is what was sent (a tone's frequency per channel), with the variables (revealed
by a `request`) and the calling.call.record callbacks. Also: `#` ends a recording, silence
after speech ends one (end_silence_timeout, speexdsp's detector), no speech at all is
no_input, record_call around a sip_refer captures both directions and is finished when the
caller hangs up, and an unwritable recording.dir is a clear failure, never a stuck call."""

import glob
import hashlib
import hmac
import json
import math
import os
import threading
import time
import wave

from e2e import HttpTestServer, Swmld, case, free_rtp_range, run, sipp
from rtp_peer import dominant_frequency, tone_pcm


def call_in_thread(workdir, port, peer, scenario="uac_media_listen.xml", timeout=30):
    """Starts one SIPp call whose media goes to `peer`; join() the thread for the result."""
    result = {}
    extra = ["-key", "rtp_port", str(peer.port)]
    if scenario == "uac_media_listen.xml":
        extra += ["-key", "pts", "0 101"]
    t = threading.Thread(target=lambda: result.update(
        res=sipp(workdir, scenario, port, timeout=timeout, extra=extra)))
    t.start()
    return t, result


def finished(t, result):
    t.join(60)
    assert not t.is_alive(), "sipp did not finish"
    assert result["res"].rc == 0, result["res"].out
    return result["res"]


def read_channels(path):
    """(channels as lists of int16, rate) of a 16-bit PCM WAV."""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, w.getsampwidth()
        ch, rate, raw = w.getnchannels(), w.getframerate(), w.readframes(w.getnframes())
    samples = [int.from_bytes(raw[i:i + 2], "little", signed=True) for i in range(0, len(raw), 2)]
    return [samples[c::ch] for c in range(ch)], rate


def vowel_pcm(seconds, rate=8000):
    """Speech-like audio: harmonics of a gliding 130 Hz voice under formants near 700, 1200
    and 2500 Hz, its loudness swinging at a syllable rate of 3 Hz."""
    out = []
    for n in range(int(seconds * rate)):
        t = n / rate
        f0 = 130 + 20 * math.sin(2 * math.pi * 0.7 * t)
        s = 0.0
        for k in range(1, 25):
            f = f0 * k
            a = (math.exp(-((f - 700) / 200) ** 2) + 0.6 * math.exp(-((f - 1200) / 250) ** 2)
                 + 0.3 * math.exp(-((f - 2500) / 300) ** 2))
            s += a * math.sin(2 * math.pi * f * t)
        out.append(int(max(-32000, min(32000, 6000 * s * (0.6 + 0.4 * math.sin(2 * math.pi * 3 * t))))))
    return out


def settings(rec, **more):
    """swmld's configuration sections: recordings under `rec`, RTP ports of their own (other
    runs on the machine use the default range)."""
    return dict({"recording": {"dir": rec}, "rtp": free_rtp_range(16)}, **more)


def file_of(url):
    assert url.startswith("file://"), url
    return url[len("file://"):]


def callbacks(http, path, count, timeout=10):
    http.wait_for(count, path=path, timeout=timeout)
    return [json.loads(r["body"]) for r in http.requests(path)]


RECORD_DOC = """
version: 1.0.0
sections:
  main:
    - answer
    - play: {url: "silence:0.2"}
    - record: %(record)s
    - request: {url: "%(vars)s", method: POST,
                body: {url: "${record_url}", result: "${record_result}"}}
    - hangup
"""


@case
def record_captures_the_callers_tone_until_the_terminator(workdir):
    rec = os.path.join(workdir, "rec")
    with HttpTestServer() as http:
        doc = RECORD_DOC % {"vars": http.url("/vars"), "record": json.dumps(
            {"status_url": http.url("/events"), "initial_timeout": 0, "end_silence_timeout": 0})}
        with Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc},
                   extra=settings(rec)) as s:
            from rtp_peer import RtpPeer
            with RtpPeer() as peer:
                t, result = call_in_thread(workdir, s.port, peer)
                src = peer.wait_for(1, timeout=10)[0].src
                peer.wait_quiet(150, timeout=5)  # the 0.2 s of silence played: record runs
                started = time.monotonic()
                peer.send_pcm(src, tone_pcm(440, 1000, dbfs=-10.0))
                peer.send_dtmf(src, "#")
                finished(t, result)
                took = time.monotonic() - started
            variables = callbacks(http, "/vars", 1)[0]
            events = callbacks(http, "/events", 2)
    assert variables["result"] == "success", variables
    path = file_of(variables["url"])
    assert path.startswith(rec + "/") and path.endswith(".wav"), path
    assert os.path.exists(path) and not glob.glob(rec + "/*/*.part"), os.listdir(os.path.dirname(path))
    (pcm,), rate = read_channels(path)
    seconds = len(pcm) / rate
    # From the end of the silence (the peer waited 0.15 s to see it end) to the '#': the
    # tone's second and the key's first packet.
    assert rate == 8000 and 1.0 <= seconds <= took + 0.1, (rate, seconds, took)
    assert abs(dominant_frequency(pcm[-6000:-2000]) - 440) <= 5, dominant_frequency(pcm)
    assert [e["params"]["state"] for e in events] == ["recording", "finished"], events
    done = events[1]["params"]
    assert done["url"] == variables["url"] and done["size"] == os.path.getsize(path), done
    assert abs(done["duration"] - seconds) < 0.001, done
    assert done["record"] == {"audio": {"format": "wav", "direction": "speak", "stereo": False}}
    assert all(e["event_type"] == "calling.call.record" for e in events), events


@case
def silence_after_speech_ends_an_mp3_recording_after_the_beep(workdir):
    rec = os.path.join(workdir, "rec")
    speech = vowel_pcm(1.5)
    with HttpTestServer() as http:
        doc = RECORD_DOC % {"vars": http.url("/vars"), "record": json.dumps(
            {"status_url": http.url("/events"), "beep": True, "format": "mp3",
             "end_silence_timeout": 1, "initial_timeout": 3})}
        with Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc},
                   extra=settings(rec)) as s:
            from rtp_peer import RtpPeer, pcm_from_packets
            with RtpPeer() as peer:
                t, result = call_in_thread(workdir, s.port, peer)
                src = peer.wait_for(1, timeout=10)[0].src
                peer.wait_quiet(300, timeout=5)  # silence 0.2 s, then the beep
                beep_end_ns = peer.packets()[-1].t_ns
                heard = pcm_from_packets(peer.packets(), payload_type=0)
                speech_at_ns = peer.now_ns()
                peer.send_pcm(src, speech + [0] * 8000 * 2)  # speech, then 2 s of silence
                finished(t, result)
            variables = callbacks(http, "/vars", 1)[0]
            events = callbacks(http, "/events", 2)
    beep = heard[1600:]  # after the 0.2 s of silence
    assert 0.2 <= len(beep) / 8000 <= 0.3 and abs(dominant_frequency(beep) - 1000) <= 5, len(beep)
    assert variables["result"] == "success", variables
    path = file_of(variables["url"])
    assert path.endswith(".mp3"), path
    with open(path, "rb") as f:
        head = f.read(4)
    assert head[:3] == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0), head
    done = events[1]["params"]
    assert done["state"] == "finished" and done["size"] == os.path.getsize(path), done
    # The recording started with the beep's end; then the peer's wait before the speech,
    # 1.5 s of speech, 1 s of silence (end_silence_timeout). The detector's frames and the
    # 40 ms of jitter buffer make up the rest.
    expected = (speech_at_ns - beep_end_ns) / 1e9 + 1.5 + 1.0
    assert abs(done["duration"] - expected) <= 0.2, (done, expected)


@case
def no_speech_is_no_input_and_an_unwritable_folder_fails_cleanly(workdir):
    blocker = os.path.join(workdir, "not-a-folder")
    with open(blocker, "w") as f:
        f.write("x")
    with HttpTestServer() as http:
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - record: {initial_timeout: 1, status_url: "%(events)s"}
    - request: {url: "%(vars)s", method: POST, body: {result: "${record_result}"}}
    - record_call: {status_url: "%(events)s", control_id: "broken"}
    - request: {url: "%(vars)s", method: POST, body: {result: "${record_call_result}"}}
    - hangup
""" % {"events": http.url("/events"), "vars": http.url("/vars")}
        with Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc},
                   extra=settings(os.path.join(workdir, "rec"))) as s:
            from rtp_peer import RtpPeer
            with RtpPeer() as peer:
                t, result = call_in_thread(workdir, s.port, peer)
                finished(t, result)
            first = callbacks(http, "/vars", 2)
            events = callbacks(http, "/events", 3)
        assert first[0] == {"result": "failed"}, first
        no_input = events[1]["params"]
        # Counted in samples (the writer's clock): exactly the timeout.
        assert no_input["state"] == "no_input" and no_input["duration"] == 1.0, no_input
        # The same call against a folder that cannot be made.
        with Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc},
                   extra=settings(os.path.join(blocker, "rec"))) as s:
            from rtp_peer import RtpPeer
            with RtpPeer() as peer:
                t, result = call_in_thread(workdir, s.port, peer)
                finished(t, result)
            log = s.text()
    assert "cannot create" in log and "not-a-folder" in log, log[-3000:]


@case
def record_call_around_sip_refer_captures_both_directions_in_stereo(workdir):
    rec = os.path.join(workdir, "rec")
    with HttpTestServer() as http:
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - record_call: {stereo: true, status_url: "%(events)s"}
    - play: {url: "ring:1.5:de"}
    - sip_refer: {to_uri: "sip:alice@example.com"}
    - request: {url: "%(vars)s", method: POST,
                body: {url: "${record_call_url}", result: "${record_call_result}",
                       id: "${record_control_id}", refer: "${sip_refer_result}"}}
    - hangup
""" % {"events": http.url("/events"), "vars": http.url("/vars")}
        with Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc},
                   extra=settings(rec)) as s:
            from rtp_peer import RtpPeer
            with RtpPeer() as peer:
                t, result = call_in_thread(workdir, s.port, peer, "uac_refer_media.xml")
                src = peer.wait_for(1, timeout=10)[0].src
                peer.send_pcm(src, tone_pcm(1000, 1500, dbfs=-10.0))
                finished(t, result)
            variables = callbacks(http, "/vars", 1)[0]
            events = callbacks(http, "/events", 2)
    assert variables["result"] == "success" and variables["refer"] == "success", variables
    assert [e["params"]["state"] for e in events] == ["recording", "finished"], events
    done = events[1]["params"]
    assert done["control_id"] == variables["id"], done
    assert done["record"]["url"] == variables["url"] and done["record"]["format"] == "wav", done
    (left, right), rate = read_channels(file_of(variables["url"]))
    # Left: what the caller said (the peer's 1 kHz); right: what it heard (German ringback).
    assert rate == 8000 and abs(len(left) / rate - done["record"]["duration"]) < 0.001, done
    assert len(left) / rate >= 1.5, len(left)
    assert abs(dominant_frequency(left[2400:10400]) - 1000) <= 5, dominant_frequency(left)
    assert abs(dominant_frequency(right[2400:10400]) - 425) <= 5, dominant_frequency(right)


@case
def uploads_are_signed_retried_and_a_failed_one_is_reported(workdir):
    rec = os.path.join(workdir, "rec")
    with HttpTestServer() as http:
        # The first call's upload: 503, then 200 (a retry); the second's: 500 every time.
        http.script("/up", [{"status": 503}, {"status": 200}, {"status": 500}])
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - record_call: {control_id: "c1", status_url: "%(events)s"}
    - play: {url: "ring:0.6:de"}
    - stop_record_call: {}
    - request: {url: "%(vars)s", method: POST,
                body: {url: "${record_call_url}", stop: "${stop_record_call_result}"}}
    - hangup
""" % {"events": http.url("/events"), "vars": http.url("/vars")}
        extra = {"rtp": free_rtp_range(16),
                 "recording": {"dir": rec, "url": "https://recordings.example.com/{path}",
                               "upload": {"url": http.url("/up?f={path}&id={control_id}"),
                                          "bearer_token": "tok-123", "retries": 2,
                                          "keep_local": True}},
                 "http": {"signing_secret": "s3cret"}}
        with Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc}, extra=extra) as s:
            from rtp_peer import RtpPeer
            for i in range(2):
                with RtpPeer() as peer:
                    t, result = call_in_thread(workdir, s.port, peer)
                    finished(t, result)
            variables = callbacks(http, "/vars", 2)
            puts = http.requests("/up")
            events = callbacks(http, "/events", 4)
            log = s.text()
    first, second = variables
    assert first["stop"] == "success" and second["stop"] == "failed", variables
    assert first["url"].startswith("https://recordings.example.com/") and first["url"].endswith("-1.wav"), first
    assert len(puts) == 2 + 3, [p["path"] for p in puts]  # 503 then 200; 500 three times
    rel = first["url"][len("https://recordings.example.com/"):]
    path = os.path.join(rec, rel)
    with open(path, "rb") as f:
        audio = f.read()
    for put in puts[:2]:
        h = put["headers"]
        assert put["method"] == "PUT" and put["path"] == "/up?f=%s&id=c1" % rel, put["path"]
        assert h["authorization"] == "Bearer tok-123" and h["content-type"] == "audio/wav", h
        assert int(h["content-length"]) == len(audio) == os.path.getsize(path), h
        url = http.url("/up?f=%s&id=c1" % rel)
        want = hmac.new(b"s3cret", url.encode() + audio, hashlib.sha1).hexdigest()
        assert h["x-signalwire-signature"] == want, (h, want)
    states = [e["params"]["state"] for e in events]
    assert states == ["recording", "finished", "recording", "error"], states
    assert events[1]["params"]["record"]["url"] == first["url"], events[1]
    # The failed upload: reported, and the file kept.
    assert "failed after 3 attempt(s): HTTP 500; the file is kept" in log, log[-2000:]
    assert os.path.exists(os.path.join(rec, second["url"][len("https://recordings.example.com/"):]))
    assert "tok-123" not in log


@case
def sigterm_finishes_a_running_record_call_and_sends_its_callback(workdir):
    rec = os.path.join(workdir, "rec")
    with HttpTestServer() as http:
        doc = """
version: 1.0.0
sections:
  main:
    - answer
    - record_call: {format: mp3, status_url: "%s"}
    - play: {url: "silence:30"}
    - hangup
""" % http.url("/events")
        s = Swmld(workdir, [{"swml": "d.yaml"}], documents={"d.yaml": doc},
                  extra=settings(rec, shutdown={"drain_timeout": 1}))
        with s:
            from rtp_peer import RtpPeer
            with RtpPeer() as peer:
                t, result = call_in_thread(workdir, s.port, peer)
                peer.wait_for(10, timeout=10)  # the call plays
                s.stop()  # SIGTERM: the call is ended after drain_timeout
                t.join(40)
            events = callbacks(http, "/events", 2)
            log = s.text()
    assert s.exit_code == 0
    assert [e["params"]["state"] for e in events] == ["recording", "finished"], events
    done = events[1]["params"]["record"]
    path = os.path.join(rec, done["url"][len("file://" + rec) + 1:])
    assert done["format"] == "mp3" and done["size"] == os.path.getsize(path) > 0, done
    assert 1.0 <= done["duration"] <= 3.0, done
    assert not glob.glob(rec + "/*/*.part"), os.listdir(rec)
    assert "callback dropped" not in log, log[-2000:]


if __name__ == "__main__":
    run()
