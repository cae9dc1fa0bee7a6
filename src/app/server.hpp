// `swmld serve`: the composition root. Builds the object graph (engine threads, HTTP client,
// callback poster, SIP stack), admits and routes calls, and shuts down gracefully.
#pragma once

#include <functional>
#include <memory>

#include "config.hpp"
#include "swmld/core/error.hpp"

namespace swmld::app {

class Server {
 public:
  // Reads the configuration again, as at start-up (file, environment, command line), and
  // validates it; called on the main thread at SIGHUP.
  using ConfigSource = std::function<Result<Config>()>;

  // Loads every file route's document, starts the engine threads, the HTTP client and the
  // SIP stack. Any failure (bad route document, port in use) is an Error naming it.
  // `source` (may be empty: SIGHUP then reloads the route documents only) serves reloads.
  static Result<std::unique_ptr<Server>> start(Config config, ConfigSource source = {});
  ~Server();

  // Blocks until SIGTERM or SIGINT, then drains: new INVITEs get 503, running calls get up to
  // shutdown.drain_timeout to finish, then everything stops. Returns the exit code (0).
  // SIGHUP meanwhile reloads the configuration (docs/operations.md): new calls take the new
  // routes, documents and limits, running calls keep theirs; an invalid configuration is
  // refused and logged, and the running one stays. With $NOTIFY_SOCKET set, systemd hears
  // READY=1, RELOADING=1 and STOPPING=1 (sd_notify.hpp).
  // The signals must be blocked in every thread before start() (see block_signals()).
  int run_until_signal();

  // Blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread (and the threads it
  // creates).
  static void block_signals();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swmld::app
