// The observability endpoint (design.md §7): GET /metrics (Prometheus text), GET /healthz
// (liveness: 200 "ok", 503 "draining") and GET /readyz (readiness: 200 "ready" once the SIP
// stack listens with its configuration loaded, 503 "starting" before, 503 "draining" after
// SIGTERM). Boost.Beast on the engine io_context.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "swmld/core/error.hpp"

namespace swmld::app {

class MetricsServer {
 public:
  // `listen` is "host:port" ("127.0.0.1:9090", "[::1]:9090"). `render` builds the /metrics
  // body (called on an engine thread); `draining` makes /healthz and /readyz answer 503,
  // `ready` false makes /readyz answer 503. The flags must outlive the server.
  static Result<std::shared_ptr<MetricsServer>> start(boost::asio::io_context& io,
                                                      const std::string& listen,
                                                      std::function<std::string()> render,
                                                      const std::atomic<bool>& draining,
                                                      const std::atomic<bool>& ready);
  virtual ~MetricsServer() = default;
  virtual void stop() = 0;
  virtual unsigned short port() const = 0;
};

}  // namespace swmld::app
