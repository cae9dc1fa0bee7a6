// `play`: play sounds (say:, silence:, ring:, URLs) through the inbound leg's media.
// Answers first; with auto_answer false it plays as early media (183 with SDP) instead. A
// sound that cannot be played is a warning (Call::warn) and the document goes on (SWML
// reports it as a script warning, not a failure).
#include "args.hpp"
#include "methods.hpp"
#include "media_args.hpp"
#include "swmld/core/ids.hpp"

namespace swmld::engine::methods {

Result<call::PlayRequest> play_request(Call& c, const Value& args, const char* key_url,
                                       const char* key_urls, const char* method) {
  call::PlayRequest req;
  std::vector<std::string> urls = get_strings(args, key_urls);
  if (urls.empty()) urls = get_strings(args, key_url);
  // Sounds that expand to nothing (a variable with no value) cannot be played: a warning,
  // like any sound that fails to play, and the step goes on without them (SignalWire's
  // set/unset example: "this play statement emits an error because `systems` is undefined").
  for (auto& u : urls) {
    if (u.find_first_not_of(' ') == std::string::npos) {
      c.warn(Error{ErrorCode::method_parameter_invalid_value,
                   std::string(method) + ": a sound is empty; skipped", {}});
    } else if (u.rfind("say:", 0) == 0 && u.find_first_not_of(' ', 4) == std::string::npos) {
      c.warn(Error{ErrorCode::method_parameter_invalid_value,
                   std::string(method) + ": 'say:' has no text to speak; skipped", {}});
    } else {
      req.urls.push_back(std::move(u));
    }
  }
  auto volume = get_number(args, "volume", 0, method);
  if (!volume) return volume.error();
  req.volume = *volume;
  const Value& vars = c.vars();
  req.say_voice = get_string(args, "say_voice", get_string(vars, "say_voice", "Polly.Salli"));
  req.say_language = get_string(args, "say_language", get_string(vars, "say_language", "en-US"));
  req.say_gender = get_string(args, "say_gender", get_string(vars, "say_gender", "female"));
  return req;
}

asio::awaitable<std::string> play_and_wait(Call& c, const call::PlayRequest& req,
                                           const std::function<bool()>& interrupt) {
  if (req.urls.empty()) co_return std::string("nothing to play");
  call::MediaControl* media = c.focus().media();
  if (!media) co_return std::string("this call has no media");
  auto result = std::make_shared<std::optional<std::string>>();
  media->play(req, c.completion(result));
  co_await c.wait_until([&] { return result->has_value() || (interrupt && interrupt()); },
                        std::nullopt);
  if (!result->has_value()) {
    // Interrupted (barge-in or hangup): stop the media; its completion still arrives.
    media->stop();
    co_await c.wait_until([&] { return result->has_value(); }, std::chrono::seconds(2));
    co_return std::string();
  }
  co_return **result;
}

asio::awaitable<Flow> play(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  auto req = play_request(c, *args, "url", "urls", "play");
  if (!req) co_return Flow::fail(req.error());
  auto auto_answer = get_bool(*args, "auto_answer", true, "play");
  if (!auto_answer) co_return Flow::fail(auto_answer.error());
  if (*auto_answer) {
    Flow f = co_await c.ensure_answered();
    if (f.kind != Flow::Kind::next) co_return f;
  } else {
    Flow f = c.ensure_early_media();  // 183 with SDP unless answered already
    if (f.kind != Flow::Kind::next) co_return f;
  }
  std::string status_url = get_string(*args, "status_url");
  std::string control_id = new_uuid();
  c.post_callback(status_url, "calling.call.play", {{"control_id", control_id}, {"state", "playing"}});
  std::string error = co_await play_and_wait(c, *req, nullptr);
  if (c.hung_up()) co_return Flow::end();
  if (!error.empty() && !req->urls.empty())
    c.warn(Error{ErrorCode::method_execute_failed, "play: " + error, {}});
  c.post_callback(status_url, "calling.call.play",
                  {{"control_id", control_id}, {"state", error.empty() ? "finished" : "error"}});
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
