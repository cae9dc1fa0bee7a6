// A call run on an io_context against the fakes of tests/fakes: the test scripts the far
// end (FakeCall, FakeMedia) and reads what the engine asked for (Recorder) and posted.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_ports.hpp"
#include "swmld/engine/executor.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::engine {

using fakes::FakeCall;
using fakes::FakeMedia;
using fakes::FakePoster;
using fakes::Recorder;

struct Harness {
  boost::asio::io_context io;
  Recorder rec;
  EngineConfig config;
  FakeCall* call = nullptr;
  FakeMedia* media = nullptr;
  std::shared_ptr<FakePoster> poster = std::make_shared<FakePoster>();
  std::shared_ptr<fakes::FakeDialer> dialer = std::make_shared<fakes::FakeDialer>(rec);
  std::optional<CallOutcome> outcome;
  std::shared_ptr<CallRun> run;
  // When set, start() hands it to the call, which then alone owns it (the server's way since
  // configuration reloads); otherwise the call refers to `config`.
  std::shared_ptr<const EngineConfig> owned_config;
  std::function<Value()> make_call;  // the call's CallSetup::make_call (may stay empty)

  Harness() {
    config.node_id = "node-1";
    config.wall_clock = [] { return 1.5; };
  }

  // `setup` and `media_setup` script the far end before the call starts.
  void start(const char* text, std::function<void(FakeCall&)> setup = nullptr,
             std::function<void(FakeMedia&)> media_setup = nullptr) {
    swml::LoadOptions opts;
    opts.source_name = "test.yaml";
    auto doc = swml::load_document(text, opts);
    ASSERT_TRUE(doc.ok()) << doc.error().str();
    CallPorts ports;
    auto c = std::make_unique<FakeCall>(rec);
    auto m = std::make_unique<FakeMedia>(rec);
    call = c.get();
    media = m.get();
    if (setup) setup(*call);
    if (media_setup) media_setup(*media);
    ports.call = std::move(c);
    ports.media = std::move(m);
    ports.events = poster;
    ports.dialer = dialer;
    ports.open_media = [this]() -> Result<std::unique_ptr<call::MediaControl>> {
      return std::unique_ptr<call::MediaControl>(std::make_unique<FakeMedia>(rec));
    };
    CallSetup s;
    s.document = *doc;
    s.call_id = "c-1";
    s.make_call = make_call;
    auto done = [this](CallOutcome o) { outcome = std::move(o); };
    if (owned_config)
      run = CallRun::start(io.get_executor(), std::move(owned_config), std::move(ports), std::move(s), done);
    else
      run = CallRun::start(io.get_executor(), config, std::move(ports), std::move(s), done);
  }

  // Runs the io_context until the call ends or `limit` passes.
  void run_for(std::chrono::milliseconds limit) { io.run_for(limit); }

  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (const auto& [url, body] : poster->posts) out.push_back(body["params"]["state"]);
    return out;
  }
};

}  // namespace swmld::engine
