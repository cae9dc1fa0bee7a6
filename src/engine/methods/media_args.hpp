// Shared by play and prompt: building a PlayRequest and playing it to the end.
#pragma once

#include <functional>
#include <string>

#include "methods.hpp"

namespace swmld::engine::methods {

// The sounds and voice settings of a step (url/urls or prompt's play), with the say_*
// defaults taken from the step, then from vars, then SWML's documented defaults.
Result<call::PlayRequest> play_request(Call& c, const Value& args, const char* key_url,
                                 const char* key_urls, const char* method);

// Plays `req` and waits until it finishes, the call hangs up, or `interrupt()` becomes true
// (then playback is stopped). Returns the media error, empty on success or interruption.
asio::awaitable<std::string> play_and_wait(Call& c, const call::PlayRequest& req,
                                           const std::function<bool()>& interrupt);

}  // namespace swmld::engine::methods
