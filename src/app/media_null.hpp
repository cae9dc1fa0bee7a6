// The media port until RTP lands: nothing is played. Each play completes at once with an
// error that the engine logs as a warning, so documents with `play` still run their flow.
#pragma once

#include "swmld/engine/ports.hpp"

namespace swmld::app {

class NullMedia final : public engine::MediaControl {
 public:
  void play(const engine::PlayRequest& r, std::function<void(std::string)> done) override {
    done("media is not implemented yet: " + std::to_string(r.urls.size()) +
         " sound(s) not played");
  }
  void stop() override {}
};

}  // namespace swmld::app
