// Stream: packet clock, playback, RFC 4733 sending and receiving, latching (see stream.hpp).
#include "stream.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <utility>

#include "media_thread.hpp"
#include "port_pool.hpp"

namespace swmld::media {
namespace {

constexpr std::size_t kMaxPayload = 60 * 8;  // 60 ms of G.711, the largest ptime
constexpr std::size_t kMaxPacket = rtp::kHeaderSize + kMaxPayload;
constexpr std::size_t kMaxBatch = 4;  // packets sent by one tick (catching up)
constexpr auto kRtcpInterval = std::chrono::seconds(5);
constexpr int kCatchUpSlots = 5;  // further behind than this: skip slots, do not burst them

std::uint32_t random32() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return rng();
}

bool sendable(const boost::asio::ip::udp::endpoint& e) {
  return e.port() != 0 && !e.address().is_unspecified();
}

// `count` samples of `clip` from `offset` (wrapping: a looped cadence), as G.711 at `gain`.
void copy_clip(const Clip& clip, std::size_t offset, std::size_t count, Law law, double gain,
               std::uint8_t* out) {
  const std::size_t n = clip.samples();
  const auto& encoded = law == Law::ulaw ? clip.ulaw : clip.alaw;
  std::array<std::int16_t, kMaxPayload> scaled;
  while (count > 0) {
    std::size_t at = offset % n;
    std::size_t take = std::min(count, n - at);
    if (gain == 1.0) {
      std::memcpy(out, encoded.data() + at, take);
    } else {
      apply_gain({clip.pcm.data() + at, take}, gain, scaled.data());
      encode_g711(law, {scaled.data(), take}, out);
    }
    out += take;
    offset += take;
    count -= take;
  }
}

}  // namespace

Stream::Stream(MediaThread& thread, PortPool& ports, MediaCounters& counters, StreamSetup setup)
    : seq_(static_cast<std::uint16_t>(random32())),
      ssrc_(random32()),
      timestamp_(random32()),
      thread_(thread),
      ports_(ports),
      counters_(counters),
      setup_(std::move(setup)),
      rtcp_in_(setup_.rtcp ? 1500 : 0) {
  fd_ = setup_.rtp.get();
}

Stream::~Stream() {
  if (!closed_ && setup_.port) ports_.release(setup_.port);  // never started: sockets close here
}

void Stream::start() {
  if (started_ || closed_) return;
  started_ = true;
  ++counters_.streams;
  next_rtcp_ = Clock::now() + kRtcpInterval;
  // A port's socket lives on between calls: what reached it since its last call is not ours.
  std::array<std::uint8_t, 16> scratch;
  for (int i = 0; i < 1024 && ::recv(fd_, scratch.data(), scratch.size(), MSG_DONTWAIT) >= 0; ++i) {
  }
  thread_.add(shared_from_this());
  polled_ = thread_.poller().add(fd_, *this, poll_token_);
  if (!polled_)  // epoll refused the socket (out of memory): the call hears, but is not heard
    spdlog::error("media: port {}: cannot watch the RTP socket: {}", setup_.port,
                  std::system_category().message(errno));
  if (setup_.rtcp) receive_rtcp();
}

void Stream::update(const StreamParams& params) {
  const bool moved = !have_params_ || params.remote != sdp_remote_;
  // A new talkspurt when what the far end receives changes; a re-INVITE that repeats the
  // same SDP (a session refresh, or a storm of them) changes nothing on the wire.
  if (moved || params.payload_type != params_.payload_type || params.law != params_.law ||
      params.ptime_ms != params_.ptime_ms || params.send != params_.send)
    marker_ = true;
  auto latched = params_.remote;
  params_ = params;
  if (moved) {
    sdp_remote_ = params.remote;
    latched_ssrc_.reset();  // a new address (re-INVITE): latch anew
    disconnect();
  } else if (latched_ssrc_) {
    params_.remote = latched;  // the same address again: stay latched
  }
  have_params_ = true;
  // Without latching nothing but the SDP's address counts: connect at once.
  if (!setup_.latch && sendable(params_.remote)) connect_to(params_.remote);
}

void Stream::connect_to(const boost::asio::ip::udp::endpoint& peer) {
  if (connected_ || closed_) return;
  if (::connect(fd_, peer.data(), static_cast<socklen_t>(peer.size())) == 0)
    connected_ = true;
}

void Stream::disconnect() {
  if (!connected_) return;
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  ::connect(fd_, &unspec, sizeof unspec);
  connected_ = false;
}

void Stream::play(std::shared_ptr<Playback> playback) {
  if (closed_) {
    if (playback && playback->done) playback->done("the call's media is closed");
    return;
  }
  finish_playback();  // whatever played is replaced
  playback_ = std::move(playback);
}

void Stream::item_loaded(const std::shared_ptr<Playback>& playback, std::size_t index,
                         Result<ClipPtr> clip) {
  if (playback != playback_ || index >= playback->items.size()) return;  // stopped since
  Playback::Item& item = playback->items[index];
  item.ready = true;
  if (!clip) {
    item.error = clip.error().message;
    item.samples = 0;  // skipped
    return;
  }
  item.clip = std::move(*clip);
  if (item.samples == 0) item.samples = item.clip->samples();
}

void Stream::stop() {
  finish_playback();
  finish_digits("stopped");
}

void Stream::send_digits(std::vector<rtp::DtmfStep> steps, std::function<void(std::string)> done) {
  finish_digits("replaced by another send_digits");
  if (closed_) return done("the call's media is closed");
  if (params_.te_payload_type < 0) return done("the far end did not negotiate telephone-event");
  digits_ = std::move(steps);
  digit_step_ = 0;
  digits_done_ = std::move(done);
  sending_digits_ = true;
  if (digits_.empty()) finish_digits("");
}

void Stream::finish_playback(std::string error_override) {
  if (!playback_) return;
  auto pb = std::move(playback_);
  playback_.reset();
  std::string errors = std::move(error_override);
  for (const auto& e : pb->errors) errors += (errors.empty() ? "" : "; ") + e;
  if (pb->done) {
    auto done = std::move(pb->done);
    pb->done = nullptr;
    done(std::move(errors));
  }
}

void Stream::finish_digits(std::string error) {
  if (!digits_done_) return;
  auto done = std::move(digits_done_);
  digits_done_ = nullptr;
  sending_digits_ = false;
  digits_.clear();
  digit_step_ = 0;
  marker_ = true;  // audio after the events starts a new talkspurt
  done(std::move(error));
}

void Stream::add_tap(std::shared_ptr<AudioTap> tap) {
  if (closed_) return tap->on_close();
  taps_.push_back(std::move(tap));
}

void Stream::remove_tap(const AudioTap* tap) {
  std::erase_if(taps_, [tap](const auto& t) { return t.get() == tap; });
}

void Stream::tap_sent(const std::uint8_t* payload, std::size_t samples) {
  std::erase_if(taps_, [&](const auto& t) { return !t->on_sent(payload, samples, params_.law); });
}

void Stream::close() {
  if (closed_) return;
  closed_ = true;
  log_dropped();
  unbridge();
  for (auto& t : std::exchange(taps_, {})) t->on_close();
  finish_playback();
  finish_digits("the call ended");
  // The sockets stay open for the port's next call (PortPool): no wait pending, open to
  // every source again.
  if (polled_) thread_.poller().remove(fd_, poll_token_);
  polled_ = false;
  boost::system::error_code ec;
  if (setup_.rtcp) setup_.rtcp->cancel(ec);
  disconnect();
  PortSockets& kept = ports_.sockets(setup_.port);
  kept.rtp.emplace(std::move(setup_.rtp));
  if (setup_.rtcp) kept.rtcp.emplace(std::move(*setup_.rtcp));
  ports_.release(setup_.port);
  if (started_) {
    --counters_.streams;
    thread_.remove(this);  // may drop the thread's reference: nothing of `this` after it
  }
}

// ---- sending ------------------------------------------------------------------------------

Stream::Fill Stream::fill_audio(std::uint8_t* payload, std::size_t samples) {
  if (!playback_) return Fill::nothing;
  Playback& pb = *playback_;
  // The common case: a loaded clip at 0 dB with a whole frame left to play.
  if (pb.index < pb.items.size() && pb.gain == 1.0) {
    const Playback::Item& item = pb.items[pb.index];
    if (item.ready && item.clip && pb.offset + samples < item.samples &&
        item.samples <= item.clip->samples()) {
      const auto& encoded = params_.law == Law::ulaw ? item.clip->ulaw : item.clip->alaw;
      std::memcpy(payload, encoded.data() + pb.offset, samples);
      pb.offset += samples;
      return Fill::audio;
    }
  }
  const std::uint8_t silence = g711_silence(params_.law);
  std::size_t filled = 0;
  while (filled < samples && pb.index < pb.items.size()) {
    Playback::Item& item = pb.items[pb.index];
    if (!item.ready) break;  // still loading: hold here
    if (!item.error.empty()) pb.errors.push_back(std::exchange(item.error, {}));
    std::size_t left = item.samples > pb.offset ? item.samples - pb.offset : 0;
    if (left == 0 || (item.clip && item.clip->samples() == 0)) {  // done, failed or empty
      ++pb.index;
      pb.offset = 0;
      continue;
    }
    std::size_t take = std::min(samples - filled, left);
    if (item.clip) {
      copy_clip(*item.clip, pb.offset, take, params_.law, pb.gain, payload + filled);
    } else {
      std::memset(payload + filled, silence, take);
    }
    filled += take;
    pb.offset += take;
  }
  if (filled > 0 && filled < samples) std::memset(payload + filled, silence, samples - filled);
  // An item that ended exactly with this frame is done now, so that the next play (or the
  // end of this one) does not cost an empty slot.
  while (pb.index < pb.items.size() && pb.items[pb.index].ready &&
         pb.items[pb.index].error.empty() && pb.offset >= pb.items[pb.index].samples) {
    ++pb.index;
    pb.offset = 0;
  }
  if (pb.index >= pb.items.size()) finish_playback();
  return filled > 0 ? Fill::audio : Fill::nothing;
}

std::size_t Stream::on_tick(Clock::time_point tick, Clock::time_point now) {
  if (closed_ || !have_params_) return 0;
  if (next_due_ == Clock::time_point{}) next_due_ = tick;  // the packet clock starts on a tick
  const auto ptime = std::chrono::milliseconds(params_.ptime_ms);
  const auto samples = static_cast<std::uint32_t>(params_.ptime_ms * 8);
  if (tick - next_due_ > kCatchUpSlots * ptime) {
    // The thread was stalled: these slots are too late to be of use. Skip them (the clock
    // and timestamps move on, the receiver sees a gap) instead of sending a burst.
    auto behind = (tick - next_due_) / ptime;
    next_due_ += behind * ptime;
    timestamp_ += static_cast<std::uint32_t>(behind) * samples;
    marker_ = true;
    if (!taps_.empty()) tap_sent(nullptr, static_cast<std::size_t>(behind) * samples);
  }
  std::array<std::array<std::uint8_t, kMaxPacket>, kMaxBatch> packets;
  std::array<std::size_t, kMaxBatch> sizes{};
  std::size_t count = 0;
  while (next_due_ <= tick && count < kMaxBatch) {
    std::uint8_t* packet = packets[count].data();
    rtp::Header h;
    h.ssrc = ssrc_;
    std::size_t payload_size = 0;
    if (sending_digits_) {
      const rtp::DtmfStep& step = digits_[digit_step_++];
      if (step.kind == rtp::DtmfStep::Kind::event) {
        if (step.new_event) {
          start_after_relayed();
          event_timestamp_ = timestamp_;
        }
        h.payload_type = static_cast<std::uint8_t>(params_.te_payload_type);
        h.timestamp = event_timestamp_;
        h.marker = step.new_event;
        rtp::write_event(step.event, packet + rtp::kHeaderSize);
        payload_size = rtp::kEventSize;
      }
      if (digit_step_ >= digits_.size()) finish_digits("");
    } else {
      Fill f = fill_audio(packet + rtp::kHeaderSize, samples);
      if (f == Fill::nothing && setup_.idle_silence && !relay_in_) {
        std::memset(packet + rtp::kHeaderSize, g711_silence(params_.law), samples);
        f = Fill::audio;
      }
      if (f == Fill::audio) {
        if (marker_) start_after_relayed();
        h.payload_type = params_.payload_type;
        h.timestamp = timestamp_;
        h.marker = marker_;
        payload_size = samples;
      }
    }
    if (!taps_.empty()) {
      if (payload_size == samples) {
        tap_sent(packet + rtp::kHeaderSize, samples);
      } else if (relayed_for_taps_.size() >= samples) {
        // Bridged: what went out relayed during this slot is what this leg sent.
        tap_sent(relayed_for_taps_.data(), samples);
        relayed_for_taps_.erase(relayed_for_taps_.begin(),
                                relayed_for_taps_.begin() + static_cast<std::ptrdiff_t>(samples));
      } else {
        tap_sent(nullptr, samples);
      }
    }
    if (payload_size > 0) {
      marker_ = false;
      h.seq = seq_++;
      rtp::write_header(h, packet);
      sizes[count++] = rtp::kHeaderSize + payload_size;
      ++packets_sent_;
      octets_sent_ += static_cast<std::uint32_t>(payload_size);
      sent_end_ = timestamp_ + samples;
      relay_.restart();  // relayed audio resumes as a new talkspurt, after this one
    } else if (!sending_digits_) {
      marker_ = true;  // a gap: the next audio packet starts a talkspurt
    }
    next_due_ += ptime;
    timestamp_ += samples;
  }
  std::size_t sent = 0;
  if (count > 0 && params_.send && sendable(params_.remote)) {
    // Connected: no address per packet (the kernel keeps the route).
    const sockaddr* to = connected_ ? nullptr : params_.remote.data();
    const auto to_size = connected_ ? 0 : static_cast<socklen_t>(params_.remote.size());
    if (count == 1) {
      if (::sendto(fd_, packets[0].data(), sizes[0], MSG_DONTWAIT, to, to_size) < 0)
        ++counters_.send_errors;
      else
        sent = 1;
    } else {
      // Several packets due at once (10 ms ptime, or catching up): one system call.
      std::array<iovec, kMaxBatch> iov{};
      std::array<mmsghdr, kMaxBatch> msgs{};
      for (std::size_t i = 0; i < count; ++i) {
        iov[i] = {packets[i].data(), sizes[i]};
        msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(to);
        msgs[i].msg_hdr.msg_namelen = to_size;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
      if (n > 0) sent = static_cast<std::size_t>(n);
      if (n < static_cast<int>(count)) ++counters_.send_errors;
    }
  }
  if (setup_.rtcp && now >= next_rtcp_) send_rtcp(now);
  return sent;
}

void Stream::send_rtcp(Clock::time_point now) {
  next_rtcp_ = now + kRtcpInterval;
  if (!params_.send || !sendable(params_.remote) || packets_sent_ == 0) return;
  rtp::SenderInfo info;
  info.ssrc = ssrc_;
  info.ntp = rtp::ntp_from_unix_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  // The RTP time of `now`: the next slot's timestamp minus the time until it is due.
  auto ahead = std::chrono::duration_cast<std::chrono::microseconds>(next_due_ - now).count();
  info.rtp_timestamp = timestamp_ - static_cast<std::uint32_t>(ahead * 8 / 1000);
  info.packets = packets_sent_;
  info.octets = octets_sent_;
  std::array<std::uint8_t, 300> buf;
  std::size_t n = rtp::write_sender_report(info, setup_.cname, buf.data());
  boost::asio::ip::udp::endpoint to(params_.remote.address(),
                                    static_cast<unsigned short>(params_.remote.port() + 1));
  boost::system::error_code ec;
  setup_.rtcp->send_to(boost::asio::buffer(buf.data(), n), to, 0, ec);
}

// ---- receiving ----------------------------------------------------------------------------

void Stream::on_readable() {
  // A turn already queued (a flood) reads what came since: one reader per socket, however
  // many wake-ups the flood causes.
  if (read_queued_) return;
  auto self = shared_from_this();  // whatever a packet leads to, this outlives the read
  read_ready();
}

void Stream::read_ready() {
  // Buffers per media thread: a stream reads only on its thread, and only here. recvmmsg
  // reads what waits in one system call; fewer than kVlen means the socket is drained, so
  // the usual one packet per wake-up costs one call, not a second one that finds it empty.
  constexpr unsigned kVlen = 8;
  constexpr int kTurns = 8;  // 64 a turn: a flooding peer cannot hold the thread
  thread_local std::array<std::array<std::uint8_t, 2048>, kVlen> buffers;
  thread_local std::array<boost::asio::ip::udp::endpoint, kVlen> senders;
  std::array<iovec, kVlen> iov;
  std::array<mmsghdr, kVlen> msgs;
  for (int turn = 0; turn < kTurns && !closed_; ++turn) {
    for (unsigned i = 0; i < kVlen; ++i) {
      iov[i] = {buffers[i].data(), buffers[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = senders[i].data();
      msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(senders[i].capacity());
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(fd_, msgs.data(), kVlen, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // drained: the next edge wakes it
      continue;  // an ICMP error queued on the socket, say: the next one
    }
    for (int i = 0; i < n && !closed_; ++i) {
      senders[i].resize(msgs[i].msg_hdr.msg_namelen);
      on_packet({buffers[i].data(), msgs[i].msg_len}, senders[i]);
    }
    if (closed_) return;
    // Drained (or an error after n packets: the next read returns it, the data behind it
    // waits for the next packet to wake the stream).
    if (n < static_cast<int>(kVlen)) return;
  }
  if (closed_) return;
  // More may wait: go on after what else the thread has to do (the socket is edge-triggered,
  // so waiting for readiness now could wait for the next packet).
  read_queued_ = true;
  boost::asio::post(thread_.io(), [self = shared_from_this()] {
    self->read_queued_ = false;
    if (!self->closed_) self->read_ready();
  });
}

void Stream::on_packet(std::span<const std::uint8_t> data, const boost::asio::ip::udp::endpoint& from) {
  ++counters_.packets_received;
  if (!have_params_) return;
  auto packet = rtp::parse(data);
  if (!packet) {
    if (rtp::classify(data) == rtp::NotRtp::garbage) drop(kNotRtp, from);
    return;
  }
  const auto pt = packet->header.payload_type;
  const bool ours = pt == params_.payload_type || static_cast<int>(pt) == params_.te_payload_type ||
                    pt == 13;  // comfort noise (RFC 3389)
  if (!ours) return drop(kPayloadType, from);
  // Latching: send where the far end's RTP really comes from (NAT), locked to the first
  // source's SSRC, so a stray packet cannot steal the stream. Once locked, the socket is
  // connected to that source (cheaper sends; a NAT rebinding mid-call is then not followed).
  if (!latched_ssrc_ && setup_.latch) {
    if (from != params_.remote)
      spdlog::debug("media: port {}: RTP from {}:{}, latching (SDP said {}:{})", setup_.port,
                    from.address().to_string(), from.port(), params_.remote.address().to_string(),
                    params_.remote.port());
    params_.remote = from;
    latched_ssrc_ = packet->header.ssrc;
    connect_to(from);
  }
  const bool is_event = static_cast<int>(pt) == params_.te_payload_type;
  // A key whose event began before the bridge belongs to what ran then (a confirm prompt
  // took it): its remaining packets are not relayed.
  const bool old_event = is_event && have_event_before_bridge_ &&
                         packet->header.timestamp == event_before_bridge_;
  if (relay_out_ && pt != 13 && !old_event) relay_out(*packet, is_event);
  if (is_event && !relay_out_) {
    event_before_bridge_ = packet->header.timestamp;
    have_event_before_bridge_ = true;
  }
  if (!is_event) {
    if (pt == params_.payload_type)
      for (auto& t : taps_) t->on_received(packet->payload, params_.law);
    return;
  }
  auto event = rtp::parse_event(packet->payload);
  if (!event) return;
  auto digit = dtmf_.on_packet(packet->header.timestamp, *event);
  if (!digit || !events_) return;
  if (!key_rate_.take(Clock::now())) return drop(kKeys, from);
  for (auto& t : taps_) t->on_digit(*digit);
  events_->post(call::Dtmf{*digit, call::DtmfSource::rfc4733});
}

void Stream::drop(Dropped why, const boost::asio::ip::udp::endpoint& from) {
  static constexpr const char* kWhat[] = {"not RTP", "a payload type not negotiated",
                                          "keys beyond 25 a second"};
  std::atomic<std::uint64_t>* counter[] = {
      &counters_.dropped_not_rtp, &counters_.dropped_payload_type, &counters_.dropped_keys};
  counter[why]->fetch_add(1, std::memory_order_relaxed);
  dropped_from_ = from;
  std::uint64_t total = 0;
  for (auto n : dropped_) total += n;
  ++dropped_[why];
  if (total > 0) return;
  // One line when it starts, one when the call ends (log_dropped): never one per datagram.
  spdlog::info(
      "media: port {}: dropping what {}:{} sends that is not this call's media ({}); "
      "counted in swmld_rtp_dropped_total, summed up when the call ends",
      setup_.port, from.address().to_string(), from.port(), kWhat[why]);
}

void Stream::log_dropped() const {
  std::uint64_t total = 0;
  for (auto n : dropped_) total += n;
  if (total == 0) return;
  spdlog::info(
      "media: port {}: dropped {} datagram(s) from the far end (last from {}:{}): "
      "{} not RTP, {} of payload types not negotiated, {} keys beyond 25 a second",
      setup_.port, total, dropped_from_.address().to_string(), dropped_from_.port(),
      dropped_[kNotRtp], dropped_[kPayloadType], dropped_[kKeys]);
}

void Stream::receive_rtcp() {
  // Reports from the far end are read and dropped (nothing uses them yet): reading keeps the
  // socket's buffer from filling.
  setup_.rtcp->async_receive_from(
      boost::asio::buffer(rtcp_in_), rtcp_from_,
      [self = shared_from_this()](boost::system::error_code, std::size_t) {
        if (!self->closed_) self->receive_rtcp();
      });
}

// ---- bridging: relayed packets in and out (relay.hpp) -------------------------------------

void Stream::bridge(std::shared_ptr<RelayLink> out, std::shared_ptr<RelayLink> in) {
  if (closed_) return;
  relay_out_ = std::move(out);
  relay_in_ = std::move(in);
  relay_.restart();
}

void Stream::unbridge() {
  relay_out_.reset();
  relay_in_.reset();
  relay_.restart();
}

void Stream::relay_out(const rtp::Packet& packet, bool event) {
  if (packet.payload.size() > kMaxRelayPayload) return;  // longer than any ptime we negotiate
  RelayPacket r;
  r.kind = event ? RelayPacket::Kind::event : RelayPacket::Kind::audio;
  r.law = params_.law;
  r.marker = packet.header.marker;
  r.size = static_cast<std::uint16_t>(packet.payload.size());
  r.timestamp = packet.header.timestamp;
  r.ssrc = packet.header.ssrc;
  std::memcpy(r.payload.data(), packet.payload.data(), packet.payload.size());
  relay_out_->deliver(r);
}

void Stream::relay_in(const RelayLink* from, const RelayPacket& packet) {
  if (closed_ || !have_params_ || from != relay_in_.get()) return;  // unbridged since
  // A play or digits of its own replace the relay toward this leg; on hold nothing is sent.
  // Either way the relay starts a new talkspurt when it resumes.
  if (playback_ || sending_digits_ || !params_.send || !sendable(params_.remote))
    return relay_.restart();
  const auto late = relay_.late();
  relay_.push(packet, {params_.law, params_.ptime_ms, params_.te_payload_type >= 0}, *this);
  if (relay_.late() != late) counters_.relay_late.fetch_add(1, std::memory_order_relaxed);
}

void Stream::start_after_relayed() {
  // Relayed packets follow the far end's clock, which may run ahead of ours: a talkspurt of
  // our own starts after them, never inside them.
  if (packets_sent_ > 0 && static_cast<std::int32_t>(timestamp_ - sent_end_) < 0)
    timestamp_ = sent_end_;
}

std::uint32_t Stream::relay_start() {
  std::uint32_t now = timestamp_;
  if (next_due_ != Clock::time_point{}) {  // the packet clock runs: where it is now
    auto ahead =
        std::chrono::duration_cast<std::chrono::microseconds>(next_due_ - Clock::now()).count();
    now = timestamp_ - static_cast<std::uint32_t>(ahead * 8 / 1000);
  }
  if (packets_sent_ > 0 && static_cast<std::int32_t>(now - sent_end_) < 0) now = sent_end_;
  return now;
}

void Stream::send_relayed(const Frame& frame) {
  std::array<std::uint8_t, kMaxPacket> packet;
  rtp::Header h;
  h.ssrc = ssrc_;
  h.seq = seq_++;
  h.timestamp = frame.timestamp;
  h.marker = frame.marker;
  h.payload_type =
      frame.event ? static_cast<std::uint8_t>(params_.te_payload_type) : params_.payload_type;
  rtp::write_header(h, packet.data());
  std::memcpy(packet.data() + rtp::kHeaderSize, frame.payload.data(), frame.payload.size());
  const std::size_t size = rtp::kHeaderSize + frame.payload.size();
  const sockaddr* to = connected_ ? nullptr : params_.remote.data();
  const auto to_size = connected_ ? 0 : static_cast<socklen_t>(params_.remote.size());
  if (::sendto(fd_, packet.data(), size, MSG_DONTWAIT, to, to_size) < 0)
    ++counters_.send_errors;
  else
    counters_.packets_sent.fetch_add(1, std::memory_order_relaxed);
  counters_.relayed.fetch_add(1, std::memory_order_relaxed);
  if (!taps_.empty() && !frame.event) {
    // Recordings take it at the next tick, one slot at a time (bounded: 4 slots of 60 ms).
    constexpr std::size_t kMaxTapBacklog = 4 * 480;
    relayed_for_taps_.insert(relayed_for_taps_.end(), frame.payload.begin(), frame.payload.end());
    if (relayed_for_taps_.size() > kMaxTapBacklog)
      relayed_for_taps_.erase(relayed_for_taps_.begin(),
                              relayed_for_taps_.end() - static_cast<std::ptrdiff_t>(kMaxTapBacklog));
  }
  // What this leg sent so far: the end of the newest packet (an event's: its duration).
  std::uint32_t end = frame.timestamp + static_cast<std::uint32_t>(frame.payload.size());
  if (frame.event && frame.payload.size() >= rtp::kEventSize)
    end = frame.timestamp + (static_cast<std::uint32_t>(frame.payload[2]) << 8 | frame.payload[3]);
  if (packets_sent_ == 0 || static_cast<std::int32_t>(end - sent_end_) > 0) sent_end_ = end;
  ++packets_sent_;
  octets_sent_ += static_cast<std::uint32_t>(frame.payload.size());
  marker_ = true;  // a packet of our own after relayed ones starts a talkspurt
}

}  // namespace swmld::media
