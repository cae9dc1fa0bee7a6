// `record` (foreground): records what the caller says (or hears) until a terminator key,
// silence after speech (end_silence_timeout), no speech at all (initial_timeout),
// max_length or hangup. Sets record_url and record_result; posts calling.call.record
// ("recording", then "finished", "no_input" or "error"). The file is written by the media's
// recorder (src/media/recorder.cpp); this step waits for it to be complete.
#include <cctype>
#include <chrono>
#include <ctime>

#include "args.hpp"
#include "methods.hpp"
#include "recording.hpp"
#include "swmld/core/ids.hpp"

namespace swmld::engine::methods {
namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

std::string direction_name(call::RecordRequest::Direction d) {
  switch (d) {
    case call::RecordRequest::Direction::speak:
      return "speak";
    case call::RecordRequest::Direction::listen:
      return "listen";
    case call::RecordRequest::Direction::both:
      return "both";
  }
  return "both";
}

const char* record_state(const call::RecordResult& r) {
  if (r.end == "error") return "error";
  if (r.end == "no_input") return "no_input";
  return "finished";
}

Result<RecordSettings> record_settings(Call& c, const Value& args, bool background) {
  const char* method = background ? "record_call" : "record";
  RecordSettings s;
  call::RecordRequest& r = s.request;
  auto stereo = get_bool(args, "stereo", false, method);
  if (!stereo) return stereo.error();
  auto beep = get_bool(args, "beep", false, method);
  if (!beep) return beep.error();
  auto sensitivity = get_number(args, "input_sensitivity", 44.0, method);
  if (!sensitivity) return sensitivity.error();
  auto initial = get_number(args, "initial_timeout", background ? 0.0 : 4.0, method);
  if (!initial) return initial.error();
  auto silence = get_number(args, "end_silence_timeout", background ? 0.0 : 5.0, method);
  if (!silence) return silence.error();
  auto max_length = get_number(args, "max_length", 0.0, method);
  if (!max_length) return max_length.error();
  r.stereo = *stereo;
  r.beep = *beep;
  r.input_sensitivity = *sensitivity;
  r.initial_timeout_s = *initial;
  r.end_silence_timeout_s = *silence;
  r.max_length_s = *max_length;
  r.terminators = get_string(args, "terminators", background ? "" : "#");
  r.format = get_string(args, "format", "wav");
  std::string direction = get_string(args, "direction", background ? "both" : "speak");
  if (direction == "speak") {
    r.direction = call::RecordRequest::Direction::speak;
  } else if (direction == "listen") {
    r.direction = call::RecordRequest::Direction::listen;
  } else if (direction == "both" && background) {
    r.direction = call::RecordRequest::Direction::both;
  } else {
    s.unsupported = std::string("direction '") + direction + "' is not one of " +
                    (background ? "speak, listen, both" : "speak, listen");
  }
  if (r.format != "wav" && r.format != "mp3")
    s.unsupported = "format '" + r.format + "' is not supported (supported: wav, mp3)";
  if (!(r.input_sensitivity >= 0 && r.input_sensitivity <= 100))
    s.unsupported = "input_sensitivity must be 0 to 100";
  s.status_url = get_string(args, "status_url");
  s.control_id = background ? get_string(args, "control_id") : std::string();
  if (s.control_id.empty()) s.control_id = c.config().new_id ? c.config().new_id() : new_uuid();

  // <dir>/<YYYY-MM-DD>/<call id>-<n>.<format>: the date in UTC, n numbering the call's
  // recordings (a control_id may be used again once its recording stopped).
  auto now = static_cast<std::time_t>(c.now_unix());  // the simulator's clock is fixed
  std::tm tm{};
  gmtime_r(&now, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  std::string call_id = get_string(c.call_info(), "call_id", "call");
  // Names from the document end up in a path: nothing but [A-Za-z0-9._-] of them.
  auto safe = [](std::string v) {
    for (char& ch : v)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
        ch = '_';
    if (v.empty() || v[0] == '.') v.insert(0, "_");
    return v;
  };
  std::string rel = std::string(day) + "/" + safe(call_id) + "-" +
                    std::to_string(c.next_recording_number()) + "." + r.format;
  std::string dir = c.config().recording_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  r.path = dir + "/" + rel;
  auto expand = [&](const std::string& tpl) {
    std::string u = replace_all(tpl, "{path}", rel);
    u = replace_all(u, "{call_id}", call_id);
    u = replace_all(u, "{control_id}", safe(s.control_id));  // from the document
    return replace_all(u, "{format}", r.format);
  };
  s.url = c.config().recording_url.empty() ? "file://" + r.path : expand(c.config().recording_url);
  if (!c.config().recording_upload_url.empty() && c.config().upload_recording)
    s.upload_url = expand(c.config().recording_upload_url);
  return s;
}

std::function<void(call::RecordResult)> after_upload(
    Call& c, const RecordSettings& s, std::function<void(call::RecordResult)> finish) {
  if (s.upload_url.empty()) return finish;
  return [upload = c.config().upload_recording, url = s.upload_url, path = s.request.path,
          type = std::string(s.request.format == "mp3" ? "audio/mpeg" : "audio/wav"),
          finish = std::move(finish)](call::RecordResult r) {
    if (r.end == "error") return finish(std::move(r));  // no file to upload
    upload(url, path, type, [r, finish](std::string error) mutable {
      if (!error.empty()) {
        r.end = "error";
        r.error = std::move(error);
      }
      finish(std::move(r));
    });
  };
}

asio::awaitable<Flow> record(Call& c, const swml::Step& step) {
  auto args = co_await c.expand(step.args);
  if (!args) co_return Flow::fail(args.error());
  auto settings = record_settings(c, *args, false);
  if (!settings) co_return Flow::fail(settings.error());
  RecordSettings& s = *settings;
  Value& vars = c.vars();
  vars.erase("record_url");
  vars.erase("record_result");
  if (!s.unsupported.empty()) {
    c.warn(Error{ErrorCode::method_execute_failed, "record: " + s.unsupported, {}});
    vars["record_result"] = "failed";
    c.post_callback(s.status_url, "calling.call.record",
                    {{"control_id", s.control_id}, {"state", "error"}});
    co_return Flow::next();
  }
  Flow f = co_await c.ensure_answered();
  if (f.kind != Flow::Kind::next) co_return f;
  call::MediaControl* media = c.inbound().media();
  if (!media) {
    c.warn(Error{ErrorCode::method_execute_failed, "record: this call has no media", {}});
    vars["record_result"] = "failed";
    co_return Flow::next();
  }

  // The callback's fixed part; the result's part is added when the file is complete.
  const double start_time = c.now_unix();
  Value audio = {{"format", s.request.format},
                 {"direction", direction_name(s.request.direction)},
                 {"stereo", s.request.stereo}};
  c.post_callback(s.status_url, "calling.call.record",
                  {{"control_id", s.control_id},
                   {"state", "recording"},
                   {"url", s.url},
                   {"recording_id", s.control_id},
                   {"start_time", start_time},
                   {"record", {{"audio", audio}}}});
  // The final callback goes out from the recorder's thread, also when the call ended first.
  auto slot = std::make_shared<std::optional<call::RecordResult>>();
  auto to_step = c.completion(slot);
  auto post = c.detached_callback(s.status_url, "calling.call.record");
  Value fixed = {{"control_id", s.control_id},
                 {"url", s.url},
                 {"recording_id", s.control_id},
                 {"start_time", start_time},
                 {"record", {{"audio", audio}}}};
  auto done = [to_step, post, fixed, clock = c.config().wall_clock](call::RecordResult r) {
    if (post) {
      Value p = fixed;
      p["state"] = record_state(r);
      p["duration"] = r.duration_s();
      p["size"] = r.bytes;
      using namespace std::chrono;
      p["end_time"] =
          clock ? clock()
                : static_cast<double>(
                      duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) /
                      1e6;
      post(std::move(p));
    }
    to_step(std::move(r));
  };
  call::RecordRequest req = s.request;
  const std::string terminators = req.terminators;
  req.terminators.clear();  // keys from every source (RFC 4733, INFO) are watched here
  auto& dtmf = c.inbound().digits();
  dtmf.clear();  // keys typed before the recording do not end it
  const std::uint64_t id = media->record(req, after_upload(c, s, done));
  char terminator = 0;
  for (;;) {
    co_await c.wait_until([&] { return slot->has_value() || !dtmf.empty(); }, std::nullopt);
    if (slot->has_value() || c.hung_up()) break;
    while (!dtmf.empty()) {
      char d = dtmf.front();
      dtmf.pop_front();
      if (!terminator && terminators.find(d) != std::string::npos) terminator = d;
    }
    if (terminator) {
      media->stop_record(id);
      break;
    }
  }
  // The file is closed and renamed on the recorder's thread, then uploaded when configured:
  // wait for it (bounded; an upload still retrying after that leaves record_result failed).
  co_await c.wait_until([&] { return slot->has_value(); },
                        std::chrono::seconds(s.upload_url.empty() ? 10 : 40));
  if (c.hung_up()) co_return Flow::end();
  const bool ok = slot->has_value() && (*slot)->end != "error" && (*slot)->end != "no_input";
  if (slot->has_value() && (*slot)->end == "error")
    c.warn(Error{ErrorCode::method_execute_failed, "record: " + (*slot)->error, {}});
  vars["record_url"] = s.url;
  vars["record_result"] = ok ? "success" : "failed";
  if (slot->has_value())
    c.log(spdlog::level::info, "record: {} ({}, {:.2f} s, {} bytes{})", s.url, (*slot)->end,
          (*slot)->duration_s(), (*slot)->bytes,
          terminator ? std::string(", key ") + terminator : std::string());
  co_return Flow::next();
}

}  // namespace swmld::engine::methods
