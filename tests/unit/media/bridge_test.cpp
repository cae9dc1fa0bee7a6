// Two media sessions bridged (connect), with real sockets on loopback: a caller's leg that
// answered an offer and an outbound leg that offered and got an answer. What one far end
// sends arrives at the other from the other leg's port, as that leg's own stream.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
// clang-format on

#include "media/rtp/packet.hpp"
#include "swmld/media/service.hpp"

namespace swmld::media {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A far end's RTP socket on 127.0.0.1 (a free port).
class Peer {
 public:
  Peer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Peer() { ::close(fd_); }
  int port() const { return port_; }

  struct Received {
    std::vector<std::uint8_t> data;
    int from_port = 0;
    rtp::Header header() const { return rtp::parse(data)->header; }
    std::vector<std::uint8_t> payload() const {
      auto p = rtp::parse(data)->payload;
      return {p.begin(), p.end()};
    }
  };
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
    r.from_port = ntohs(from.sin_port);
    return r;
  }
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
  // One RTP packet: `samples` bytes of `fill` (or counting up from `fill` when `ramp`).
  void send_audio(int port, std::uint8_t pt, std::uint16_t seq, std::uint32_t ts,
                  std::size_t samples, std::uint8_t fill, bool ramp = false, bool marker = false) {
    std::vector<std::uint8_t> packet(rtp::kHeaderSize + samples, fill);
    if (ramp)
      for (std::size_t i = 0; i < samples; ++i)
        packet[rtp::kHeaderSize + i] = static_cast<std::uint8_t>(fill + i);
    rtp::write_header({marker, pt, seq, ts, 0xA11CE}, packet.data());
    send_to(port, packet);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string sdp_to(int port, const std::string& codec_pt, int te_pt, int ptime) {
  std::string codec = codec_pt == "8" ? "PCMA" : "PCMU";
  return "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio " +
         std::to_string(port) + " RTP/AVP " + codec_pt + " " + std::to_string(te_pt) +
         "\r\na=rtpmap:" + codec_pt + " " + codec + "/8000\r\na=rtpmap:" + std::to_string(te_pt) +
         " telephone-event/8000\r\na=fmtp:" + std::to_string(te_pt) +
         " 0-16\r\na=ptime:" + std::to_string(ptime) + "\r\na=sendrecv\r\n";
}

int sdp_port(const std::string& sdp) {
  auto m = sdp.find("m=audio ");
  return m == std::string::npos ? 0 : std::stoi(sdp.substr(m + 8));
}

class Events final : public call::Events {
 public:
  void post(call::Event e) override {
    std::lock_guard lock(mu_);
    if (const auto* d = std::get_if<call::Dtmf>(&e)) digits_.push_back(d->digit);
    cv_.notify_all();
  }
  std::vector<char> digits(std::chrono::milliseconds wait, std::size_t want) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return digits_.size() >= want; });
    return digits_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<char> digits_;
};

MediaConfig test_config(int threads = 1) {
  MediaConfig c;
  c.rtp_ports = {42400, 42599};
  c.threads = threads;
  return c;
}

// A bridged call: leg A answered peer A's offer (PCMU, 20 ms, telephone-event 101); leg B
// is an outbound leg that offered, and peer B answered with `b_codec`, `b_te`, `b_ptime`.
struct Bridged {
  std::unique_ptr<Service> service;
  Peer peer_a, peer_b;
  std::unique_ptr<call::MediaControl> a, b;
  std::shared_ptr<Events> events_a = std::make_shared<Events>();
  int port_a = 0, port_b = 0;

  explicit Bridged(const std::string& b_codec = "0", int b_te = 101, int b_ptime = 20,
                   int threads = 1) {
    auto s = Service::start(test_config(threads), nullptr);
    EXPECT_TRUE(s.ok());
    service = std::move(*s);
    auto opened_a = service->open(sdp_to(peer_a.port(), "0", 101, 20), "127.0.0.1");
    auto opened_b = service->open("", "127.0.0.1");
    EXPECT_TRUE(opened_a.ok() && opened_b.ok());
    a = std::move(*opened_a);
    b = std::move(*opened_b);
    a->attach(events_a);
    auto sdp_a = a->local_sdp();
    auto offer_b = b->local_sdp();
    EXPECT_TRUE(sdp_a.ok() && offer_b.ok());
    port_a = sdp_port(*sdp_a);
    port_b = sdp_port(*offer_b);
    auto answered = b->remote_sdp(
        {call::RemoteSdp::Kind::answer, sdp_to(peer_b.port(), b_codec, b_te, b_ptime)});
    EXPECT_TRUE(answered.ok()) << answered.error().message;
    auto bridged = a->bridge(*b);
    EXPECT_TRUE(bridged.ok()) << bridged.error().message;
    std::this_thread::sleep_for(50ms);  // the streams are set up on their media threads
  }
};

// Checks one leg's stream as the far end saw it: from the leg's port, one SSRC, sequence
// numbers without gaps, timestamps `step` apart, the marker on the first packet only.
void expect_continuous(const std::vector<Peer::Received>& got, int from_port, std::uint32_t step,
                       const std::string& what) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(what + " packet " + std::to_string(i));
    EXPECT_EQ(got[i].from_port, from_port);
    auto h = got[i].header();
    EXPECT_EQ(h.marker, i == 0);
    if (i == 0) continue;
    auto prev = got[i - 1].header();
    EXPECT_EQ(h.ssrc, prev.ssrc);
    EXPECT_EQ(h.seq, static_cast<std::uint16_t>(prev.seq + 1));
    EXPECT_EQ(h.timestamp, prev.timestamp + step);
  }
}

TEST(MediaBridge, WhatOneLegReceivesLeavesTheOtherAsItsOwnContinuousStream) {
  Bridged call;
  for (std::uint16_t i = 0; i < 50; ++i)
    call.peer_a.send_audio(call.port_a, 0, static_cast<std::uint16_t>(900 + i), 4000 + 160u * i,
                           160, static_cast<std::uint8_t>(i), true, i == 0);
  auto at_b = call.peer_b.drain();
  ASSERT_EQ(at_b.size(), 50u);
  expect_continuous(at_b, call.port_b, 160, "A->B");
  for (std::size_t i = 0; i < at_b.size(); ++i) {
    EXPECT_EQ(at_b[i].header().payload_type, 0);
    EXPECT_NE(at_b[i].header().ssrc, 0xA11CEu);  // leg B's own SSRC, not the caller's
    EXPECT_EQ(at_b[i].payload()[0], static_cast<std::uint8_t>(i));
    EXPECT_EQ(at_b[i].payload()[159], static_cast<std::uint8_t>(i + 159));
  }
  // And back: what peer B sends leaves leg A.
  for (std::uint16_t i = 0; i < 10; ++i)
    call.peer_b.send_audio(call.port_b, 0, i, 160u * i, 160, 0x42);
  auto at_a = call.peer_a.drain();
  ASSERT_EQ(at_a.size(), 10u);
  expect_continuous(at_a, call.port_a, 160, "B->A");
  auto stats = call.service->stats();
  EXPECT_EQ(stats.packets_relayed, 60u);
  EXPECT_EQ(stats.relay_dropped_late, 0u);
  EXPECT_EQ(stats.relay_dropped_overflow, 0u);
}

TEST(MediaBridge, PcmuInLeavesAsPcmaRepacketisedFromTwentyToThirtyMs) {
  Bridged call("8", 101, 30);
  std::vector<std::uint8_t> sent;
  for (std::uint16_t i = 0; i < 30; ++i) {
    call.peer_a.send_audio(call.port_a, 0, i, 160u * i, 160, static_cast<std::uint8_t>(i * 5),
                           true);
    for (std::size_t k = 0; k < 160; ++k) sent.push_back(static_cast<std::uint8_t>(i * 5 + k));
  }
  auto at_b = call.peer_b.drain();
  ASSERT_EQ(at_b.size(), 20u);  // 4,800 samples in 240-sample frames
  expect_continuous(at_b, call.port_b, 240, "A->B");
  std::vector<std::uint8_t> got;
  for (const auto& r : at_b) {
    EXPECT_EQ(r.header().payload_type, 8);
    auto p = r.payload();
    ASSERT_EQ(p.size(), 240u);
    got.insert(got.end(), p.begin(), p.end());
  }
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t k = 0; k < got.size(); ++k)
    ASSERT_EQ(got[k], ulaw_to_alaw(sent[k])) << "sample " << k;
}

TEST(MediaBridge, Rfc4733DigitsAreRelayedWithTheOtherLegsPayloadTypeAndStillReported) {
  Bridged call("0", 96);
  rtp::DtmfPlan plan;
  auto steps = rtp::plan_digits("5", plan);
  std::uint16_t seq = 10;
  std::uint32_t ts = 1000, event_ts = 0;
  std::size_t events_sent = 0;
  for (const auto& step : steps) {
    if (step.kind == rtp::DtmfStep::Kind::event) {
      if (step.new_event) event_ts = ts;
      std::vector<std::uint8_t> packet(rtp::kHeaderSize + rtp::kEventSize);
      rtp::write_header({step.new_event, 101, seq++, event_ts, 0xA11CE}, packet.data());
      rtp::write_event(step.event, packet.data() + rtp::kHeaderSize);
      call.peer_a.send_to(call.port_a, packet);
      ++events_sent;
    }
    ts += 160;
  }
  EXPECT_EQ(call.events_a->digits(2s, 1), std::vector<char>{'5'});
  auto at_b = call.peer_b.drain();
  ASSERT_EQ(at_b.size(), events_sent);
  int ends = 0;
  for (std::size_t i = 0; i < at_b.size(); ++i) {
    auto h = at_b[i].header();
    EXPECT_EQ(h.payload_type, 96);
    EXPECT_EQ(h.marker, i == 0);
    EXPECT_EQ(h.timestamp, at_b[0].header().timestamp);  // one event, one timestamp
    if (i > 0) {
      EXPECT_EQ(h.seq, static_cast<std::uint16_t>(at_b[i - 1].header().seq + 1));
    }
    auto e = rtp::parse_event(at_b[i].payload());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->event, 5);
    ends += e->end;
  }
  EXPECT_EQ(ends, 3);
}

TEST(MediaBridge, APlayOnABridgedLegReplacesTheRelayTowardItThenTheRelayResumes) {
  Bridged call;
  std::atomic<bool> stop{false};
  std::thread caller([&] {  // peer A talks: 20 ms packets of 0x55 for as long as the test
    auto next = Clock::now();
    for (std::uint16_t i = 0; !stop; ++i) {
      call.peer_a.send_audio(call.port_a, 0, i, 160u * i, 160, 0x55);
      next += 20ms;
      std::this_thread::sleep_until(next);
    }
  });
  std::this_thread::sleep_for(300ms);
  std::promise<std::string> played;
  call.b->play({{"silence:0.3"}, 0, "", "", ""},
               [&](std::string e) { played.set_value(std::move(e)); });
  auto done = played.get_future();
  EXPECT_EQ(done.wait_for(2s), std::future_status::ready);
  std::this_thread::sleep_for(300ms);
  stop = true;
  caller.join();
  auto at_b = call.peer_b.drain(200ms);
  // Relayed (0x55), then the play (silence, 0xFF), then relayed again; one stream throughout.
  std::vector<std::pair<std::uint8_t, std::size_t>> runs;
  for (const auto& r : at_b) {
    auto first = r.payload()[0];
    if (runs.empty() || runs.back().first != first) runs.push_back({first, 0});
    ++runs.back().second;
  }
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].first, 0x55);
  EXPECT_EQ(runs[1].first, 0xFF);
  EXPECT_EQ(runs[1].second, 15u);  // 300 ms of silence in 20 ms packets
  EXPECT_EQ(runs[2].first, 0x55);
  EXPECT_GE(runs[2].second, 5u);
  for (std::size_t i = 1; i < at_b.size(); ++i) {
    auto h = at_b[i].header(), prev = at_b[i - 1].header();
    EXPECT_EQ(h.ssrc, prev.ssrc);
    EXPECT_EQ(h.seq, static_cast<std::uint16_t>(prev.seq + 1));
    EXPECT_GT(static_cast<std::int32_t>(h.timestamp - prev.timestamp), 0) << "packet " << i;
    // A new talkspurt where the source changes.
    EXPECT_EQ(h.marker, at_b[i].payload()[0] != at_b[i - 1].payload()[0]) << "packet " << i;
  }
}

TEST(MediaBridge, UnbridgeOrCloseOfEitherLegStopsTheRelayBothWays) {
  Bridged call;
  call.peer_a.send_audio(call.port_a, 0, 1, 160, 160, 0x11);
  ASSERT_EQ(call.peer_b.drain(200ms).size(), 1u);
  call.a->unbridge();
  std::this_thread::sleep_for(30ms);
  call.peer_a.send_audio(call.port_a, 0, 2, 320, 160, 0x11);
  call.peer_b.send_audio(call.port_b, 0, 2, 320, 160, 0x11);
  EXPECT_TRUE(call.peer_b.drain(200ms).empty());
  EXPECT_TRUE(call.peer_a.drain(100ms).empty());

  ASSERT_TRUE(call.b->bridge(*call.a).ok());  // again, the other way round
  std::this_thread::sleep_for(30ms);
  call.peer_b.send_audio(call.port_b, 0, 3, 480, 160, 0x22);
  ASSERT_EQ(call.peer_a.drain(200ms).size(), 1u);
  call.b->close();
  std::this_thread::sleep_for(30ms);
  call.peer_a.send_audio(call.port_a, 0, 4, 640, 160, 0x11);
  EXPECT_TRUE(call.peer_b.drain(200ms).empty());
  EXPECT_FALSE(call.a->bridge(*call.b).ok());  // a closed leg does not bridge
}

TEST(MediaBridge, LegsOnDifferentMediaThreadsRelayThroughTheQueue) {
  Bridged call("0", 101, 20, 2);
  for (std::uint16_t i = 0; i < 40; ++i) {
    call.peer_a.send_audio(call.port_a, 0, i, 160u * i, 160, static_cast<std::uint8_t>(i));
    call.peer_b.send_audio(call.port_b, 0, i, 160u * i, 160, static_cast<std::uint8_t>(i));
    std::this_thread::sleep_for(2ms);
  }
  auto at_b = call.peer_b.drain();
  auto at_a = call.peer_a.drain(50ms);
  ASSERT_EQ(at_b.size(), 40u);
  ASSERT_EQ(at_a.size(), 40u);
  expect_continuous(at_b, call.port_b, 160, "A->B");
  expect_continuous(at_a, call.port_a, 160, "B->A");
  for (std::size_t i = 0; i < 40; ++i) EXPECT_EQ(at_b[i].payload()[7], i);
  EXPECT_EQ(call.service->stats().bridges_across_threads, 1u);  // (opened without a Placement)
}

TEST(MediaBridge, LegsOpenedWithOnePlacementShareAMediaThreadWhicheverTakesAPortFirst) {
  // Two media threads hand out new ports round robin: without a shared Placement the two
  // legs of a call land on different threads (the test above). With one, the second leg
  // follows the first, whether the caller's leg or the outbound one takes its port first
  // (answer_on_bridge: the caller's answer comes last).
  auto s = Service::start(test_config(2), nullptr);
  ASSERT_TRUE(s.ok());
  std::vector<std::unique_ptr<call::MediaControl>> legs;
  std::set<const MediaThread*> used;
  for (int call = 0; call < 4; ++call) {
    SCOPED_TRACE("call " + std::to_string(call));
    auto placement = std::make_shared<Placement>();
    auto a = (*s)->open("", "127.0.0.1", placement);
    auto b = (*s)->open("", "127.0.0.1", placement);
    ASSERT_TRUE(a.ok() && b.ok());
    auto& first = call % 2 ? *b : *a;
    auto& second = call % 2 ? *a : *b;
    ASSERT_TRUE(first->local_sdp().ok());
    ASSERT_NE(placement->thread, nullptr);
    ASSERT_TRUE(second->local_sdp().ok());
    ASSERT_TRUE((*a)->bridge(**b).ok());
    used.insert(placement->thread);
    legs.push_back(std::move(*a));
    legs.push_back(std::move(*b));
  }
  EXPECT_EQ((*s)->stats().bridges_across_threads, 0u);
  EXPECT_EQ(used.size(), 2u);  // the calls are still spread over both threads
  // Without a Placement, two legs are placed round robin: apart.
  auto apart_a = (*s)->open("", "127.0.0.1");
  auto apart_b = (*s)->open("", "127.0.0.1");
  ASSERT_TRUE(apart_a.ok() && apart_b.ok());
  ASSERT_TRUE((*apart_a)->local_sdp().ok() && (*apart_b)->local_sdp().ok());
  ASSERT_TRUE((*apart_a)->bridge(**apart_b).ok());
  EXPECT_EQ((*s)->stats().bridges_across_threads, 1u);
}

TEST(MediaBridge, EachLegLatchesOntoWhereItsFarEndsRtpComesFrom) {
  Bridged call;
  Peer nat_a, nat_b;  // what the SDPs name is not where the RTP comes from (NAT)
  nat_b.send_audio(call.port_b, 0, 1, 160, 160, 0x32);  // B latches onto nat_b
  auto first = call.peer_a.drain(200ms);                // A has not latched yet: to A's SDP address
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].payload()[0], 0x32);
  nat_a.send_audio(call.port_a, 0, 1, 160, 160, 0x31);  // A latches onto nat_a
  auto at_b = nat_b.drain(200ms);
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].payload()[0], 0x31);
  nat_b.send_audio(call.port_b, 0, 2, 320, 160, 0x33);
  auto at_a = nat_a.drain(200ms);
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_a[0].payload()[0], 0x33);
  EXPECT_TRUE(call.peer_a.drain(50ms).empty());
  EXPECT_TRUE(call.peer_b.drain(50ms).empty());
}

TEST(MediaBridge, ALegWithoutAPortYetCannotBeBridged) {
  auto s = Service::start(test_config(), nullptr);
  ASSERT_TRUE(s.ok());
  auto a = (*s)->open("", "127.0.0.1");
  auto b = (*s)->open("", "127.0.0.1");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->local_sdp().ok());
  auto r = (*a)->bridge(**b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no RTP port"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace swmld::media
