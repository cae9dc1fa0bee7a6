// The observability endpoint (design.md §7): GET /metrics (Prometheus text) and
// GET /healthz (200 "ok", 503 "draining"). Boost.Beast on the engine io_context.
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
  // body; `draining` makes /healthz answer 503. Both are called on an engine thread.
  static Result<std::shared_ptr<MetricsServer>> start(boost::asio::io_context& io,
                                                      const std::string& listen,
                                                      std::function<std::string()> render,
                                                      const std::atomic<bool>& draining);
  virtual ~MetricsServer() = default;
  virtual void stop() = 0;
  virtual unsigned short port() const = 0;
};

}  // namespace swmld::app
