// media::Service: configuration checks, the shared Core, and sessions negotiated per INVITE.
#include "swmld/media/service.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core.hpp"
#include "sdp.hpp"
#include "session.hpp"

namespace swmld::media {
namespace {

// As the configuration reader words it: "config key 'rtp.ptime': ...".
Error config_error(const std::string& key, const std::string& message) {
  return make_error(ErrorCode::element_invalid_value, "config key '" + key + "': " + message);
}

}  // namespace

Status validate(const MediaConfig& c) {
  auto [first, last] = c.rtp_ports;
  if (first < 1024 || last > 65535 || last < first + 1 + first % 2)
    return config_error(
        "rtp.port_min/port_max",
        "need 1024 <= port_min < port_max <= 65535 with an even port and the one above it, got " +
            std::to_string(first) + "-" + std::to_string(last));
  if (c.codecs.empty()) return config_error("rtp.codecs", "at least one of PCMU, PCMA");
  for (const auto& codec : c.codecs)
    if (static_payload_type(codec) < 0)
      return config_error("rtp.codecs", "'" + codec + "' is not supported (PCMU, PCMA)");
  if (c.ptime_ms < 10 || c.ptime_ms > 60 || c.ptime_ms % 10)
    return config_error("rtp.ptime",
                        "10, 20, 30, 40, 50 or 60 ms, got " + std::to_string(c.ptime_ms));
  if (c.threads < 1 || c.threads > 64) return config_error("rtp.threads", "1 to 64");
  if (c.workers < 1 || c.workers > 64) return config_error("media.workers", "1 to 64");
  if (c.dtmf_duration_ms < 40 || c.dtmf_duration_ms > 8000)
    return config_error("media.dtmf_duration_ms", "40 to 8000");
  if (c.dtmf_gap_ms < 20 || c.dtmf_gap_ms > 5000)
    return config_error("media.dtmf_gap_ms", "20 to 5000");
  if (c.dtmf_volume < 0 || c.dtmf_volume > 63)
    return config_error("media.dtmf_volume", "0 to 63 (-dBm0)");
  if (c.max_sound_seconds <= 0 || c.max_sound_seconds > 3600)
    return config_error("media.max_seconds", "above 0 and at most 3600");
  return Ok{};
}

namespace {

class ServiceImpl final : public Service {
 public:
  explicit ServiceImpl(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  Result<std::unique_ptr<call::MediaControl>> open(std::string_view remote_offer,
                                                   const std::string& local_address) override {
    const MediaConfig& c = core_->config;
    std::string address = c.public_address.empty() ? local_address : c.public_address;
    if (remote_offer.empty())  // late offer: ours goes in the 200
      return std::unique_ptr<call::MediaControl>(
          std::make_unique<Session>(core_, std::nullopt, std::nullopt, std::move(address)));
    auto offer = parse_sdp(remote_offer);
    if (!offer) return make_error(ErrorCode::method_execute_failed, "unparsable SDP offer");
    std::string reason;
    auto choice = choose_media(*offer, c.codecs, c.ptime_ms, &reason);
    if (!choice) return make_error(ErrorCode::method_execute_failed, reason);
    return std::unique_ptr<call::MediaControl>(
        std::make_unique<Session>(core_, std::move(offer), std::move(choice), std::move(address)));
  }

  ServiceStats stats() const override {
    ServiceStats s;
    const MediaCounters& m = core_->counters;
    s.streams_active = m.streams.load();
    s.ports_free = core_->ports.available();
    s.packets_sent = m.packets_sent.load();
    s.packets_received = m.packets_received.load();
    s.late_ticks = m.late_ticks.load();
    const AudioCache& cache = core_->loader.cache();
    s.cache_bytes = cache.bytes();
    s.cache_entries = cache.entries();
    s.cache_hits = cache.hits();
    s.cache_misses = cache.misses();
    s.load_failures = core_->loader.failures();
    s.jobs_queued = core_->loader.jobs_queued();
    return s;
  }

  const MediaConfig& config() const override { return core_->config; }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

Core::Core(MediaConfig c, Fetcher fetcher)
    : config(std::move(c)),
      ports(config.rtp_ports.first, config.rtp_ports.second),
      loader(config, std::move(fetcher)),
      next_session_id(static_cast<std::uint64_t>(
          std::chrono::system_clock::now().time_since_epoch() / std::chrono::seconds(1))) {
  for (int i = 0; i < config.threads; ++i)
    threads.push_back(std::make_unique<MediaThread>(i, counters));
}

Core::~Core() {
  for (auto& t : threads) t->stop();
  ports.close_sockets();
}

Result<std::unique_ptr<Service>> Service::start(MediaConfig config, Fetcher fetcher) {
  if (auto s = validate(config); !s) return s.error();
  auto core = std::make_shared<Core>(std::move(config), std::move(fetcher));
  return std::unique_ptr<Service>(std::make_unique<ServiceImpl>(std::move(core)));
}

}  // namespace swmld::media
