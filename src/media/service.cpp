// media::Service: the shared Core, and sessions negotiated per INVITE.
#include "swmld/media/service.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core.hpp"
#include "sdp.hpp"
#include "session.hpp"

namespace swmld::media {
namespace {

class ServiceImpl final : public Service {
 public:
  explicit ServiceImpl(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  using Service::open;
  Result<std::unique_ptr<call::MediaControl>> open(std::string_view remote_offer,
                                                   const std::string& local_address,
                                                   std::shared_ptr<Placement> placement) override {
    const MediaConfig& c = core_->config;
    std::string address = c.public_address.empty() ? local_address : c.public_address;
    if (remote_offer.empty())  // late offer: ours goes in the 200
      return std::unique_ptr<call::MediaControl>(std::make_unique<Session>(
          core_, std::nullopt, std::nullopt, std::move(address), std::move(placement)));
    auto offer = parse_sdp(remote_offer);
    if (!offer) return make_error(ErrorCode::method_execute_failed, "unparsable SDP offer");
    std::string reason;
    auto choice = choose_media(*offer, c.codecs, c.ptime_ms, &reason);
    if (!choice) return make_error(ErrorCode::method_execute_failed, reason);
    return std::unique_ptr<call::MediaControl>(std::make_unique<Session>(
        core_, std::move(offer), std::move(choice), std::move(address), std::move(placement)));
  }

  ServiceStats stats() const override {
    ServiceStats s;
    const MediaCounters& m = core_->counters;
    s.streams_active = m.streams.load();
    s.ports_free = core_->ports.available();
    s.packets_sent = m.packets_sent.load();
    s.packets_received = m.packets_received.load();
    s.dropped_not_rtp = m.dropped_not_rtp.load();
    s.dropped_payload_type = m.dropped_payload_type.load();
    s.dropped_keys = m.dropped_keys.load();
    s.late_ticks = m.late_ticks.load();
    s.packets_relayed = m.relayed.load();
    s.relay_dropped_late = m.relay_late.load();
    s.relay_dropped_overflow = m.relay_overflow.load();
    s.bridges_across_threads = m.bridges_across_threads.load();
    const AudioCache& cache = core_->loader.cache();
    s.cache_bytes = cache.bytes();
    s.cache_entries = cache.entries();
    s.cache_hits = cache.hits();
    s.cache_misses = cache.misses();
    s.load_failures = core_->loader.failures();
    s.jobs_queued = core_->loader.jobs_queued();
    s.recordings_active =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, core_->recordings_active.load()));
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
      recorder(std::make_unique<RecordWriter>(2)),
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
