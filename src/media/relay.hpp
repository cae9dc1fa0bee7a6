// Bridging two legs (connect): what one leg's stream receives, handed to the other leg's
// stream (RelayLink, across media threads when the two live on different ones), which sends
// it as its own packets (RelayTimeline: timestamps mapped onto its clock, G.711 transcoded,
// re-packetised to its ptime). The decisions are in src/media/README.md ("Bridging").
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "audio/g711.hpp"

namespace swmld::media {

class MediaThread;
class Stream;

inline constexpr std::size_t kMaxRelayPayload = 60 * 8;  // 60 ms of G.711, the largest ptime

// One packet a leg received, on its way to the other leg.
struct RelayPacket {
  enum class Kind : std::uint8_t { audio, event };  // event: an RFC 4733 telephone-event
  Kind kind = Kind::audio;
  Law law = Law::ulaw;  // audio: the receiving leg's codec
  bool marker = false;
  std::uint16_t size = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;  // the far end's, to tell a new source
  std::array<std::uint8_t, kMaxRelayPayload> payload;
};

// One direction of a bridge. deliver() runs on the receiving stream's media thread; the
// packet reaches the sending stream (`target`) on its own thread: at once when both share a
// thread, else through a bounded queue (kCapacity packets; when full the oldest is dropped,
// so a stalled thread costs at most that much late audio, never unbounded memory) and one
// post to the target's io_context per batch. close() (any thread) stops delivery at once:
// after it returns nothing more reaches the target (a drain checks it too).
class RelayLink : public std::enable_shared_from_this<RelayLink> {
 public:
  static constexpr std::size_t kCapacity = 16;  // 320 ms of 20 ms packets

  RelayLink(std::weak_ptr<Stream> target, MediaThread& target_thread, bool same_thread,
            std::atomic<std::uint64_t>& overflow_counter);
  void close() { open_.store(false, std::memory_order_release); }
  bool open() const { return open_.load(std::memory_order_acquire); }
  void deliver(const RelayPacket& packet);  // the receiving stream's media thread
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void drain();  // the target's media thread

  std::weak_ptr<Stream> target_;
  MediaThread& thread_;
  const bool same_thread_;
  std::atomic<std::uint64_t>& overflow_counter_;
  std::atomic<bool> open_{true};
  std::atomic<std::uint64_t> dropped_{0};
  std::mutex mu_;  // guards the ring (producer and consumer threads, never held while sending)
  std::array<RelayPacket, kCapacity> ring_;
  std::size_t head_ = 0, count_ = 0;
  bool posted_ = false;  // a drain is posted to the target's thread
};

// Where RelayTimeline's frames go: the sending stream.
class RelaySink {
 public:
  virtual ~RelaySink() = default;
  struct Frame {
    bool event = false;  // RFC 4733 (the sink's telephone-event type) or audio (its codec)
    bool marker = false;
    std::uint32_t timestamp = 0;  // on the sink's clock
    std::span<const std::uint8_t> payload;
  };
  // The timestamp a new talkspurt starts at: the sink's clock now, and never before the end
  // of what it last sent.
  virtual std::uint32_t relay_start() = 0;
  virtual void send_relayed(const Frame& frame) = 0;
};

// The sending side of a bridge, for one stream: relayed packets in, the stream's frames out.
// Pure (no sockets, no clock): one per stream, on its media thread.
//
// Timestamps: a talkspurt's first packet is mapped onto the sink's clock (relay_start());
// later packets of the same source keep that offset, so the far end's timing (gaps, DTX,
// its clock) goes through unchanged and no packet waits for a tick. A packet older than the
// last one (late, reordered, duplicated) is dropped: its time has passed. Audio is
// transcoded PCMU<->PCMA when the laws differ and re-packetised when the incoming packet is
// not one frame of the sink's ptime: samples wait (at most one frame) until a frame is full.
// A lost packet inside a frame being filled becomes silence (up to 3 frames; a longer gap
// completes the frame with silence and starts the next at the new packet). Telephone-events
// go out as they come, with the same timestamp mapping.
class RelayTimeline {
 public:
  struct Target {
    Law law = Law::ulaw;
    int ptime_ms = 20;
    bool telephone_event = false;  // the sink negotiated telephone-event
  };

  void push(const RelayPacket& packet, const Target& target, RelaySink& sink);
  // The next packet starts a new talkspurt, mapped anew: the stream sent packets of its own
  // (a play, digits), or could not send (hold). What waits for a frame is dropped.
  void restart() { mapped_ = false; }
  std::uint64_t late() const { return late_; }  // packets dropped as late

 private:
  void push_audio(const RelayPacket& packet, const Target& target, RelaySink& sink);
  void start(const RelayPacket& packet, RelaySink& sink);
  // Appends `count` samples (silence when `data` is null) and sends every full frame.
  void append(const std::uint8_t* data, Law law, std::size_t count, RelaySink& sink);
  void emit(const std::uint8_t* data, std::size_t count, RelaySink& sink);

  bool mapped_ = false;
  bool marker_ = true;
  std::uint32_t ssrc_ = 0;
  std::uint32_t offset_ = 0;   // sink timestamp - source timestamp
  std::uint32_t next_in_ = 0;  // the source timestamp the next audio packet should have
  Law law_ = Law::ulaw;
  std::size_t frame_ = 160;       // samples per frame of the sink
  std::uint32_t pending_ts_ = 0;  // the source timestamp of buffer_[0]
  std::size_t pending_ = 0;
  std::array<std::uint8_t, 2 * kMaxRelayPayload> buffer_;
  std::uint64_t late_ = 0;
};

}  // namespace swmld::media
