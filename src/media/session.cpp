// Session: SDP offer/answer for one leg and the commands to its stream (see session.hpp).
#include "session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core.hpp"
#include "recorder.hpp"
#include "relay.hpp"
#include "stream.hpp"

namespace swmld::media {
namespace {

namespace ip = boost::asio::ip;

Error media_error(std::string message) {
  return make_error(ErrorCode::method_execute_failed, std::move(message));
}

// Where RTP sockets bind: the call's local address when it is one of ours, else the wildcard
// of its family (a public address on a NAT, a host name).
ip::address bind_address(const std::string& local) {
  boost::system::error_code ec;
  std::string text = local;
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  auto a = ip::make_address(text, ec);
  return ec ? ip::address(ip::address_v4::any()) : a;
}

ip::address any_of(const ip::address& a) {
  return a.is_v6() ? ip::address(ip::address_v6::any()) : ip::address(ip::address_v4::any());
}

// A socket bound to `port`, on `address` or, when that is not a local address, its wildcard.
Result<UdpFd> bind_udp(const ip::address& address, int port) {
  boost::system::error_code ec;
  UdpFd s = UdpFd::bind({address, static_cast<unsigned short>(port)}, ec);
  if (ec == boost::system::errc::address_not_available)
    s = UdpFd::bind({any_of(address), static_cast<unsigned short>(port)}, ec);
  // No non-blocking mode: the stream reads with MSG_DONTWAIT and sends with it.
  if (ec) return media_error("RTP port " + std::to_string(port) + ": " + ec.message());
  return s;
}

// The RTCP socket: an Asio socket of the stream's thread (a packet every few seconds).
Result<ip::udp::socket> bind_rtcp(boost::asio::io_context& io, const ip::address& address,
                                  int port) {
  auto fd = bind_udp(address, port);
  if (!fd) return fd.error();
  ip::udp::socket s(io);
  boost::system::error_code ec;
  s.assign(address.is_v6() ? ip::udp::v6() : ip::udp::v4(), fd->get(), ec);
  if (ec) return media_error("RTCP port " + std::to_string(port) + ": " + ec.message());
  fd->release();
  return s;
}

// 0.25 s of 1 kHz at -12 dBFS: record's `beep`.
ClipPtr beep_clip() {
  static const ClipPtr clip = [] {
    std::vector<std::int16_t> pcm(kSampleRate / 4);
    for (std::size_t i = 0; i < pcm.size(); ++i)
      pcm[i] = static_cast<std::int16_t>(
          8200 * std::sin(2 * M_PI * 1000.0 * static_cast<double>(i) / kSampleRate));
    return make_clip(std::move(pcm));
  }();
  return clip;
}

}  // namespace

Session::Session(std::shared_ptr<Core> core, std::optional<SdpOffer> offer,
                 std::optional<MediaChoice> choice, std::string local_address,
                 std::shared_ptr<Placement> placement)
    : core_(std::move(core)),
      offer_(std::move(offer)),
      choice_(std::move(choice)),
      placement_(std::move(placement)) {
  local_.address = std::move(local_address);
  local_.session_id = core_->next_session_id++;
  local_.version = local_.session_id;
}

Session::~Session() {
  close();
}

void Session::attach(std::shared_ptr<call::Events> events) {
  events_ = std::move(events);
  if (stream_) thread_->run([s = stream_, e = events_] { s->set_events(e); });
}

Status Session::open_stream() {
  const MediaConfig& c = core_->config;
  const ip::address address = bind_address(local_.address);
  // A port of the pool may be taken by another program: try a few.
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto port = core_->ports.acquire();
    if (!port)
      return media_error("no free RTP port (rtp.port_min-port_max holds " +
                         std::to_string(core_->ports.capacity()) + ", all in use)");
    // The port's sockets from an earlier call when they fit, else new ones.
    PortSockets& kept = core_->ports.sockets(*port);
    // The call's thread when another leg of it has one. The RTP socket can go to any
    // thread (its Poller takes it); an RTCP socket belongs to one thread's io_context.
    MediaThread* placed = placement_ ? placement_->thread : nullptr;
    if (kept.rtp && (kept.bound != address || kept.rtcp.has_value() != c.rtcp ||
                     (placed && kept.rtcp && kept.thread != placed))) {
      kept.rtp.reset();
      kept.rtcp.reset();
    }
    if (!kept.rtp) {
      MediaThread& thread = placed ? *placed : core_->pick_thread();
      auto rtp = bind_udp(address, *port);
      std::optional<ip::udp::socket> rtcp;
      if (rtp && c.rtcp) {
        auto r = bind_rtcp(thread.io(), address, *port + 1);
        if (r) rtcp.emplace(std::move(*r));
      }
      if (!rtp || (c.rtcp && !rtcp)) {
        spdlog::warn(
            "media: {}; trying another port",
            rtp ? "RTCP port " + std::to_string(*port + 1) + " in use" : rtp.error().message);
        core_->ports.release(*port);
        continue;
      }
      kept.thread = &thread;
      kept.bound = address;
      kept.rtp.emplace(std::move(*rtp));
      if (rtcp) kept.rtcp.emplace(std::move(*rtcp));
    }
    if (placed) kept.thread = placed;
    MediaThread& thread = *kept.thread;
    if (placement_) placement_->thread = &thread;
    StreamSetup setup{std::move(*kept.rtp), std::move(kept.rtcp), *port, c.latch,
                      c.idle_silence, "swmld-" + std::to_string(local_.session_id)};
    kept.rtp.reset();
    kept.rtcp.reset();
    stream_ = std::make_shared<Stream>(thread, core_->ports, core_->counters, std::move(setup));
    thread_ = &thread;
    local_.port = *port;
    thread.run([s = stream_, e = events_] {
      s->set_events(e);
      s->start();
    });
    return Ok{};
  }
  return media_error("no usable RTP port after 8 attempts (ports in use by other programs?)");
}

void Session::push_params() {
  if (!stream_ || !choice_) return;
  StreamParams p;
  boost::system::error_code ec;
  auto remote = ip::make_address(choice_->remote_address, ec);
  if (!ec) p.remote = ip::udp::endpoint(remote, static_cast<unsigned short>(choice_->remote_port));
  p.law = choice_->codec == "PCMA" ? Law::alaw : Law::ulaw;
  p.payload_type = static_cast<std::uint8_t>(choice_->payload_type);
  p.te_payload_type = choice_->te_payload_type;
  p.ptime_ms = choice_->ptime;
  p.send = choice_->direction == Direction::sendrecv || choice_->direction == Direction::sendonly;
  thread_->run([s = stream_, p] { s->update(p); });
}

Result<std::string> Session::local_sdp() {
  if (closed_) return media_error("the call's media is closed");
  if (!stream_) {
    if (auto s = open_stream(); !s) return s.error();
  }
  if (sdp_.empty()) {
    const MediaConfig& c = core_->config;
    sdp_ = offer_ ? render_answer(*offer_, *choice_, local_)
                  : render_offer(c.codecs, c.ptime_ms, local_);
    push_params();
  }
  return sdp_;
}

Result<std::string> Session::remote_sdp(const call::RemoteSdp& remote) {
  if (closed_ || !stream_) return media_error("no media session yet");
  const MediaConfig& c = core_->config;
  if (remote.kind == call::RemoteSdp::Kind::offer && remote.sdp.empty()) {
    ++local_.version;  // a re-INVITE without SDP: our offer again; its answer comes in the ACK
    sdp_ = render_offer(c.codecs, c.ptime_ms, local_);
    return sdp_;
  }
  auto parsed = parse_sdp(remote.sdp);
  if (!parsed) return media_error("unparsable SDP");
  std::string reason;
  auto choice = choose_media(*parsed, c.codecs, c.ptime_ms, &reason);
  if (!choice) return media_error(reason);
  choice_ = std::move(choice);
  push_params();
  if (remote.kind == call::RemoteSdp::Kind::answer) return std::string();
  offer_ = std::move(parsed);
  ++local_.version;
  sdp_ = render_answer(*offer_, *choice_, local_);
  return sdp_;
}

bool Session::telephone_event() const {
  return choice_ && choice_->te_payload_type >= 0;
}

void Session::play(const call::PlayRequest& request, std::function<void(std::string)> done) {
  if (closed_ || !stream_)
    return done(closed_ ? "the call's media is closed" : "media has not started");
  auto playback = std::make_shared<Playback>();
  playback->gain = gain_factor(std::clamp(request.volume, -40.0, 40.0));
  playback->done = std::move(done);
  std::vector<std::pair<std::size_t, Sound>> loads;
  for (const auto& url : request.urls) {
    Playback::Item item;
    auto sound = parse_sound(url);
    if (!sound) {
      item.ready = true;
      item.error = sound.error().message;
    } else if (sound->kind == Sound::Kind::silence) {
      item.ready = true;
      item.samples = static_cast<std::size_t>(sound->seconds * kSampleRate);
    } else {
      if (sound->kind == Sound::Kind::ring)
        item.samples = static_cast<std::size_t>(sound->seconds * kSampleRate);  // 0: one cycle
      loads.emplace_back(playback->items.size(), std::move(*sound));
    }
    playback->items.push_back(std::move(item));
  }
  MediaThread* thread = thread_;
  thread->run([s = stream_, playback] { s->play(playback); });
  Voice voice{request.say_voice, request.say_language, request.say_gender};
  for (auto& [index, sound] : loads) {
    core_->loader.load(
        sound, voice, [s = stream_, thread, playback, i = index](Result<ClipPtr> clip) {
          thread->run([s, playback, i, clip = std::move(clip)]() mutable {
            s->item_loaded(playback, i, std::move(clip));
          });
        });
  }
}

void Session::stop() {
  if (stream_) thread_->run([s = stream_] { s->stop(); });
}

void Session::send_digits(const std::string& digits, std::function<void(std::string)> done) {
  if (closed_ || !stream_)
    return done(closed_ ? "the call's media is closed" : "media has not started");
  const MediaConfig& c = core_->config;
  rtp::DtmfPlan plan;
  plan.duration_ms = c.dtmf_duration_ms;
  plan.gap_ms = c.dtmf_gap_ms;
  plan.ptime_ms = choice_ ? choice_->ptime : c.ptime_ms;
  plan.volume = static_cast<std::uint8_t>(c.dtmf_volume);
  thread_->run([s = stream_, steps = rtp::plan_digits(digits, plan),
                                    done = std::move(done)]() mutable {
    s->send_digits(std::move(steps), std::move(done));
  });
}

std::uint64_t Session::record(const call::RecordRequest& request,
                              std::function<void(call::RecordResult)> done) {
  auto fail = [&](std::string error) {
    call::RecordResult r;
    r.end = "error";
    r.error = std::move(error);
    done(std::move(r));
    return std::uint64_t{0};
  };
  if (closed_ || !stream_)
    return fail(closed_ ? "the call's media is closed" : "media has not started");
  if (auto bad = check_record_request(request); !bad.empty()) return fail(bad);
  std::erase_if(recordings_, [](const auto& r) { return r.second.expired(); });
  auto rec = std::make_shared<Recording>(*core_->recorder, request, std::move(done),
                                         core_->recordings_active);
  rec->open();
  const std::uint64_t id = next_recording_++;
  recordings_[id] = rec;
  MediaThread* thread = thread_;
  if (!request.beep) {
    thread->run([s = stream_, rec] { s->add_tap(rec); });
    return id;
  }
  // The beep first (what plays now is replaced), then the recording starts, without it.
  auto beep = std::make_shared<Playback>();
  Playback::Item item;
  item.clip = beep_clip();
  item.samples = item.clip->samples();
  item.ready = true;
  beep->items.push_back(std::move(item));
  beep->done = [thread, weak = std::weak_ptr<Stream>(stream_), rec](std::string) {
    thread->run([weak, rec] {
      if (auto s = weak.lock())
        s->add_tap(rec);
      else
        rec->on_close();
    });
  };
  thread->run([s = stream_, beep] { s->play(beep); });
  return id;
}

void Session::stop_record(std::uint64_t id) {
  auto it = recordings_.find(id);
  if (it == recordings_.end()) return;
  auto rec = it->second.lock();
  recordings_.erase(it);
  if (!rec || !stream_) return;
  thread_->run([s = stream_, rec] {
    s->remove_tap(rec.get());
    rec->stop("stopped");
  });
}

void Session::close() {
  if (closed_) return;
  unbridge();
  closed_ = true;
  if (stream_) thread_->run([s = std::move(stream_)] { s->close(); });
  stream_.reset();
}

Status Session::bridge(call::MediaControl& other) {
  auto* peer = dynamic_cast<Session*>(&other);
  if (!peer || peer->core_ != core_)
    return make_error(ErrorCode::internal_error, "bridge: not a session of this media service");
  if (peer == this) return make_error(ErrorCode::internal_error, "bridge: a leg with itself");
  if (closed_ || peer->closed_) return media_error("bridge: the call's media is closed");
  if (!stream_ || !peer->stream_)
    return media_error("bridge: a leg has no RTP port yet (local_sdp() not called)");
  if (bridged_ == peer) return Ok{};
  unbridge();
  peer->unbridge();
  const bool same_thread = thread_ == peer->thread_;
  auto& overflow = core_->counters.relay_overflow;
  if (!same_thread) ++core_->counters.bridges_across_threads;
  relay_out_ = std::make_shared<RelayLink>(peer->stream_, *peer->thread_, same_thread, overflow);
  relay_in_ = std::make_shared<RelayLink>(stream_, *thread_, same_thread, overflow);
  peer->relay_out_ = relay_in_;
  peer->relay_in_ = relay_out_;
  bridged_ = peer;
  peer->bridged_ = this;
  thread_->run([s = stream_, out = relay_out_, in = relay_in_] { s->bridge(out, in); });
  peer->thread_->run(
      [s = peer->stream_, out = peer->relay_out_, in = peer->relay_in_] { s->bridge(out, in); });
  return Ok{};
}

void Session::unbridge() {
  if (!bridged_) return;
  Session* peer = std::exchange(bridged_, nullptr);
  peer->bridged_ = nullptr;
  // Closed now, on this strand: nothing is relayed from here on, whatever the media threads
  // still have queued; the streams then drop the links on their threads.
  relay_out_->close();
  relay_in_->close();
  relay_out_.reset();
  relay_in_.reset();
  peer->relay_out_.reset();
  peer->relay_in_.reset();
  if (stream_) thread_->run([s = stream_] { s->unbridge(); });
  if (peer->stream_) peer->thread_->run([s = peer->stream_] { s->unbridge(); });
}

}  // namespace swmld::media
