// RelayLink (one direction of a bridge, across media threads) and RelayTimeline (what the
// sending stream makes of relayed packets). See relay.hpp.
#include "relay.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <utility>

#include "media_thread.hpp"
#include "stream.hpp"

namespace swmld::media {
namespace {

// How far a source timestamp may go back before it is a new source rather than a late
// packet (a PBX switching sources under one SSRC): one second.
constexpr std::int32_t kBackwardRestart = 8000;

}  // namespace

// ---- RelayLink ----------------------------------------------------------------------------

RelayLink::RelayLink(std::weak_ptr<Stream> target, MediaThread& target_thread, bool same_thread,
                     std::atomic<std::uint64_t>& overflow_counter)
    : target_(std::move(target)),
      thread_(target_thread),
      same_thread_(same_thread),
      overflow_counter_(overflow_counter) {}

void RelayLink::deliver(const RelayPacket& packet) {
  if (!open()) return;
  if (same_thread_) {
    if (auto target = target_.lock()) target->relay_in(this, packet);
    return;
  }
  bool post = false;
  {
    std::lock_guard lock(mu_);
    if (count_ == kCapacity) {  // the target's thread is behind: the oldest goes
      head_ = (head_ + 1) % kCapacity;
      --count_;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      overflow_counter_.fetch_add(1, std::memory_order_relaxed);
    }
    ring_[(head_ + count_) % kCapacity] = packet;
    ++count_;
    if (!posted_) post = posted_ = true;
  }
  // Not MediaThread::run(): its commands wait for the next tick (up to 5 ms); relayed audio
  // goes out as soon as the target's thread is free.
  if (post) boost::asio::post(thread_.io(), [self = shared_from_this()] { self->drain(); });
}

void RelayLink::drain() {
  std::array<RelayPacket, kCapacity> batch;
  std::size_t n = 0;
  {
    std::lock_guard lock(mu_);
    for (; n < count_; ++n) batch[n] = ring_[(head_ + n) % kCapacity];
    head_ = count_ = 0;
    posted_ = false;
  }
  auto target = target_.lock();
  for (std::size_t i = 0; i < n && target && open(); ++i) target->relay_in(this, batch[i]);
}

// ---- RelayTimeline ------------------------------------------------------------------------

void RelayTimeline::push(const RelayPacket& packet, const Target& target, RelaySink& sink) {
  if (packet.kind == RelayPacket::Kind::audio) return push_audio(packet, target, sink);
  if (!target.telephone_event) return;  // the engine still has the Dtmf event
  if (!mapped_ || packet.ssrc != ssrc_) {
    start(packet, sink);
    next_in_ = packet.timestamp;
  }
  // Audio waiting for a frame came before the event: it goes first, padded.
  if (pending_ > 0) append(nullptr, law_, frame_ - pending_, sink);
  RelaySink::Frame f;
  f.event = true;
  f.marker = packet.marker;
  f.timestamp = packet.timestamp + offset_;
  f.payload = {packet.payload.data(), packet.size};
  sink.send_relayed(f);
}

void RelayTimeline::start(const RelayPacket& packet, RelaySink& sink) {
  mapped_ = true;
  marker_ = true;
  ssrc_ = packet.ssrc;
  offset_ = sink.relay_start() - packet.timestamp;
  pending_ = 0;
  pending_ts_ = packet.timestamp;
}

void RelayTimeline::push_audio(const RelayPacket& packet, const Target& target, RelaySink& sink) {
  if (packet.size == 0) return;
  const auto frame = static_cast<std::size_t>(target.ptime_ms) * 8;
  bool restart = !mapped_ || packet.ssrc != ssrc_ || target.law != law_ || frame != frame_;
  if (!restart) {
    const auto ahead = static_cast<std::int32_t>(packet.timestamp - next_in_);
    if (ahead < 0 && ahead > -kBackwardRestart) {
      ++late_;  // late, reordered or repeated: its time has passed
      return;
    }
    if (ahead < 0) {
      restart = true;
    } else if (ahead > 0 && pending_ > 0) {
      // Lost packets inside a frame being filled: silence keeps the frames on their grid;
      // after a longer gap the frame is completed and the next one starts at this packet.
      const auto gap = static_cast<std::size_t>(ahead);
      if (gap <= 3 * frame_) {
        append(nullptr, law_, gap, sink);
      } else {
        append(nullptr, law_, frame_ - pending_, sink);
        pending_ts_ = packet.timestamp;
      }
    } else if (ahead > 0) {
      pending_ts_ = packet.timestamp;  // nothing waits: the gap shows in the timestamps
    }
  }
  if (restart) {
    law_ = target.law;
    frame_ = frame;
    start(packet, sink);
  }
  if (packet.marker) marker_ = true;
  next_in_ = packet.timestamp + packet.size;
  if (pending_ == 0 && packet.size == frame_ && packet.law == law_) {
    emit(packet.payload.data(), frame_, sink);  // the common case: one frame, one packet
    return;
  }
  append(packet.payload.data(), packet.law, packet.size, sink);
}

void RelayTimeline::append(const std::uint8_t* data, Law law, std::size_t count, RelaySink& sink) {
  const std::uint8_t silence = g711_silence(law_);
  while (count > 0) {
    const std::size_t take = std::min(count, buffer_.size() - pending_);
    if (data) {
      transcode_g711(law, law_, {data, take}, buffer_.data() + pending_);
      data += take;
    } else {
      std::memset(buffer_.data() + pending_, silence, take);
    }
    pending_ += take;
    count -= take;
    std::size_t at = 0;
    while (pending_ - at >= frame_) {
      emit(buffer_.data() + at, frame_, sink);
      at += frame_;
    }
    if (at > 0) {
      std::memmove(buffer_.data(), buffer_.data() + at, pending_ - at);
      pending_ -= at;
    }
  }
}

void RelayTimeline::emit(const std::uint8_t* data, std::size_t count, RelaySink& sink) {
  RelaySink::Frame f;
  f.marker = std::exchange(marker_, false);
  f.timestamp = pending_ts_ + offset_;
  f.payload = {data, count};
  pending_ts_ += static_cast<std::uint32_t>(count);
  sink.send_relayed(f);
}

}  // namespace swmld::media
