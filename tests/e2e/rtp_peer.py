#!/usr/bin/env python3
"""An RTP peer and audio checks for the e2e tests (Python 3 standard library only, no numpy).

Tests use it as the far end of swmld's media: it receives what swmld sends (with kernel
receive timestamps), sends RTP and RFC 4733 digits back from the same port (symmetric RTP),
and turns what arrived into numbers a test can assert exactly.

    from rtp_peer import RtpPeer, analyse, pcm_from_packets, dominant_frequency, dtmf_events
    with RtpPeer() as peer:                      # UDP 127.0.0.1, free port: peer.port
        ... offer m=audio <peer.port> in the SDP (sipp -key rtp_port <peer.port>) ...
        pkts = peer.wait_for(50, timeout=5)      # raises AssertionError after 5 s
        peer.send_dtmf(pkts[0].src, "5")         # to where swmld sends from (20 ms paced)
        peer.wait_quiet(500, timeout=30)         # until nothing arrived for 0.5 s
        pkts = peer.packets()
    st = analyse(pkts, payload_type=0)           # count, lost, ts_exact, p50_ms, sources, ...
    assert st.lost == 0 and st.ts_exact and 18 <= st.p50_ms <= 22, st.summary()
    pcm = pcm_from_packets(pkts, payload_type=0) # int16 list, placed by RTP timestamp
    assert abs(dominant_frequency(pcm) - 1000) <= 20
    assert "".join(e.digit for e in dtmf_events(pkts, pt=101)) == "12#"
    write_wav(os.path.join(workdir, "heard.wav"), pcm)   # keep it when the test fails

Also: send_rtp/send_payloads/send_pcm (paced PCMU/PCMA), parse_rtp/build_rtp (CSRC,
extension, padding), parse_rfc4733, decode_ulaw/decode_alaw/encode_*, tone_pcm,
goertzel_power/tone_fraction (energy at one frequency), zero_crossing_frequency, rms_dbfs,
speech_stats (active 20 ms frames, segments: "speech of plausible length"), read_wav.
analyse() counts non-RTP datagrams apart (linphonec sends STUN from its RTP port).

Packets are ``Packet(t_ns, src, data)``: t_ns is the kernel's receive time (SO_TIMESTAMPNS,
CLOCK_REALTIME) or, where the kernel gives none, time.monotonic_ns() at recvmsg; compare
times of one peer with each other or with ``peer.now_ns()``, never with another clock.

Self-test (two peers on loopback: a paced 1 kHz PCMU tone and a digit):

    python3 tests/e2e/rtp_peer.py --selftest
"""

import argparse
import collections
import dataclasses
import math
import random
import socket
import struct
import sys
import threading
import time
import wave

# Linux: SO_TIMESTAMPNS == SCM_TIMESTAMPNS == 35 (asm-generic); Python 3.11 has no constant.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")  # struct timespec {time_t tv_sec; long tv_nsec;} on 64-bit

Packet = collections.namedtuple("Packet", "t_ns src data")


# ----------------------------------------------------------------------------------------
# The peer


class RtpPeer:
    """A UDP socket on host:port that records every datagram in a background thread.

    Send from it too (symmetric RTP). ``close()`` (or leaving the ``with`` block) stops the
    thread within about 0.2 s. The send helpers block while they pace (20 ms per packet).
    """

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self.kernel_timestamps = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            self.kernel_timestamps = False
        self.sock.settimeout(0.1)  # how often the thread looks at the stop flag
        self._packets = []
        self.receive_errors = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        # Sender state for the send_* helpers; send_rtp takes every field explicitly.
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self._thread = threading.Thread(target=self._receive, name=f"rtp-peer-{self.port}",
                                        daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    @property
    def address(self):
        return (self.host, self.port)

    def now_ns(self):
        """The current time on the clock of the packets' t_ns."""
        return time.time_ns() if self.kernel_timestamps else time.monotonic_ns()

    # Runs on the receive thread.
    def _receive(self):
        anc = socket.CMSG_SPACE(_TIMESPEC.size)
        while not self._stop.is_set():
            try:
                data, ancdata, _flags, src = self.sock.recvmsg(65535, anc)
            except socket.timeout:
                continue
            except OSError:
                # A receive error is counted, not fatal (Linux reports no ICMP port
                # unreachable on an unconnected socket: measured); stop once closed.
                if self._stop.is_set() or self.sock.fileno() < 0:
                    break
                self.receive_errors += 1
                continue
            t_ns = None
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack(value[:_TIMESPEC.size])
                    t_ns = sec * 1_000_000_000 + nsec
            if t_ns is None:
                t_ns = self.now_ns()
            with self._cond:
                self._packets.append(Packet(t_ns, src, data))
                self._cond.notify_all()

    def packets(self):
        """A copy of everything received so far, in arrival order."""
        with self._cond:
            return list(self._packets)

    def clear(self):
        with self._cond:
            self._packets.clear()

    def wait_for(self, count=1, timeout=5.0, pt=None):
        """Waits until `count` packets (of payload type `pt`, if given) arrived; returns all
        packets. Raises AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                have = self._packets if pt is None else [
                    p for p in self._packets if (parse_rtp(p.data) or _NOT_RTP).pt == pt]
                if len(have) >= count:
                    return list(self._packets)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"RtpPeer :{self.port}: {len(have)} of {count} "
                                         f"packets (pt={pt}) within {timeout}s")
                self._cond.wait(left)

    def wait_quiet(self, quiet_ms=500, timeout=30.0):
        """Waits until nothing arrived for `quiet_ms` (after at least one packet); returns
        all packets. Raises AssertionError if the stream does not stop by the deadline."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if self._packets:
                    idle_ms = (self.now_ns() - self._packets[-1].t_ns) / 1e6
                    if idle_ms >= quiet_ms:
                        return list(self._packets)
                if now >= deadline:
                    raise AssertionError(f"RtpPeer :{self.port}: no {quiet_ms} ms of quiet "
                                         f"within {timeout}s ({len(self._packets)} packets)")
                self._cond.wait(min(0.05, deadline - now))

    # --- sending (on the caller's thread) ---

    def send_rtp(self, dest, payload, pt, seq, ts, ssrc=None, marker=False, csrc=(),
                 extension=None, padding=0):
        """One RTP packet from this socket; see build_rtp for the fields."""
        ssrc = self.ssrc if ssrc is None else ssrc
        self.sock.sendto(build_rtp(payload, pt, seq, ts, ssrc, marker, csrc, extension,
                                   padding), dest)

    def send_payloads(self, dest, payloads, pt=0, ptime_ms=20, marker_first=True):
        """Sends each payload (bytes) paced every ptime_ms on an absolute schedule, advancing
        seq by one and ts by the payload length (G.711: one byte per sample)."""
        t0 = time.monotonic()
        for i, payload in enumerate(payloads):
            _sleep_until(t0 + i * ptime_ms / 1000)
            self.send_rtp(dest, payload, pt, self.seq, self.ts,
                          marker=marker_first and i == 0)
            self.seq = (self.seq + 1) & 0xFFFF
            self.ts = (self.ts + len(payload)) & 0xFFFFFFFF
        _sleep_until(t0 + len(payloads) * ptime_ms / 1000)

    def send_pcm(self, dest, pcm, pt=0, ptime_ms=20, rate=8000):
        """Encodes int16 samples as PCMU (pt 0) or PCMA (pt 8) and sends them paced."""
        encode = {0: encode_ulaw, 8: encode_alaw}[pt]
        n = rate * ptime_ms // 1000
        frames = [encode(pcm[i:i + n]) for i in range(0, len(pcm), n)]
        self.send_payloads(dest, frames, pt, ptime_ms)

    def send_dtmf(self, dest, digit, pt=101, duration_ms=100, volume=10, ptime_ms=20,
                  end_packets=3, rate=8000):
        """Sends one RFC 4733 event: all packets carry the event's start timestamp; the first
        has the marker bit; the duration grows by one ptime per packet; the last one (E bit)
        goes `end_packets` times, 20 ms apart; every packet has its own sequence number.
        Afterwards ts moves past the event so audio can continue."""
        event = DTMF_EVENTS.index(digit)
        step = rate * ptime_ms // 1000
        total = max(step, rate * duration_ms // 1000)
        durations = list(range(step, total, step)) + [total] * end_packets
        start_ts = self.ts
        t0 = time.monotonic()
        for i, duration in enumerate(durations):
            _sleep_until(t0 + i * ptime_ms / 1000)
            end = i >= len(durations) - end_packets
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | (volume & 0x3F), duration)
            self.send_rtp(dest, payload, pt, self.seq, start_ts, marker=i == 0)
            self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (start_ts + total) & 0xFFFFFFFF


def _sleep_until(t):
    left = t - time.monotonic()
    if left > 0:
        time.sleep(left)


# ----------------------------------------------------------------------------------------
# RTP and RFC 4733 parsing


@dataclasses.dataclass
class Rtp:
    version: int
    padding: bool
    extension: bool
    marker: bool
    pt: int
    seq: int
    ts: int
    ssrc: int
    csrc: list
    ext_profile: int = None
    ext_data: bytes = b""
    payload: bytes = b""


_NOT_RTP = Rtp(0, False, False, False, -1, 0, 0, 0, [])


def parse_rtp(data):
    """RFC 3550 header -> Rtp, or None for anything that is not a well-formed v2 packet
    (short, other version, CSRC/extension/padding past the end)."""
    if len(data) < 12:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    if b0 >> 6 != 2:
        return None
    cc = b0 & 0x0F
    pos = 12 + 4 * cc
    if len(data) < pos:
        return None
    csrc = list(struct.unpack_from("!%dI" % cc, data, 12))
    ext_profile, ext_data = None, b""
    if b0 & 0x10:
        if len(data) < pos + 4:
            return None
        ext_profile, words = struct.unpack_from("!HH", data, pos)
        ext_data = data[pos + 4:pos + 4 + 4 * words]
        pos += 4 + 4 * words
        if len(data) < pos:
            return None
    end = len(data)
    if b0 & 0x20:
        pad = data[-1]
        if pad == 0 or end - pad < pos:
            return None
        end -= pad
    return Rtp(2, bool(b0 & 0x20), bool(b0 & 0x10), bool(b1 & 0x80), b1 & 0x7F, seq, ts, ssrc,
               csrc, ext_profile, ext_data, data[pos:end])


def build_rtp(payload, pt, seq, ts, ssrc, marker=False, csrc=(), extension=None, padding=0):
    """RFC 3550 packet. extension: (profile, bytes of a multiple of 4 length) or None;
    padding: number of padding bytes (the last one holds the count)."""
    b0 = 0x80 | len(csrc) | (0x20 if padding else 0) | (0x10 if extension else 0)
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                      ts & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)
    out += b"".join(struct.pack("!I", c) for c in csrc)
    if extension:
        profile, data = extension
        assert len(data) % 4 == 0, "an RTP header extension is whole 32-bit words"
        out += struct.pack("!HH", profile, len(data) // 4) + data
    out += payload
    if padding:
        out += bytes(padding - 1) + bytes([padding])
    return out


# RFC 4733 section 3.2 event codes 0..16.
DTMF_EVENTS = "0123456789*#ABCD!"  # "!" stands for 16, flash

Rfc4733 = collections.namedtuple("Rfc4733", "event end volume duration")


def parse_rfc4733(payload):
    """The first 4-byte event block (event, E bit, volume, duration), or None if short."""
    if len(payload) < 4:
        return None
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return Rfc4733(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclasses.dataclass
class DtmfEvent:
    digit: str        # "0".."9", "*", "#", "A".."D", "!" (flash) or "?<code>"
    event: int
    ts: int           # RTP timestamp (the event's start), one per event
    ssrc: int
    marker: bool      # some packet of the event had the marker bit
    durations: list   # the duration field of each packet, in arrival order
    end_count: int    # packets with the E bit
    volume: int
    seqs: list
    first_t_ns: int
    last_t_ns: int

    @property
    def duration(self):
        return max(self.durations)


def dtmf_events(packets, pt=101):
    """Groups the RFC 4733 packets of payload type `pt` by (ssrc, timestamp) into events,
    in order of first arrival."""
    events = {}
    for p in packets:
        rtp = parse_rtp(p.data)
        if rtp is None or rtp.pt != pt:
            continue
        ev = parse_rfc4733(rtp.payload)
        if ev is None:
            continue
        key = (rtp.ssrc, rtp.ts)
        e = events.get(key)
        if e is None:
            digit = DTMF_EVENTS[ev.event] if ev.event < len(DTMF_EVENTS) else f"?{ev.event}"
            e = events[key] = DtmfEvent(digit, ev.event, rtp.ts, rtp.ssrc, False, [], 0,
                                        ev.volume, [], p.t_ns, p.t_ns)
        e.marker |= rtp.marker
        e.durations.append(ev.duration)
        e.end_count += ev.end
        e.seqs.append(rtp.seq)
        e.last_t_ns = p.t_ns
    return list(events.values())


# ----------------------------------------------------------------------------------------
# Stream analysis


@dataclasses.dataclass
class StreamStats:
    count: int                # RTP packets analysed (after the payload-type filter)
    not_rtp: int              # datagrams that did not parse as RTP (all, before the filter)
    payload_types: dict       # pt -> packets
    ssrcs: set
    sources: set              # (ip, port) the packets came from
    payload_sizes: dict       # payload bytes -> packets
    lost: int                 # sequence numbers missing between the first and the highest
    seq_gaps: list            # (seq before, seq after) around each hole, arrival order
    duplicates: int           # a sequence number seen again
    reorders: int             # arrived after a higher sequence number
    audio_pt: int             # the payload type the timestamp checks use
    samples_per_packet: int   # the most common payload size of audio_pt (G.711: 1 byte each)
    ts_steps: dict            # ts delta -> count, between consecutive audio_pt packets
    ts_exact: bool            # every ts delta equals the previous packet's payload length
    markers: list             # indices (into the analysed packets) with the marker bit
    marker_seqs: list
    intervals_ms: list        # inter-arrival gaps of the analysed packets
    mean_ms: float
    p50_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    span_ms: float            # last arrival - first arrival

    def summary(self):
        return (f"count={self.count} not_rtp={self.not_rtp} pts={self.payload_types} "
                f"ssrcs={len(self.ssrcs)} sources={sorted(self.sources)} "
                f"sizes={self.payload_sizes} lost={self.lost} dup={self.duplicates} "
                f"reord={self.reorders} ts_steps={self.ts_steps} "
                f"ts_exact={self.ts_exact} markers={self.markers} "
                f"interval ms mean={self.mean_ms:.2f} p50={self.p50_ms:.2f} "
                f"p99={self.p99_ms:.2f} min={self.min_ms:.2f} max={self.max_ms:.2f} "
                f"span={self.span_ms:.1f}")


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list; 0.0 for an empty one."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def analyse(packets, payload_type=None):
    """Statistics of the RTP packets (of `payload_type`, or all) in arrival order.

    Sequence checks unwrap 16-bit numbers against the highest seen. Timestamp checks run on
    `payload_type`, or on the most common payload type when none is given (so digits mixed
    into audio do not count as timestamp steps)."""
    rtps, not_rtp = [], 0
    for p in packets:
        r = parse_rtp(p.data)
        if r is None:
            not_rtp += 1
        elif payload_type is None or r.pt == payload_type:
            rtps.append((p, r))

    pts = collections.Counter(r.pt for _, r in rtps)
    sizes = collections.Counter(len(r.payload) for _, r in rtps)

    lost = duplicates = reorders = 0
    gaps, seen, highest = [], set(), None  # highest: extended (unwrapped) seq
    for _, r in rtps:
        if highest is None:
            highest = r.seq
            seen.add(r.seq)
            continue
        delta = (r.seq - highest) & 0xFFFF
        ext = highest + delta if delta < 0x8000 else highest + delta - 0x10000
        if ext in seen:
            duplicates += 1
        elif ext > highest:
            if ext > highest + 1:
                gaps.append(((highest & 0xFFFF), r.seq))
            highest = ext
        else:
            reorders += 1
        seen.add(ext)
    if seen:
        lost = max(seen) - min(seen) + 1 - len(seen)

    audio_pt = payload_type if payload_type is not None else (
        pts.most_common(1)[0][0] if pts else None)
    audio = [r for _, r in rtps if r.pt == audio_pt]
    ts_steps, ts_exact, prev = collections.Counter(), True, None
    for r in audio:
        if prev is not None and r.seq != prev.seq:
            step = (r.ts - prev.ts) & 0xFFFFFFFF
            ts_steps[step] += 1
            ts_exact &= step == len(prev.payload)
        prev = r
    audio_sizes = collections.Counter(len(r.payload) for r in audio)
    spp = audio_sizes.most_common(1)[0][0] if audio_sizes else 0

    times = [p.t_ns for p, _ in rtps]
    intervals = [(b - a) / 1e6 for a, b in zip(times, times[1:])]
    return StreamStats(
        count=len(rtps), not_rtp=not_rtp, payload_types=dict(pts),
        ssrcs={r.ssrc for _, r in rtps}, sources={p.src for p, _ in rtps},
        payload_sizes=dict(sizes), lost=lost, seq_gaps=gaps, duplicates=duplicates,
        reorders=reorders, audio_pt=audio_pt, samples_per_packet=spp,
        ts_steps=dict(ts_steps), ts_exact=ts_exact and bool(audio),
        markers=[i for i, (_, r) in enumerate(rtps) if r.marker],
        marker_seqs=[r.seq for _, r in rtps if r.marker],
        intervals_ms=intervals,
        mean_ms=sum(intervals) / len(intervals) if intervals else 0.0,
        p50_ms=percentile(intervals, 50), p99_ms=percentile(intervals, 99),
        min_ms=min(intervals, default=0.0), max_ms=max(intervals, default=0.0),
        span_ms=(times[-1] - times[0]) / 1e6 if times else 0.0)


# ----------------------------------------------------------------------------------------
# G.711 (ITU-T G.711, the classic Sun reference algorithms as 256-entry decode tables)


def _ulaw_to_linear(u):
    u = ~u & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _alaw_to_linear(a):
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


ULAW_TABLE = [_ulaw_to_linear(i) for i in range(256)]
ALAW_TABLE = [_alaw_to_linear(i) for i in range(256)]
_SEG_UEND = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]
_SEG_AEND = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]


def _segment(v, ends):
    for i, end in enumerate(ends):
        if v <= end:
            return i
    return 8


def _linear_to_ulaw(s):
    s >>= 2
    if s < 0:
        s, mask = -s, 0x7F
    else:
        mask = 0xFF
    s = min(s, 8159) + 0x21  # clip (14-bit) and bias
    seg = _segment(s, _SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((s >> (seg + 1)) & 0x0F)) ^ mask


def _linear_to_alaw(s):
    s >>= 3
    if s >= 0:
        mask = 0xD5
    else:
        mask, s = 0x55, -s - 1
    seg = _segment(s, _SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (s >> 1) & 0x0F if seg < 2 else (s >> seg) & 0x0F
    return aval ^ mask


def decode_ulaw(data):
    return [ULAW_TABLE[b] for b in data]


def decode_alaw(data):
    return [ALAW_TABLE[b] for b in data]


def encode_ulaw(pcm):
    return bytes(_linear_to_ulaw(s) for s in pcm)


def encode_alaw(pcm):
    return bytes(_linear_to_alaw(s) for s in pcm)


DECODERS = {0: decode_ulaw, 8: decode_alaw}


def pcm_from_packets(packets, payload_type=None, max_seconds=600):
    """The G.711 audio of the packets as int16 samples, each payload placed at its RTP
    timestamp relative to the first audio packet (holes and jumps are silence, duplicates
    overwrite, so the result is what a receiver would play). Audio is payload type 0 or 8,
    or `payload_type`. Raises ValueError past max_seconds of audio."""
    frames, first = [], None
    for p in packets:
        r = parse_rtp(p.data)
        if r is None or r.pt not in DECODERS or (payload_type is not None and r.pt != payload_type):
            continue
        if first is None:
            first = r.ts
        offset = (r.ts - first) & 0xFFFFFFFF
        if offset >= 0x80000000:
            continue  # earlier than the first packet (reordered): dropped
        frames.append((offset, DECODERS[r.pt](r.payload)))
    if not frames:
        return []
    length = max(off + len(s) for off, s in frames)
    if length > max_seconds * 8000:
        raise ValueError(f"RTP timestamps span {length} samples (> {max_seconds} s)")
    pcm = [0] * length
    for off, samples in frames:
        pcm[off:off + len(samples)] = samples
    return pcm


# ----------------------------------------------------------------------------------------
# Signal measurements (plain Python: keep inputs to a few seconds of 8 kHz audio)


def tone_pcm(freq, ms, rate=8000, dbfs=-10.0):
    """A sine tone as int16 samples at the given level (peak amplitude relative to 32767)."""
    amp = 32767 * 10 ** (dbfs / 20)
    return [int(round(amp * math.sin(2 * math.pi * freq * i / rate)))
            for i in range(rate * ms // 1000)]


def goertzel_power(pcm, freq, rate=8000):
    """Power at `freq` normalised so that a sine of amplitude A gives (A/2)**2; divide by
    mean_square(pcm)/2 to get the fraction of the energy at `freq` (≈1 for a pure tone)."""
    n = len(pcm)
    if n == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in pcm:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return power / (n * n)


def mean_square(pcm):
    return sum(x * x for x in pcm) / len(pcm) if pcm else 0.0


def tone_fraction(pcm, freq, rate=8000):
    """Fraction (0..~1) of the signal's energy at `freq`."""
    ms = mean_square(pcm)
    return 2 * goertzel_power(pcm, freq, rate) / ms if ms else 0.0


def _windows(pcm, size, count):
    """Up to `count` windows of `size` samples spread evenly over pcm."""
    if len(pcm) <= size:
        return [pcm]
    step = (len(pcm) - size) / max(1, count - 1)
    return [pcm[int(i * step):int(i * step) + size] for i in range(count)]


def dominant_frequency(pcm, candidates=range(100, 3900, 10), rate=8000, refine=True):
    """The strongest frequency: the best of `candidates` by Goertzel power summed over four
    50 ms windows, then (refine) the best 1 Hz step within ±10 Hz over up to 0.5 s from the
    middle. About 0.3 M multiply-adds whatever the input length."""
    if not pcm:
        return 0.0
    coarse = _windows(pcm, rate // 20, 4)
    best = max(candidates, key=lambda f: sum(goertzel_power(w, f, rate) for w in coarse))
    if not refine:
        return float(best)
    middle, half = len(pcm) // 2, rate // 4
    mid = pcm[max(0, middle - half):middle + half]
    return float(max(range(best - 10, best + 11), key=lambda f: goertzel_power(mid, f, rate)))


def zero_crossing_frequency(pcm, rate=8000):
    """A cheap estimate for a single tone: sign changes / 2 per second."""
    if len(pcm) < 2:
        return 0.0
    crossings = sum(1 for a, b in zip(pcm, pcm[1:]) if (a < 0) != (b < 0))
    return crossings * rate / (2 * (len(pcm) - 1))


def rms_dbfs(pcm):
    """RMS level relative to full scale (a full-scale sine is -3 dBFS); -inf for silence."""
    ms = mean_square(pcm)
    return 10 * math.log10(ms / (32768.0 * 32768.0)) if ms > 0 else float("-inf")


@dataclasses.dataclass
class SpeechStats:
    duration_s: float
    frames: int               # 20 ms frames
    active_frames: int        # frames louder than the floor
    active_fraction: float
    active_s: float
    first_active_s: float     # start of the first active frame (None if none)
    last_active_s: float      # end of the last active frame (None if none)
    segments: list            # (start_s, end_s) of active runs, gaps < min_gap_ms joined
    rms_dbfs: float           # over the active frames
    zcr_spread_hz: float      # p90 - p10 of the active frames' zero-crossing frequency:
                              # speech varies (hundreds of Hz), a steady tone does not


def speech_stats(pcm, rate=8000, floor_dbfs=-45.0, min_gap_ms=200, min_segment_ms=60):
    """Enough to assert 'speech of plausible length': how much of the audio is above the
    floor, in how many segments (runs of active 20 ms frames, joined across gaps shorter than
    min_gap_ms, dropped if shorter than min_segment_ms)."""
    n = rate // 50
    frames = [pcm[i:i + n] for i in range(0, len(pcm) - n + 1, n)]
    active = [rms_dbfs(f) > floor_dbfs for f in frames]
    runs, start = [], None
    for i, a in enumerate(active + [False]):
        if a and start is None:
            start = i
        elif not a and start is not None:
            runs.append([start, i])
            start = None
    joined = []
    for r in runs:
        if joined and (r[0] - joined[-1][1]) * 20 < min_gap_ms:
            joined[-1][1] = r[1]
        else:
            joined.append(r)
    segments = [(round(a * 0.02, 3), round(b * 0.02, 3))
                for a, b in joined if (b - a) * 20 >= min_segment_ms]
    loud = [f for f, a in zip(frames, active) if a]
    zcr = sorted(zero_crossing_frequency(f, rate) for f in loud)
    return SpeechStats(
        duration_s=len(pcm) / rate, frames=len(frames), active_frames=len(loud),
        active_fraction=len(loud) / len(frames) if frames else 0.0,
        active_s=round(len(loud) * 0.02, 3),
        first_active_s=round(runs[0][0] * 0.02, 3) if runs else None,
        last_active_s=round(runs[-1][1] * 0.02, 3) if runs else None,
        segments=segments, rms_dbfs=rms_dbfs([x for f in loud for x in f]),
        zcr_spread_hz=percentile(zcr, 90) - percentile(zcr, 10) if zcr else 0.0)


# ----------------------------------------------------------------------------------------
# WAV files


def write_wav(path, pcm, rate=8000):
    """16-bit mono WAV (to keep what a test heard next to its logs)."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(pcm), *pcm))


def read_wav(path):
    """(int16 samples of the first channel, rate) of a 16-bit PCM WAV."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit, want 16-bit")
        ch, rate = w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    samples = struct.unpack("<%dh" % (len(raw) // 2), raw)
    return list(samples[::ch]), rate


# ----------------------------------------------------------------------------------------
# Self-test


def _check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    return cond


def selftest():
    ok = True
    # Codecs: every code decodes to a value that encodes back to a code with that value.
    for name, table, enc in (("ulaw", ULAW_TABLE, _linear_to_ulaw),
                             ("alaw", ALAW_TABLE, _linear_to_alaw)):
        ok &= _check(all(table[enc(v)] == v for v in table), f"{name} table round trip")
    ok &= _check(ULAW_TABLE[0xFF] == 0 and ULAW_TABLE[0x00] == -32124
                 and ALAW_TABLE[0xD5] == 8 and ALAW_TABLE[0x2A] == -32256, "G.711 known values")

    # Header parsing: CSRC, extension and padding survive a round trip.
    raw = build_rtp(b"abcd", 8, 65535, 4294967295, 0x1234, True, [7, 9], (0xBEDE, b"\1\2\3\4"), 3)
    r = parse_rtp(raw)
    ok &= _check(r is not None and (r.pt, r.seq, r.ts, r.ssrc, r.marker, r.csrc, r.ext_profile,
                                    r.ext_data, r.payload, r.padding)
                 == (8, 65535, 4294967295, 0x1234, True, [7, 9], 0xBEDE, b"\1\2\3\4", b"abcd",
                     True), "RTP header round trip")
    ok &= _check(parse_rtp(b"\x40" + bytes(11)) is None and parse_rtp(b"\x81" + bytes(11)) is None,
                 "version 1 and a truncated CSRC list are not RTP")

    # Loopback: 100 paced PCMU packets of 1 kHz, then the digit 7, from a to b.
    with RtpPeer() as a, RtpPeer() as b:
        print(f"     peers :{a.port} -> :{b.port}, kernel timestamps: {b.kernel_timestamps}",
              flush=True)
        pcm = tone_pcm(1000, 2000)
        a.send_pcm(b.address, pcm, pt=0)
        ts_after_tone = a.ts
        a.send_dtmf(b.address, "7")
        b.send_rtp(a.address, b"\xff" * 160, 0, 1, 160)  # symmetric: a hears on its port
        pkts = b.wait_for(100 + 7, timeout=5)  # 7: 4 updates, 3 ends
        a.wait_for(1, timeout=2)
        st = analyse(pkts, payload_type=0)
        print("     " + st.summary())
        ok &= _check(st.count == 100 and st.lost == 0 and st.duplicates == 0
                     and st.reorders == 0, "100 packets in order, none lost")
        ok &= _check(st.ts_exact and st.ts_steps == {160: 99} and st.markers == [0],
                     "ts steps of 160, marker on the first")
        ok &= _check(st.sources == {a.address}, "sent from the peer's own port")
        ok &= _check(19.0 <= st.p50_ms <= 21.0 and 1900 <= st.span_ms <= 2100,
                     f"paced: p50 {st.p50_ms:.2f} ms, span {st.span_ms:.0f} ms")
        heard = pcm_from_packets(pkts, payload_type=0)
        f = dominant_frequency(heard)
        ok &= _check(len(heard) == 16000 and abs(f - 1000) <= 20, f"dominant {f} Hz")
        ok &= _check(tone_fraction(heard, 1000) > 0.9, "energy at 1 kHz")
        ok &= _check(abs(rms_dbfs(heard) - (-13.0)) < 0.5, f"level {rms_dbfs(heard):.1f} dBFS")
        sp = speech_stats(heard)
        ok &= _check(sp.segments == [(0.0, 2.0)] and sp.zcr_spread_hz < 30, "one steady segment")
        ev = dtmf_events(pkts, pt=101)
        ok &= _check(len(ev) == 1 and ev[0].digit == "7" and ev[0].marker
                     and ev[0].durations == [160, 320, 480, 640, 800, 800, 800]
                     and ev[0].end_count == 3, f"digit: {ev}")
        ok &= _check(ev[0].ts == ts_after_tone, "the event's ts follows the tone")
    print("selftest " + ("passed" if ok else "FAILED"))
    return ok


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true", help="loopback self-test")
    args = ap.parse_args()
    if not args.selftest:
        ap.print_help()
        sys.exit(2)
    sys.exit(0 if selftest() else 1)
