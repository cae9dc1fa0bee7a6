// relay_driver: swmld's RTP relay without SIP, for bench/relay_load. It starts the media
// module (media::Service, as `swmld serve` does) and sets up N bridged calls the way the
// engine's `connect` does: leg A answers an offer from the load tool's endpoint A, leg B is
// an outbound leg (opened without an offer; its offer answered by endpoint B), then
// A.bridge(B). It writes one "portA portB" line per call (A sends to portA, B to portB) and
// relays until SIGTERM/SIGINT, then prints the media counters.
//
// usage: relay_driver -n CALLS -b TOOL_BASE -o PORTS_FILE [-p RTP_MIN] [-t MEDIA_THREADS] [-x]
//   TOOL_BASE: rtpload's -b (its endpoint A of call i is 127.0.0.1:BASE+4i, B is +2)
//   -x: a call's legs are placed apart (round robin each), as before they shared a
//       media::Placement: with -t 2 every relayed packet crosses between threads.
#include <getopt.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "swmld/media/service.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

std::string sdp_for(int port) {
  return "v=0\r\no=rtpload 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio " +
         std::to_string(port) +
         " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
         "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";
}

int port_of(const std::string& sdp) {
  auto m = sdp.find("m=audio ");
  return m == std::string::npos ? 0 : std::stoi(sdp.substr(m + 8));
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 100, base = 20000, rtp_min = 24000, threads = 1;
  bool apart = false;
  std::string ports_file = "ports.txt";
  for (int opt; (opt = ::getopt(argc, argv, "n:b:o:p:t:x")) != -1;) {
    switch (opt) {
      case 'n':
        calls = std::stoi(optarg);
        break;
      case 'b':
        base = std::stoi(optarg);
        break;
      case 'o':
        ports_file = optarg;
        break;
      case 'p':
        rtp_min = std::stoi(optarg);
        break;
      case 't':
        threads = std::stoi(optarg);
        break;
      case 'x':
        apart = true;
        break;
      default:
        std::fprintf(stderr,
                     "usage: relay_driver -n CALLS -b TOOL_BASE -o PORTS_FILE [-p RTP_MIN] "
                     "[-t MEDIA_THREADS] [-x]\n");
        return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  rlimit fds{static_cast<rlim_t>(4 * calls + 256), static_cast<rlim_t>(4 * calls + 256)};
  ::setrlimit(RLIMIT_NOFILE, &fds);

  swmld::media::MediaConfig config;
  config.rtp_ports = {rtp_min, rtp_min + 4 * calls + 3};  // 2 legs a call, even ports
  config.threads = threads;
  auto service = swmld::media::Service::start(config, nullptr);
  if (!service) {
    std::fprintf(stderr, "relay_driver: %s\n", service.error().message.c_str());
    return 1;
  }
  std::vector<std::unique_ptr<swmld::call::MediaControl>> legs;
  std::ofstream out(ports_file + ".tmp");
  for (int c = 0; c < calls; ++c) {
    // As `serve` does: the call's legs share a media thread.
    auto placement = apart ? nullptr : std::make_shared<swmld::media::Placement>();
    auto a = (*service)->open(sdp_for(base + 4 * c), "127.0.0.1", placement);  // the caller's
    auto b = (*service)->open("", "127.0.0.1", placement);                     // outbound
    if (!a || !b) {
      std::fprintf(stderr, "relay_driver: open failed at call %d\n", c);
      return 1;
    }
    auto answer = (*a)->local_sdp();
    auto offer = (*b)->local_sdp();
    if (!answer || !offer) {
      std::fprintf(stderr, "relay_driver: no RTP port at call %d\n", c);
      return 1;
    }
    auto answered =
        (*b)->remote_sdp({swmld::call::RemoteSdp::Kind::answer, sdp_for(base + 4 * c + 2)});
    auto bridged = (*a)->bridge(**b);
    if (!answered || !bridged) {
      std::fprintf(stderr, "relay_driver: bridge failed at call %d: %s\n", c,
                   (!answered ? answered.error() : bridged.error()).message.c_str());
      return 1;
    }
    out << port_of(*answer) << ' ' << port_of(*offer) << '\n';
    legs.push_back(std::move(*a));
    legs.push_back(std::move(*b));
  }
  out.close();
  std::rename((ports_file + ".tmp").c_str(), ports_file.c_str());

  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  while (!stop_requested) ::pause();

  auto s = (*service)->stats();
  for (auto& leg : legs) leg->close();
  std::fprintf(stderr,
               "relay_driver: calls=%d threads=%d streams=%llu packets_received=%llu "
               "packets_sent=%llu dropped_not_rtp=%llu dropped_payload_type=%llu late_ticks=%llu\n",
               calls, threads, static_cast<unsigned long long>(s.streams_active),
               static_cast<unsigned long long>(s.packets_received),
               static_cast<unsigned long long>(s.packets_sent),
               static_cast<unsigned long long>(s.dropped_not_rtp),
               static_cast<unsigned long long>(s.dropped_payload_type),
               static_cast<unsigned long long>(s.late_ticks));
  return 0;
}
