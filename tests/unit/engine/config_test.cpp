// A call keeps the engine configuration it started with: the server's reload drops its own
// reference while calls run (ASan would catch a call reading a freed configuration).
#include "harness.hpp"

namespace swmld::engine {
namespace {

TEST(EngineConfigOwnership, ACallRunsOnTheConfigurationItWasGivenAfterItsOwnerLetsGo) {
  Harness h;
  auto config = std::make_shared<EngineConfig>();
  config->max_steps = 3;
  std::weak_ptr<const EngineConfig> watch = config;
  h.owned_config = std::move(config);
  h.start("version: 1.0.0\nsections:\n  main:\n    - answer\n    - sleep: 50\n"
          "    - set: {a: 1}\n    - set: {b: 2}\n    - hangup\n");
  EXPECT_FALSE(watch.expired()) << "the running call owns its configuration";
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  ASSERT_TRUE(h.outcome->error);
  EXPECT_NE(h.outcome->error->message.find("step budget of 3"), std::string::npos)
      << h.outcome->error->message;
  h.run.reset();
  EXPECT_TRUE(watch.expired()) << "released with the call";
}

}  // namespace
}  // namespace swmld::engine
