// `record_call` (background) and `stop_record_call`. record_call starts a recording of the
// call (both directions by default) and returns at once, setting record_call_url,
// record_call_result and record_control_id; the recording goes on across steps and
// transfers until stop_record_call, a terminator key (RFC 4733), a timeout, max_length or
// the end of the call, however it ends. Its final calling.call.record callback is posted
// when the file is complete, from the recorder's thread (also after the call ended).
#include "args.hpp"
#include "methods.hpp"
#include "recording.hpp"

namespace swmld::engine::methods {

asio::awaitable<Flow> record_call(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  auto settings = record_settings(c, *args, true);
  if (!settings) co_return Flow::fail(settings.error());
  RecordSettings& s = *settings;
  Value& vars = c.vars();
  auto failed = [&](const std::string& why) {
    c.warn(Error{ErrorCode::method_execute_failed, "record_call: " + why, {}});
    vars["record_call_result"] = "failed";
    c.post_callback(s.status_url, "calling.call.record",
                    {{"control_id", s.control_id}, {"state", "error"}});
  };
  vars.erase("record_call_url");
  vars.erase("record_call_result");
  if (!s.unsupported.empty()) {
    failed(s.unsupported);
    co_return Flow::next();
  }
  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;
  call::MediaControl* media = c.inbound().media();
  if (!media) {
    failed("this call has no media");
    co_return Flow::next();
  }
  auto& controls = c.record_controls();
  if (auto it = controls.find(s.control_id);
      it != controls.end() && !it->second.result->has_value()) {
    failed("a recording with control_id '" + s.control_id + "' is already running");
    co_return Flow::next();
  }

  auto slot = std::make_shared<std::optional<call::RecordResult>>();
  auto to_call = c.completion(slot);
  auto post = c.detached_callback(s.status_url, "calling.call.record");
  auto done = [to_call, post, control_id = s.control_id, url = s.url, format = s.request.format,
               context = c.log_context()](call::RecordResult r) {
    spdlog::log(
        r.end == "error" ? spdlog::level::warn : spdlog::level::info,
        "{} record_call: {} {}: {:.3f} s ({} samples, {} dropped, {:.3f} s elapsed), {} bytes{}",
        context, control_id, r.end, r.duration_s(), r.samples, r.dropped, r.elapsed_s, r.bytes,
        r.error.empty() ? std::string() : "; " + r.error);
    if (post) {
      Value p = {{"control_id", control_id}, {"state", record_state(r)}};
      if (r.end != "error")
        p["record"] = {
            {"url", url}, {"duration", r.duration_s()}, {"size", r.bytes}, {"format", format}};
      post(std::move(p));
    }
    to_call(std::move(r));
  };
  c.post_callback(s.status_url, "calling.call.record",
                  {{"control_id", s.control_id}, {"state", "recording"}});
  const std::uint64_t id = media->record(s.request, after_upload(c, s, done));
  controls[s.control_id] = Call::RecordControl{id, slot};
  vars["record_call_url"] = s.url;
  vars["record_control_id"] = s.control_id;
  // A failure known at once (no media yet): the completion is on its way to the strand.
  vars["record_call_result"] = id == 0 ? "failed" : "success";
  if (id == 0) c.log(spdlog::level::warn, "record_call: the recording could not start");
  co_return Flow::next();
}

asio::awaitable<Flow> stop_record_call(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  Value& vars = c.vars();
  std::string control_id = get_string(*args, "control_id", get_string(vars, "record_control_id"));
  auto& controls = c.record_controls();
  auto it = controls.find(control_id);
  if (it == controls.end() || it->second.result->has_value()) {
    c.log(spdlog::level::info, "stop_record_call: no recording '{}' running", control_id);
    vars["stop_record_call_result"] = "failed";
    co_return Flow::next();
  }
  auto result = it->second.result;
  if (call::MediaControl* media = c.inbound().media()) media->stop_record(it->second.id);
  // The file is complete (and uploaded, when configured) when this returns: a play of
  // record_call_url may follow. Bounded: an upload still retrying leaves the result failed.
  const bool uploads = !c.config().recording_upload_url.empty() && c.config().upload_recording;
  co_await c.wait_until([&] { return result->has_value(); },
                        std::chrono::seconds(uploads ? 40 : 10));
  if (c.hung_up()) co_return Flow::end();
  bool ok = result->has_value() && (*result)->end != "error";
  if (result->has_value() && (*result)->end == "error")
    c.warn(Error{ErrorCode::method_execute_failed, "record_call: " + (*result)->error, {}});
  vars["stop_record_call_result"] = ok ? "success" : "failed";
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
