// One leg's RTP stream on a media thread: the socket pair, the packet clock (sequence,
// timestamp, SSRC, marker), what plays (a Playback) or which digits go out (RFC 4733 steps),
// and what comes in (telephone-events folded into key presses, latching to the far end's real
// address). Built on the call's strand, then touched only on its media thread: the session
// posts every command there.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audio/clip.hpp"
#include "audio/g711.hpp"
#include "poller.hpp"
#include "relay.hpp"
#include "rtp/packet.hpp"
#include "udp_fd.hpp"
#include "swmld/call/contract.hpp"

namespace swmld::media {

class MediaThread;
class PortPool;
struct MediaCounters;

// What the SDP negotiation decided for the stream.
struct StreamParams {
  boost::asio::ip::udp::endpoint remote;  // where RTP goes (unspecified or port 0: nowhere)
  Law law = Law::ulaw;
  std::uint8_t payload_type = 0;
  int te_payload_type = -1;  // telephone-event, -1: not negotiated
  int ptime_ms = 20;
  bool send = true;  // our direction allows sending (sendrecv / sendonly)
};

// Sounds being played, in order. Items are filled in as their audio loads (on the media
// thread); an item not loaded yet holds playback there, sending nothing.
struct Playback {
  struct Item {
    ClipPtr clip;  // null: silence
    // How many samples to play: silence's length, ring:N:cc's (the cadence clip loops to fill
    // them); 0: the clip's own length, known once it loaded.
    std::size_t samples = 0;
    bool ready = false;
    std::string error;  // set when loading failed: the item is skipped
  };
  std::vector<Item> items;
  double gain = 1.0;                      // linear (volume in dB, converted)
  std::function<void(std::string)> done;  // once: "" or the failures, joined
  std::size_t index = 0;                  // item playing
  std::size_t offset = 0;                 // samples of it played
  std::vector<std::string> errors;
};

// Sees a stream's audio on its media thread (a recording). Cheap and never blocking: it
// runs inside the tick.
class AudioTap {
 public:
  virtual ~AudioTap() = default;
  // One packet slot of `samples` (or several skipped after a stall): what the stream sent,
  // G.711 in `law`, or null when it sent no audio. False: the tap is done, drop it.
  virtual bool on_sent(const std::uint8_t* payload, std::size_t samples, Law law) = 0;
  // An audio packet from the far end (G.711 in `law`).
  virtual void on_received(std::span<const std::uint8_t> payload, Law law) = 0;
  virtual void on_digit(char digit) { (void)digit; }  // an RFC 4733 key from the far end
  virtual void on_close() = 0;  // the stream closed; the tap is dropped after this
};

struct StreamSetup {
  UdpFd rtp;
  std::optional<boost::asio::ip::udp::socket> rtcp;
  int port = 0;  // the RTP port, back to the pool when the stream closes
  bool latch = true;
  bool idle_silence = false;
  std::string cname;  // RTCP CNAME
};

class Stream : public std::enable_shared_from_this<Stream>,
               private RelaySink,
               private Poller::Reader {
 public:
  using Clock = std::chrono::steady_clock;

  Stream(MediaThread& thread, PortPool& ports, MediaCounters& counters, StreamSetup setup);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // ---- media thread ----
  void start();  // joins the thread's tick, starts receiving
  void update(const StreamParams& params);
  void set_events(std::shared_ptr<call::Events> events) { events_ = std::move(events); }
  void play(std::shared_ptr<Playback> playback);  // replaces what plays (its done: "")
  void item_loaded(const std::shared_ptr<Playback>& playback, std::size_t index,
                   Result<ClipPtr> clip);
  void stop();  // ends playback and digits; their done callbacks run
  void send_digits(std::vector<rtp::DtmfStep> steps, std::function<void(std::string)> done);
  void close();  // idempotent: sockets closed, port released, off the tick
  // Taps (recordings): added and removed on the media thread; a closed stream closes a new
  // tap at once.
  void add_tap(std::shared_ptr<AudioTap> tap);
  void remove_tap(const AudioTap* tap);

  // Bridging (relay.hpp): what this stream receives goes to `out`; what arrives through `in`
  // is sent as this stream's own packets (unless it plays or sends digits itself).
  void bridge(std::shared_ptr<RelayLink> out, std::shared_ptr<RelayLink> in);
  void unbridge();
  void relay_in(const RelayLink* from, const RelayPacket& packet);  // RelayLink only

  // The tick due at `tick` (woken at `now`): sends every packet due by `tick`. Returns the
  // packets sent (the thread counts them once per wake-up).
  std::size_t on_tick(Clock::time_point tick, Clock::time_point now);
  // MediaThread's bookkeeping: which of its phases visits this stream, and where in its list.
  std::size_t phase = 0;
  std::size_t slot = 0;

 private:
  enum class Fill { nothing, audio };
  Fill fill_audio(std::uint8_t* payload, std::size_t samples);
  void finish_playback(std::string error_override = {});
  void finish_digits(std::string error);
  // The thread's Poller: the socket is readable. read_ready() reads what waits.
  void on_readable() override;
  void read_ready();
  void on_packet(std::span<const std::uint8_t> data, const boost::asio::ip::udp::endpoint& from);
  // What the far end sent that is not this call's media: counted (here and in the
  // service's counters), logged once when it starts and once, summed up, at close().
  enum Dropped { kNotRtp, kPayloadType, kKeys, kDroppedKinds };
  void drop(Dropped why, const boost::asio::ip::udp::endpoint& from);
  void log_dropped() const;
  void receive_rtcp();
  void send_rtcp(Clock::time_point now);
  // Sends to one peer from now on: a connected socket skips the route lookup of every
  // sendto() (bench/media_load: 14 % of a bare sender's CPU) and the kernel drops datagrams
  // from anyone else. disconnect() opens the socket to every source again.
  void connect_to(const boost::asio::ip::udp::endpoint& peer);
  void disconnect();
  // Bridging: what arrived, on to the other leg; and RelaySink, sending what it relays.
  void relay_out(const rtp::Packet& packet, bool event);
  std::uint32_t relay_start() override;
  void start_after_relayed();  // on_tick: our talkspurt's first timestamp
  void send_relayed(const Frame& frame) override;
  void tap_sent(const std::uint8_t* payload, std::size_t samples);

  // What on_tick() reads for every packet first, together: a tick walks a thousand streams.
  bool closed_ = false;
  bool have_params_ = false;
  bool marker_ = true;            // the next packet starts a talkspurt
  bool connected_ = false;        // the RTP socket is connected to params_.remote
  bool sending_digits_ = false;   // digits_ is being sent (digits_done_ is set)
  int fd_ = -1;                   // the RTP socket's descriptor
  std::uint16_t seq_;
  std::uint32_t ssrc_;
  std::uint32_t timestamp_;       // of the next packet slot
  Clock::time_point next_due_{};  // when the next packet slot is due (set by the first tick)
  StreamParams params_;
  std::shared_ptr<Playback> playback_;
  std::uint32_t packets_sent_ = 0, octets_sent_ = 0;

  MediaThread& thread_;
  PortPool& ports_;
  MediaCounters& counters_;
  StreamSetup setup_;
  bool started_ = false;
  Poller::Token poll_token_ = 0;  // the RTP socket's registration with the thread's Poller
  bool polled_ = false;           // it is registered
  bool read_queued_ = false;      // read_ready() is posted: the socket had more than a turn
  std::shared_ptr<call::Events> events_;
  Clock::time_point next_rtcp_{};

  std::vector<rtp::DtmfStep> digits_;
  std::size_t digit_step_ = 0;
  std::uint32_t event_timestamp_ = 0;
  std::function<void(std::string)> digits_done_;

  // Receiving.
  std::vector<std::uint8_t> rtcp_in_;
  boost::asio::ip::udp::endpoint rtcp_from_;
  rtp::DtmfReceiver dtmf_;
  rtp::KeyRate key_rate_;
  std::optional<std::uint32_t> latched_ssrc_;  // the far end's SSRC once latched
  // The remote address the last SDP gave (params_.remote is where we send: latched).
  boost::asio::ip::udp::endpoint sdp_remote_;
  std::array<std::uint64_t, kDroppedKinds> dropped_{};
  boost::asio::ip::udp::endpoint dropped_from_;  // the source of the last datagram dropped

  // Bridging.
  std::shared_ptr<RelayLink> relay_out_;  // where what this stream receives goes
  std::shared_ptr<RelayLink> relay_in_;   // whose packets this stream sends
  RelayTimeline relay_;
  std::uint32_t sent_end_ = 0;  // the timestamp after the last packet sent (paced or relayed)
  std::vector<std::shared_ptr<AudioTap>> taps_;
  std::vector<std::uint8_t> relayed_for_taps_;  // relayed payload the taps have not seen yet
  // The timestamp of the last RFC 4733 event received while not bridged: the rest of that
  // key's packets are not relayed once a bridge starts (the key was not meant for the peer).
  std::uint32_t event_before_bridge_ = 0;
  bool have_event_before_bridge_ = false;
};

}  // namespace swmld::media
