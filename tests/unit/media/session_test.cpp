// A media session with real sockets on loopback: what arrives at the far end's port when it
// plays, sends digits or is put on hold, what it reports of digits sent to it, and how it
// fails (no port, no common codec, a sound that cannot load).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "media/rtp/packet.hpp"
#include "swmld/media/service.hpp"

namespace swmld::media {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The far end's RTP socket on 127.0.0.1 (a free port).
class Peer {
 public:
  explicit Peer(int port = 0) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Peer() { ::close(fd_); }
  int port() const { return port_; }
  bool bound() const { return bound_; }

  struct Received {
    std::vector<std::uint8_t> data;
    Clock::time_point at;
    int from_port = 0;
  };
  // The next datagram, or nullopt after `wait`.
  std::optional<Received> receive(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
    Received r;
    r.data.resize(2048);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n =
        ::recvfrom(fd_, r.data.data(), r.data.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    r.data.resize(static_cast<std::size_t>(n));
    r.at = Clock::now();
    r.from_port = ntohs(from.sin_port);
    return r;
  }
  // Everything until nothing came for `quiet`.
  std::vector<Received> drain(std::chrono::milliseconds quiet = 300ms) {
    std::vector<Received> out;
    while (auto r = receive(quiet)) out.push_back(std::move(*r));
    return out;
  }
  void send_to(int port, const std::vector<std::uint8_t>& data) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool bound_ = false;
};

std::string offer_to(int port, const std::string& formats = "0 8 101",
                     const std::string& dir = "sendrecv") {
  return "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio " +
         std::to_string(port) + " RTP/AVP " + formats +
         "\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=" + dir +
         "\r\n";
}

int sdp_port(const std::string& sdp) {
  auto m = sdp.find("m=audio ");
  return m == std::string::npos ? 0 : std::stoi(sdp.substr(m + 8));
}

// Collects what the session reports.
class Events final : public call::Events {
 public:
  void post(call::Event e) override {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::vector<char> digits(std::chrono::milliseconds wait, std::size_t want) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return events_.size() >= want; });
    std::vector<char> out;
    for (const auto& e : events_)
      if (const auto* d = std::get_if<call::Dtmf>(&e)) out.push_back(d->digit);
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<call::Event> events_;
};

// A play's or send_digits' `done`, waited for.
struct Done {
  std::promise<std::string> promise;
  std::future<std::string> future = promise.get_future();
  std::function<void(std::string)> fn() {
    return [this](std::string e) { promise.set_value(std::move(e)); };
  }
  std::optional<std::string> wait(std::chrono::milliseconds limit = 5s) {
    if (future.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return future.get();
  }
};

MediaConfig test_config() {
  MediaConfig c;
  c.rtp_ports = {42000, 42199};
  return c;
}

std::unique_ptr<Service> start(MediaConfig c = test_config(), Fetcher fetcher = nullptr) {
  auto s = Service::start(std::move(c), std::move(fetcher));
  EXPECT_TRUE(s.ok()) << s.error().message;
  return std::move(*s);
}

// A 16-bit mono WAV of a 1 kHz tone.
void write_wav(const std::filesystem::path& path, double seconds) {
  const auto n = static_cast<std::uint32_t>(seconds * 8000);
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](std::uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  out.write("RIFF", 4);
  u32(36 + n * 2);
  out.write("WAVEfmt ", 8);
  u32(16), u16(1), u16(1), u32(8000), u32(16000), u16(2), u16(16);
  out.write("data", 4);
  u32(n * 2);
  for (std::uint32_t i = 0; i < n; ++i)
    u16(static_cast<std::uint16_t>(
        static_cast<std::int16_t>(8000 * std::sin(2 * 3.14159265 * 1000 * i / 8000))));
}

// A session answering `peer` with its events attached and its stream set up on the media
// thread; false when it could not be opened.
struct Listening {
  std::unique_ptr<call::MediaControl> session;
  std::shared_ptr<Events> events = std::make_shared<Events>();
  std::optional<std::string> sdp;
};
bool listen_to(Service& service, Peer& peer, Listening& out) {
  auto session = service.open(offer_to(peer.port()), "127.0.0.1");
  if (!session.ok()) return false;
  out.session = std::move(*session);
  out.session->attach(out.events);
  auto sdp = out.session->local_sdp();
  if (!sdp.ok()) return false;
  out.sdp = *sdp;
  std::this_thread::sleep_for(50ms);  // the stream is set up on its media thread
  return true;
}

TEST(MediaSession, PlaysSilenceAsPacedPcmuFromTheAnsweredPort) {
  auto service = start();
  Peer peer;
  auto session = service->open(offer_to(peer.port()), "127.0.0.1");
  ASSERT_TRUE(session.ok()) << session.error().message;
  auto sdp = (*session)->local_sdp();
  ASSERT_TRUE(sdp.ok());
  EXPECT_NE(sdp->find("m=audio " + std::to_string(sdp_port(*sdp)) + " RTP/AVP 0 101\r\n"),
            std::string::npos)
      << *sdp;
  Done done;
  (*session)->play({{"silence:0.2"}, 0, "", "", ""}, done.fn());
  auto got = peer.drain();
  EXPECT_EQ(done.wait(), "");
  ASSERT_EQ(got.size(), 10u);
  std::optional<rtp::Header> prev;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].data.size(), 172u);
    EXPECT_EQ(got[i].from_port, sdp_port(*sdp));  // symmetric: from the port we announced
    auto p = rtp::parse(got[i].data);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header.payload_type, 0);
    EXPECT_EQ(p->header.marker, i == 0);
    EXPECT_EQ(p->payload[0], 0xFF);  // mu-law silence
    if (prev) {
      EXPECT_EQ(p->header.seq, static_cast<std::uint16_t>(prev->seq + 1));
      EXPECT_EQ(p->header.timestamp, prev->timestamp + 160);
      EXPECT_EQ(p->header.ssrc, prev->ssrc);
    }
    prev = p->header;
  }
  // Paced, not bursty: 9 intervals of 20 ms. The upper bound allows the receiving thread a
  // late wake-up on a busy machine (the suite runs two tests at a time); the pacing itself is
  // measured by bench/media_load.
  auto span = got.back().at - got.front().at;
  EXPECT_GE(span, 170ms);
  EXPECT_LE(span, 260ms);
}

TEST(MediaSession, ACachedFileStartsPlayingWithin100Ms) {
  auto dir = std::filesystem::temp_directory_path() / ("swmld-media-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_wav(dir / "tone.wav", 0.2);
  MediaConfig c = test_config();
  c.media_root = dir.string();
  auto service = start(c);
  Peer peer;
  for (int round = 0; round < 2; ++round) {
    auto session = service->open(offer_to(peer.port()), "127.0.0.1");
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE((*session)->local_sdp().ok());
    Done done;
    auto asked = Clock::now();
    (*session)->play({{"file:tone.wav"}, 0, "", "", ""}, done.fn());
    auto first = peer.receive(2000ms);
    ASSERT_TRUE(first);
    if (round == 1) {
      EXPECT_LT(first->at - asked, 100ms);  // decoded once, then shared
    }
    EXPECT_EQ(done.wait(), "");
    EXPECT_EQ(peer.drain().size(), 9u);
  }
  EXPECT_EQ(service->stats().cache_entries, 1u);
  std::filesystem::remove_all(dir);
}

TEST(MediaSession, Rfc4733DigitsSentToItAreReportedOncePerKey) {
  auto service = start();
  Peer peer;
  Listening call;
  ASSERT_TRUE(listen_to(*service, peer, call));
  auto& sdp = call.sdp;
  auto& events = call.events;
  rtp::DtmfPlan plan;
  auto steps = rtp::plan_digits("77", plan);
  std::uint16_t seq = 100;
  std::uint32_t ts = 1000, event_ts = 0;
  for (const auto& step : steps) {
    if (step.kind == rtp::DtmfStep::Kind::event) {
      if (step.new_event) event_ts = ts;
      std::vector<std::uint8_t> packet(rtp::kHeaderSize + rtp::kEventSize);
      rtp::write_header({step.new_event, 101, seq++, event_ts, 0x1234}, packet.data());
      rtp::write_event(step.event, packet.data() + rtp::kHeaderSize);
      peer.send_to(sdp_port(*sdp), packet);
    }
    ts += 160;
  }
  EXPECT_EQ(events->digits(2s, 2), (std::vector<char>{'7', '7'}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(events->digits(0ms, 3), (std::vector<char>{'7', '7'}));  // and no more
}

TEST(MediaSession, SendDigitsSendsEventsWithThreeEndPackets) {
  auto service = start();
  Peer peer;
  auto session = service->open(offer_to(peer.port()), "127.0.0.1");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->local_sdp().ok());
  EXPECT_TRUE((*session)->telephone_event());
  Done done;
  (*session)->send_digits("9", done.fn());
  auto got = peer.drain();
  EXPECT_EQ(done.wait(), "");
  ASSERT_EQ(got.size(), 8u);  // 160..800 in five updates, then the end packet three times
  int ends = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    auto p = rtp::parse(got[i].data);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header.payload_type, 101);
    EXPECT_EQ(p->header.marker, i == 0);
    auto e = rtp::parse_event(p->payload);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->event, 9);
    EXPECT_EQ(e->duration, std::min<std::size_t>(160 * (i + 1), 800));
    ends += e->end;
  }
  EXPECT_EQ(ends, 3);
}

TEST(MediaSession, AnOfferToHoldIsAnsweredRecvonlyAndNothingIsSent) {
  auto service = start();
  Peer peer;
  auto session = service->open(offer_to(peer.port()), "127.0.0.1");
  ASSERT_TRUE(session.ok());
  auto first = (*session)->local_sdp();
  ASSERT_TRUE(first.ok());
  auto held = (*session)->remote_sdp(
      {call::RemoteSdp::Kind::offer, offer_to(peer.port(), "0 101", "sendonly")});
  ASSERT_TRUE(held.ok());
  EXPECT_NE(held->find("a=recvonly"), std::string::npos) << *held;
  EXPECT_EQ(sdp_port(*held), sdp_port(*first));
  EXPECT_NE(held->find("o=swmld "), std::string::npos);
  Done done;
  (*session)->play({{"silence:0.2"}, 0, "", "", ""}, done.fn());
  EXPECT_EQ(done.wait(), "");  // the sound still plays out, in time
  EXPECT_TRUE(peer.drain(100ms).empty());
}

TEST(MediaSession, WithoutAFreePortLocalSdpFailsAndAClosedSessionGivesItBack) {
  MediaConfig c = test_config();
  c.rtp_ports = {42300, 42301};
  auto service = start(c);
  Peer peer;
  auto a = service->open(offer_to(peer.port()), "127.0.0.1");
  auto b = service->open(offer_to(peer.port()), "127.0.0.1");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->local_sdp().ok());
  auto refused = (*b)->local_sdp();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("no free RTP port"), std::string::npos)
      << refused.error().message;
  (*a)->close();
  Result<std::string> again = refused;
  for (int i = 0; i < 50 && !again.ok(); ++i) {
    std::this_thread::sleep_for(10ms);  // the media thread closes the socket, then frees it
    again = (*b)->local_sdp();
  }
  EXPECT_TRUE(again.ok());
}

TEST(MediaSession, AnOfferWithoutACommonCodecIsRefusedWithTheReason) {
  auto service = start();
  auto s = service->open(offer_to(4000, "18"), "127.0.0.1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no common codec"), std::string::npos) << s.error().message;
  EXPECT_FALSE(service->open("not sdp", "127.0.0.1").ok());
}

TEST(MediaSession, ASoundThatCannotLoadIsSkippedAndReported) {
  auto fetcher = [](const std::string&, std::size_t, std::function<void(FetchResult)> done) {
    FetchResult r;
    r.status = 404;
    done(r);
  };
  auto service = start(test_config(), fetcher);
  Peer peer;
  auto session = service->open(offer_to(peer.port()), "127.0.0.1");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->local_sdp().ok());
  Done done;
  (*session)->play({{"http://sounds.test/missing.wav", "tts:nope", "silence:0.1"}, 0, "", "", ""},
                   done.fn());
  auto got = peer.drain();
  auto error = done.wait();
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("HTTP 404"), std::string::npos) << *error;
  EXPECT_NE(error->find("'tts:nope' is not a playable sound"), std::string::npos) << *error;
  EXPECT_EQ(got.size(), 5u);  // the silence played all the same
  EXPECT_EQ(service->stats().load_failures, 1u);
}

TEST(MediaSession, StopEndsThePlayAtOnce) {
  auto service = start();
  Peer peer;
  auto session = service->open(offer_to(peer.port()), "127.0.0.1");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->local_sdp().ok());
  Done done;
  (*session)->play({{"silence:10"}, 0, "", "", ""}, done.fn());
  ASSERT_TRUE(peer.receive(1000ms));
  auto stopped = Clock::now();
  (*session)->stop();
  EXPECT_EQ(done.wait(1s), "");
  EXPECT_LT(Clock::now() - stopped, 100ms);
  peer.drain(100ms);
  EXPECT_FALSE(peer.receive(200ms));
}

// A re-INVITE repeating the SDP (a session refresh; a storm of them) changes nothing on the
// wire: the stream stays latched to where the caller's RTP comes from, no new marker.
TEST(MediaSession, AReinviteWithTheSameSdpKeepsTheLatchAndTheTalkspurt) {
  auto service = start();
  Peer announced, real;  // the caller's SDP says `announced`; its RTP comes from `real` (NAT)
  auto session = service->open(offer_to(announced.port()), "127.0.0.1");
  ASSERT_TRUE(session.ok());
  auto sdp = (*session)->local_sdp();
  ASSERT_TRUE(sdp.ok());
  Done done;
  (*session)->play({{"silence:1.5"}, 0, "", "", ""}, done.fn());
  ASSERT_TRUE(announced.receive(1000ms));
  std::vector<std::uint8_t> packet(rtp::kHeaderSize + 160, 0xFF);
  rtp::write_header({true, 0, 1, 160, 0xCA11E5}, packet.data());
  real.send_to(sdp_port(*sdp), packet);
  ASSERT_TRUE(real.receive(500ms));  // latched
  for (int i = 0; i < 20; ++i) {
    auto again = (*session)->remote_sdp({call::RemoteSdp::Kind::offer, offer_to(announced.port())});
    ASSERT_TRUE(again.ok());
  }
  announced.drain(100ms);
  auto got = real.drain(300ms);
  EXPECT_EQ(done.wait(), "");
  ASSERT_GT(got.size(), 40u);  // the rest of the 1.5 s went where the RTP came from
  for (const auto& r : got) EXPECT_FALSE(rtp::parse(r.data)->header.marker);
  EXPECT_FALSE(announced.receive(100ms));
}

// What a far end sends that is not the call's media is dropped and counted by kind; RTCP and
// STUN are not counted; keys stop at 25 a second after a burst of 16.
TEST(MediaSession, DatagramsThatAreNotTheCallsMediaAreCountedByKind) {
  auto service = start();
  Peer peer;
  Listening call;
  ASSERT_TRUE(listen_to(*service, peer, call));
  auto& sdp = call.sdp;
  auto& events = call.events;
  const int port = sdp_port(*sdp);
  std::vector<std::uint8_t> rtp96(rtp::kHeaderSize + 20, 0);
  rtp::write_header({false, 96, 1, 160, 0x1234}, rtp96.data());
  std::vector<std::uint8_t> rtcp{0x80, 201, 0, 1, 0, 0, 0x12, 0x34};
  for (int i = 0; i < 10; ++i) {
    peer.send_to(port, {0x40, 1, 2, 3});  // version 1
    peer.send_to(port, {});
    peer.send_to(port, rtp96);
    peer.send_to(port, rtcp);
  }
  for (std::uint32_t i = 0; i < 100; ++i) {  // a new key in every packet
    std::vector<std::uint8_t> key(rtp::kHeaderSize + rtp::kEventSize);
    rtp::write_header({false, 101, static_cast<std::uint16_t>(i), 1000 + 160 * i, 0x1234},
                      key.data());
    rtp::write_event({static_cast<std::uint8_t>(i % 10), false, 10, 160},
                     key.data() + rtp::kHeaderSize);
    peer.send_to(port, key);
  }
  auto deadline = Clock::now() + 2s;
  while (service->stats().packets_received < 140 && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  auto st = service->stats();
  EXPECT_EQ(st.packets_received, 140u);
  EXPECT_EQ(st.dropped_not_rtp, 20u);
  EXPECT_EQ(st.dropped_payload_type, 10u);
  EXPECT_GE(st.dropped_keys, 80u);  // 16 at once, and one more per 40 ms the sending took
  EXPECT_LE(st.dropped_keys, 84u);
  EXPECT_EQ(events->digits(0ms, 0).size() + st.dropped_keys, 100u);
}

// With rtp.rtcp, a compound SR + SDES packet goes to the far end's RTP port + 1 every 5 s,
// counting what was sent.
TEST(MediaSession, RtcpSenderReportsGoToThePortAboveTheRtpPort) {
  MediaConfig c = test_config();
  c.rtcp = true;
  auto service = start(c);
  std::unique_ptr<Peer> rtp_peer, rtcp_peer;
  for (int port = 43000; port < 43100 && !rtcp_peer; port += 2) {
    rtp_peer = std::make_unique<Peer>(port);
    auto next = std::make_unique<Peer>(port + 1);
    if (rtp_peer->bound() && next->bound()) rtcp_peer = std::move(next);
  }
  ASSERT_TRUE(rtcp_peer);
  auto session = service->open(offer_to(rtp_peer->port()), "127.0.0.1");
  ASSERT_TRUE(session.ok());
  auto sdp = (*session)->local_sdp();
  ASSERT_TRUE(sdp.ok());
  Done done;
  (*session)->play({{"silence:6"}, 0, "", "", ""}, done.fn());
  auto report = rtcp_peer->receive(7000ms);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->from_port, sdp_port(*sdp) + 1);
  const auto& d = report->data;
  ASSERT_GE(d.size(), 28u + 8u);
  EXPECT_EQ(d[0], 0x80);      // V=2, no padding, RC=0
  EXPECT_EQ(d[1], 200);       // SR
  EXPECT_EQ(d[28 + 1], 202);  // then SDES
  auto u32 = [&](std::size_t at) {
    return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) |
           (std::uint32_t{d[at + 2]} << 8) | d[at + 3];
  };
  std::uint32_t packets = u32(20), octets = u32(24);
  EXPECT_GE(packets, 230u);  // about 5 s of 20 ms packets
  EXPECT_LE(packets, 260u);
  EXPECT_EQ(octets, packets * 160);
  auto first = rtp::parse(rtp_peer->receive(100ms)->data);
  ASSERT_TRUE(first);
  EXPECT_EQ(u32(4), first->header.ssrc);
  (*session)->stop();
  EXPECT_EQ(done.wait(), "");
}

}  // namespace
}  // namespace swmld::media
