// `swmld serve`: the composition root. Builds the object graph (engine threads, HTTP client,
// callback poster, SIP stack), admits and routes calls, and shuts down gracefully.
#pragma once

#include <memory>

#include "config.hpp"
#include "swmld/core/error.hpp"

namespace swmld::app {

class Server {
 public:
  // Loads every file route's document, starts the engine threads, the HTTP client and the
  // SIP stack. Any failure (bad route document, port in use) is an Error naming it.
  static Result<std::unique_ptr<Server>> start(Config config);
  ~Server();

  // Blocks until SIGTERM or SIGINT, then drains: new INVITEs get 503, running calls get up to
  // shutdown.drain_timeout to finish, then everything stops. Returns the exit code (0).
  // The signals must be blocked in every thread before start() (see block_signals()).
  int run_until_signal();

  // Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread (and the threads it creates).
  static void block_signals();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swmld::app
