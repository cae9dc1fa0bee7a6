// The simulated call behind `swmld simulate`: every port prints what a real call would do
// as one JSON line and answers at once, as scripted by the command line.
#include "simulator.hpp"

#include <strings.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "document_fetcher.hpp"
#include "engine_http.hpp"
#include "sip_uri.hpp"
#include "swmld/engine/executor.hpp"
#include "swmld/http/client.hpp"
#include "swmld/core/url.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::app {
namespace {

namespace fs = std::filesystem;

// Prints actions as compact JSON lines.
class ActionLog {
 public:
  explicit ActionLog(std::ostream& out) : out_(out) {}
  void write(const Value& v) { out_ << v.dump(-1, ' ', false, Value::error_handler_t::replace) << '\n'; }

 private:
  std::ostream& out_;
};

// What the simulated far end does with a REFER: "202:200", "202:100,180,200", "202:486",
// "603", "202:timeout", "202:terminated", "407", "timeout".
struct ReferOutcome {
  int response = 202;           // 0: no response at all
  std::vector<int> sipfrags;    // NOTIFYs in order; the last one terminates the subscription
  bool terminate_only = false;  // one NOTIFY with terminated and no sipfrag
};

Result<ReferOutcome> parse_outcome(const std::string& spec) {
  ReferOutcome o;
  auto bad = [&] {
    return make_error(ErrorCode::element_invalid_value,
                       "--refer-outcome '" + spec +
                           "': expected CODE[:SIPFRAG,...|timeout|terminated], e.g. 202:200");
  };
  auto colon = spec.find(':');
  std::string head = spec.substr(0, colon);
  std::string tail = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (head == "timeout") {
    o.response = 0;
    return o;
  }
  try {
    o.response = std::stoi(head);
  } catch (...) {
    return bad();
  }
  if (o.response < 200 || o.response > 699) return bad();
  if (tail.empty()) {
    if (o.response < 300) o.sipfrags.push_back(200);
    return o;
  }
  if (tail == "timeout") return o;
  if (tail == "terminated") {
    o.terminate_only = true;
    return o;
  }
  std::stringstream ss(tail);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      int code = std::stoi(item);
      if (code < 100 || code > 699) return bad();
      o.sipfrags.push_back(code);
    } catch (...) {
      return bad();
    }
  }
  return o;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

// A fixture's own headers: "Name: value" lines (blank lines and `#` comments skipped), as an
// HTTP server would send them. Lets a URL without an extension carry its Content-Type.
Result<std::vector<std::pair<std::string, std::string>>> read_fixture_headers(
    const std::string& path) {
  std::vector<std::pair<std::string, std::string>> headers;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    auto colon = text.find(':');
    if (colon == std::string::npos || trim(text.substr(0, colon)).empty())
      return make_error(ErrorCode::element_invalid_value,
                        "fixture " + path + " line " + std::to_string(n) +
                            ": expected 'Name: value'");
    headers.emplace_back(trim(text.substr(0, colon)), trim(text.substr(colon + 1)));
  }
  return headers;
}

// Reads a fixture for `url`: <dir>/<host><path> (path "/" or empty: "index"). Optional
// siblings: "<file>.status" holds the HTTP status, "<file>.headers" the response headers
// (read_fixture_headers); without a Content-Type there, the extension gives one. Query
// strings are ignored.
engine::HttpResponse fixture_response(const std::string& dir, const std::string& url) {
  engine::HttpResponse r;
  if (dir.empty()) {
    r.error = "no fixture for " + mask_credentials(url) + " (pass --http-fixture DIR)";
    return r;
  }
  auto scheme = url.find("://");
  std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  if (auto at = rest.find('@'); at != std::string::npos && at < rest.find('/')) rest = rest.substr(at + 1);
  if (rest.empty() || rest.back() == '/') rest += "index";
  if (rest.find("..") != std::string::npos) {
    r.error = "fixture path for " + mask_credentials(url) + " contains '..'";
    return r;
  }
  fs::path path = fs::path(dir) / rest;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r.error = "no fixture file " + path.string() + " for " + mask_credentials(url);
    return r;
  }
  std::stringstream body;
  body << in.rdbuf();
  std::string headers_path = path.string() + ".headers";
  if (fs::exists(headers_path)) {
    auto headers = read_fixture_headers(headers_path);
    if (!headers) {
      r.error = headers.error().message;
      return r;
    }
    r.headers = std::move(*headers);
  }
  r.body = body.str();
  r.status = 200;
  if (std::ifstream st(path.string() + ".status"); st) st >> r.status;
  bool typed = std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    return strcasecmp(h.first.c_str(), "content-type") == 0;
  });
  std::string ext = path.extension().string();
  if (!typed)
    r.headers.emplace(r.headers.begin(), "content-type",
                      ext == ".json"                                          ? "application/json"
                      : (ext == ".yaml" || ext == ".yml" || ext == ".swml") ? "application/yaml"
                                                                              : "text/plain");
  return r;
}

// The far ends' answers to REFERs (--refer-outcome), one after the other whichever leg is
// referred: the caller's, or a callee's (a confirm document's, or after a bridge).
class ReferScript {
 public:
  explicit ReferScript(std::vector<ReferOutcome> outcomes) : outcomes_(std::move(outcomes)) {}
  void answer(call::Events& events) {
    ReferOutcome o = outcomes_.empty() ? ReferOutcome{202, {200}, false}
                                       : outcomes_[std::min(next_, outcomes_.size() - 1)];
    ++next_;
    if (o.response == 0) return;
    events.post(call::ReferResponse{o.response});
    if (o.response >= 300) return;
    if (o.terminate_only) events.post(call::ReferNotify{0, true});
    for (std::size_t i = 0; i < o.sipfrags.size(); ++i)
      events.post(call::ReferNotify{o.sipfrags[i], o.sipfrags[i] >= 200});
  }

 private:
  std::vector<ReferOutcome> outcomes_;
  std::size_t next_ = 0;
};

class SimCall final : public call::CallControl {
 public:
  SimCall(ActionLog& log, std::shared_ptr<ReferScript> refers)
      : log_(log), refers_(std::move(refers)) {}
  const std::shared_ptr<call::Events>& events() const { return events_; }

  void attach(std::shared_ptr<call::Events> events) override { events_ = std::move(events); }
  void ring() override { log_.write({{"action", "ring"}}); }
  void progress(std::string) override { log_.write({{"action", "early_media"}}); }
  void answer(std::string) override {
    log_.write({{"action", "answer"}});
    answered_ = true;
    events_->post(call::Answered{});
  }
  void answer_offer(std::string) override {}
  void reject(int code, int) override {
    log_.write({{"action", "hangup"}, {"reason", reason_of(code)}, {"sip", std::to_string(code)}});
  }
  // A BYE carries no reason (the "end" line says why the call ended).
  void bye() override { log_.write({{"action", "hangup"}, {"sip", "BYE"}}); }
  void refer(call::ReferRequest r) override {
    Value v = {{"action", "refer"}, {"to_uri", r.to_uri}};
    if (!r.referred_by.empty()) v["referred_by"] = r.referred_by;
    if (!r.username.empty()) v["username"] = r.username;
    log_.write(v);
    refers_->answer(*events_);
  }
  void send_info_digits(std::string digits) override {
    log_.write({{"action", "send_digits"}, {"digits", digits}, {"via", "info"}});
  }

 private:
  static const char* reason_of(int code) {
    switch (code) {
      case 486: return "busy";
      case 603: return "decline";
      case 500: return "error";
      case 503: return "fetch_failed";
      default: return "hangup";
    }
  }

  ActionLog& log_;
  std::shared_ptr<ReferScript> refers_;
  bool answered_ = false;
  std::shared_ptr<call::Events> events_;
};

// Media: each sound is printed with its length when the form gives it (silence:N,
// ring:N:cc); with --realtime the play lasts that long.
class SimMedia final : public call::MediaControl {
 public:
  SimMedia(ActionLog& log, boost::asio::io_context& io, bool realtime)
      : log_(log), io_(io), realtime_(realtime) {}
  void attach(std::shared_ptr<call::Events>) override {}
  Result<std::string> local_sdp() override { return std::string("v=0\r\n"); }
  Result<std::string> remote_sdp(const call::RemoteSdp&) override { return std::string(); }
  bool telephone_event() const override { return true; }
  void play(const call::PlayRequest& r, std::function<void(std::string)> done) override {
    double total_ms = 0;
    for (const auto& url : r.urls) {
      Value v = {{"action", "play"}, {"url", url}};
      if (r.volume != 0) v["volume"] = r.volume;
      if (auto ms = known_duration_ms(url)) {
        v["duration_ms"] = static_cast<long long>(*ms);
        total_ms += *ms;
      }
      log_.write(v);
    }
    finish_after(total_ms, std::move(done));
  }
  void stop() override {
    if (timer_) timer_->cancel();
  }
  void send_digits(const std::string& digits, std::function<void(std::string)> done) override {
    log_.write({{"action", "send_digits"}, {"digits", digits}});
    done("");
  }
  void close() override {
    stop();
    for (auto& [id, done] : std::exchange(recordings_, {})) finish(id, "hangup", std::move(done));
  }
  // A recording is printed when it starts; record's ends at once, record_call's when
  // stopped or when the call ends. Nothing is written.
  std::uint64_t record(const call::RecordRequest& r,
                       std::function<void(call::RecordResult)> done) override {
    const char* dirs[] = {"speak", "listen", "both"};
    Value v = {{"action", "record"},
               {"file", r.path},
               {"format", r.format},
               {"direction", dirs[static_cast<int>(r.direction)]},
               {"stereo", r.stereo}};
    if (r.beep) v["beep"] = true;
    if (r.max_length_s > 0) v["max_length"] = r.max_length_s;
    if (!r.terminators.empty()) v["terminators"] = r.terminators;
    log_.write(v);
    const std::uint64_t id = ++next_recording_;
    if (r.terminators.empty() && r.initial_timeout_s == 0 && r.end_silence_timeout_s == 0 &&
        r.max_length_s == 0) {
      recordings_.emplace_back(id, std::move(done));  // record_call: until stopped
    } else {
      finish(id, "stopped", std::move(done));
    }
    return id;
  }
  void stop_record(std::uint64_t id) override {
    for (auto it = recordings_.begin(); it != recordings_.end(); ++it) {
      if (it->first != id) continue;
      auto done = std::move(it->second);
      recordings_.erase(it);
      return finish(id, "stopped", std::move(done));
    }
  }
  Status bridge(call::MediaControl&) override {
    log_.write({{"action", "bridge"}});
    bridged_ = true;
    if (on_bridge) on_bridge();  // posts the callee's BYE: it comes before any timeout
    return Ok{};
  }
  std::function<void()> on_bridge;  // the simulated callee's answer to being bridged
  void unbridge() override {
    if (bridged_) log_.write({{"action", "unbridge"}});
    bridged_ = false;
  }

 private:
  void finish(std::uint64_t id, const char* end, std::function<void(call::RecordResult)> done) {
    log_.write({{"action", "record_end"}, {"recording", id}, {"end", end}});
    call::RecordResult result;
    result.end = end;
    done(std::move(result));
  }
  std::vector<std::pair<std::uint64_t, std::function<void(call::RecordResult)>>> recordings_;
  std::uint64_t next_recording_ = 0;

  // silence:N and ring:N:cc say how long they last; other sounds are not fetched here.
  static std::optional<double> known_duration_ms(const std::string& url) {
    auto number = [](std::string_view t) -> std::optional<double> {
      if (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      char* end = nullptr;
      std::string text(t);
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || end == text.c_str()) return std::nullopt;
      return v * 1000;
    };
    if (url.rfind("silence:", 0) == 0) return number(std::string_view(url).substr(8));
    if (url.rfind("ring:", 0) == 0) {
      std::string_view rest = std::string_view(url).substr(5);
      if (rest.find(':') != std::string_view::npos) return number(rest.substr(0, rest.find(':')));
    }
    return std::nullopt;
  }
  void finish_after(double ms, std::function<void(std::string)> done) {
    if (!realtime_ || ms <= 0) return done("");
    timer_ = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(static_cast<long long>(ms)));
    timer_->async_wait([done = std::move(done)](boost::system::error_code) { done(""); });
  }

  ActionLog& log_;
  boost::asio::io_context& io_;
  bool realtime_;
  bool bridged_ = false;
  std::shared_ptr<boost::asio::steady_timer> timer_;
};

// What a dialled destination does (--connect-outcome): "answered" (180, then 200; it hangs
// up as soon as it is bridged), "early" (183 with SDP, then 200), "busy" (486), "declined"
// (603), "no_answer" (180 and nothing more), "error" (500), or a final status 300..699.
struct ConnectOutcome {
  int final_code = 200;  // 0: rings until cancelled
  bool early_media = false;
  std::string digits;    // "answered:1": keys the callee presses once answered (confirm)
};

Result<ConnectOutcome> parse_connect_outcome(const std::string& text) {
  std::string spec = text.substr(0, text.find(':'));
  std::string digits = text.find(':') == std::string::npos ? "" : text.substr(text.find(':') + 1);
  if (!digits.empty() && spec != "answered" && spec != "early")
    return make_error(ErrorCode::element_invalid_value,
                      "--connect-outcome '" + text + "': only answered and early take :DIGITS");
  if (digits.find_first_not_of("0123456789*#ABCD") != std::string::npos)
    return make_error(ErrorCode::element_invalid_value,
                      "--connect-outcome '" + text + "': digits are 0-9 * # A-D");
  if (spec == "answered") return ConnectOutcome{200, false, digits};
  if (spec == "early") return ConnectOutcome{200, true, digits};
  if (spec == "busy") return ConnectOutcome{486, false};
  if (spec == "declined") return ConnectOutcome{603, false};
  if (spec == "no_answer") return ConnectOutcome{0, false};
  if (spec == "error") return ConnectOutcome{500, false};
  int code = 0;
  try {
    code = std::stoi(spec);
  } catch (...) {
  }
  if (code >= 300 && code <= 699 && std::to_string(code) == spec) return ConnectOutcome{code, false};
  return make_error(ErrorCode::element_invalid_value,
                    "--connect-outcome '" + spec +
                        "': expected answered, early, busy, declined, no_answer, error or a "
                        "status 300..699");
}

// One dialled leg: reports the scripted outcome; bye() is a CANCEL or a BYE.
class SimOutboundLeg final : public call::CallControl {
 public:
  SimOutboundLeg(ActionLog& log, std::string to, std::shared_ptr<call::Events> events,
                 std::shared_ptr<ReferScript> refers)
      : log_(log), to_(std::move(to)), events_(std::move(events)), refers_(std::move(refers)) {}
  void start(const ConnectOutcome& o) {
    if (o.early_media) {
      events_->post(call::RemoteSdp{call::RemoteSdp::Kind::answer, "v=0\r\n"});
      events_->post(call::Ringing{183});
    } else {
      events_->post(call::Ringing{180});
    }
    if (o.final_code == 0) return;
    if (o.final_code < 300) {
      answered_ = true;
      events_->post(call::RemoteSdp{call::RemoteSdp::Kind::answer, "v=0\r\n"});
      events_->post(call::Answered{});
      for (char d : o.digits) events_->post(call::Dtmf{d, call::DtmfSource::rfc4733});
    } else {
      ended_ = true;
      events_->post(call::Ended{call::EndCause::rejected, o.final_code, {}});
    }
  }
  void attach(std::shared_ptr<call::Events>) override {}
  void ring() override {}
  void progress(std::string) override {}
  void answer(std::string) override {}
  void answer_offer(std::string) override {}
  void reject(int, int) override { bye(); }
  void bye() override {
    if (ended_) return;
    ended_ = true;
    log_.write({{"action", answered_ ? "leg_hangup" : "leg_cancel"}, {"to", to_}});
    events_->post(call::Ended{call::EndCause::local, answered_ ? 0 : 487, {}});
  }
  void refer(call::ReferRequest r) override {
    log_.write({{"action", "refer"}, {"to_uri", r.to_uri}, {"leg", to_}});
    refers_->answer(*events_);
  }
  void send_info_digits(std::string digits) override {
    log_.write({{"action", "send_digits"}, {"digits", digits}, {"via", "info"}, {"leg", to_}});
  }
  // The callee hangs up (after the bridge).
  void far_end_hangs_up() {
    if (ended_) return;
    ended_ = true;
    log_.write({{"action", "leg_remote_hangup"}, {"to", to_}});
    events_->post(call::Ended{call::EndCause::remote_hangup, 0, {}});
  }

 private:
  ActionLog& log_;
  std::string to_;
  std::shared_ptr<call::Events> events_;
  std::shared_ptr<ReferScript> refers_;
  bool answered_ = false;
  bool ended_ = false;
};

// The outbound media of a simulated leg: a bridge makes its callee hang up, so that the
// document goes on after the bridge.
class SimOutboundMedia final : public call::MediaControl {
 public:
  explicit SimOutboundMedia(ActionLog& log) : log_(log) {}
  void attach(std::shared_ptr<call::Events>) override {}
  Result<std::string> local_sdp() override { return std::string("v=0\r\n"); }
  Result<std::string> remote_sdp(const call::RemoteSdp&) override { return std::string(); }
  bool telephone_event() const override { return true; }
  void play(const call::PlayRequest& r, std::function<void(std::string)> done) override {
    for (const auto& url : r.urls) log_.write({{"action", "play"}, {"url", url}, {"leg", "callee"}});
    done("");
  }
  void stop() override {}
  void send_digits(const std::string& digits, std::function<void(std::string)> done) override {
    log_.write({{"action", "send_digits"}, {"digits", digits}, {"leg", "callee"}});
    done("");
  }
  void close() override {}

 private:
  ActionLog& log_;
};

class SimDialer final : public call::Dialer {
 public:
  SimDialer(ActionLog& log, std::vector<ConnectOutcome> outcomes,
            std::shared_ptr<ReferScript> refers)
      : log_(log), outcomes_(std::move(outcomes)), refers_(std::move(refers)) {}
  call::Dialed dial(call::DialRequest r, std::shared_ptr<call::Events> events) override {
    Value v = {{"action", "dial"}, {"to", r.to}};
    if (!r.from.empty()) v["from"] = r.from;
    if (!r.from_name.empty()) v["from_name"] = r.from_name;
    if (!r.headers.empty()) {
      Value h = Value::array();
      for (const auto& [name, value] : r.headers) h.push_back({{"name", name}, {"value", value}});
      v["headers"] = std::move(h);
    }
    if (!r.username.empty()) v["username"] = r.username;
    log_.write(v);
    for (const char* prefix : {"queue:", "stream:", "/"})
      if (r.to.rfind(prefix, 0) == 0)
        return {nullptr, "unsupported", "'" + r.to + "' destinations are not supported"};
    ConnectOutcome o = outcomes_.empty() ? ConnectOutcome{}
                                         : outcomes_[std::min(next_, outcomes_.size() - 1)];
    ++next_;
    auto leg = std::make_shared<SimOutboundLeg>(log_, r.to, std::move(events), refers_);
    last_ = leg;
    leg->start(o);
    return {leg, {}, {}};
  }
  std::shared_ptr<SimOutboundLeg> last() const { return last_.lock(); }

 private:
  ActionLog& log_;
  std::vector<ConnectOutcome> outcomes_;
  std::size_t next_ = 0;
  std::shared_ptr<ReferScript> refers_;
  std::weak_ptr<SimOutboundLeg> last_;
};

// `request`: answered from the fixture folder, or by the real HTTP client without one.
class SimHttp final : public engine::HttpClient {
 public:
  SimHttp(ActionLog& log, std::string dir, std::shared_ptr<engine::HttpClient> real)
      : log_(log), dir_(std::move(dir)), real_(std::move(real)) {}
  std::shared_ptr<engine::HttpHandle> send(engine::HttpRequest r,
                                           std::function<void(engine::HttpResponse)> done) override {
    Value v = {{"action", "request"}, {"method", r.method}, {"url", mask_credentials(r.url)}};
    if (!r.body.empty()) v["body"] = r.body;
    log_.write(v);
    if (dir_.empty() && real_) return real_->send(std::move(r), std::move(done));
    done(fixture_response(dir_, r.url));
    return nullptr;
  }

 private:
  ActionLog& log_;
  std::string dir_;
  std::shared_ptr<engine::HttpClient> real_;
};

class SimPoster final : public engine::EventPoster {
 public:
  explicit SimPoster(ActionLog& log) : log_(log) {}
  void post_event(const std::string& url, Value body) override {
    log_.write({{"action", "callback"}, {"url", mask_credentials(url)}, {"body", std::move(body)}});
  }

 private:
  ActionLog& log_;
};

// Document fetches: the fixture folder through the same parse step as real fetches, or the
// real fetcher without a folder.
class SimFetcher final : public engine::DocumentFetcher {
 public:
  SimFetcher(ActionLog& log, std::string dir, std::shared_ptr<engine::DocumentFetcher> real)
      : log_(log), dir_(std::move(dir)), real_(std::move(real)) {}
  std::shared_ptr<engine::HttpHandle> fetch(
      const std::string& url, const Value& body,
      std::function<void(Result<swml::DocumentPtr>)> done) override {
    log_.write({{"action", "fetch"}, {"url", mask_credentials(url)}, {"body", body}});
    if (dir_.empty() && real_) return real_->fetch(url, body, std::move(done));
    engine::HttpResponse r = fixture_response(dir_, url);
    done(parse_fetched_document(url, r.status, r.headers, r.body, r.error));
    return nullptr;
  }

 private:
  ActionLog& log_;
  std::string dir_;
  std::shared_ptr<engine::DocumentFetcher> real_;
};

// "k=v": v is taken as JSON when it parses as a JSON scalar (5, true, null), else a string.
Result<std::pair<std::string, Value>> parse_kv(const std::string& kv, const char* option) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    return make_error(ErrorCode::element_invalid_value,
                      std::string(option) + " '" + kv + "': expected NAME=VALUE");
  std::string value = kv.substr(eq + 1);
  Value parsed = Value::parse(value, nullptr, false);
  if (parsed.is_discarded() || parsed.is_structured()) parsed = value;
  return std::make_pair(kv.substr(0, eq), parsed);
}

Result<Value> kv_object(const std::vector<std::string>& items, const char* option) {
  Value obj = Value::object();
  for (const auto& kv : items) {
    auto r = parse_kv(kv, option);
    if (!r) return r.error();
    obj[r->first] = r->second;
  }
  return obj;
}

Value call_object(const SimulateOptions& o) {
  Value sip_data = {{"sip_req_user", user_of(o.to)},     {"sip_req_uri", strip_scheme(o.to)},
                    {"sip_req_host", host_of(o.to)},     {"sip_from_user", user_of(o.from)},
                    {"sip_from_uri", strip_scheme(o.from)},  {"sip_from_host", host_of(o.from)},
                    {"sip_to_user", user_of(o.to)},      {"sip_to_uri", strip_scheme(o.to)},
                    {"sip_to_host", host_of(o.to)}};
  return {{"call_id", o.call_id},
          {"node_id", "swmld-sim"},
          {"segment_id", o.call_id},
          {"call_state", "created"},
          {"direction", "inbound"},
          {"type", "sip"},
          {"from", o.from},
          {"to", o.to},
          {"headers", Value::array()},
          {"sip_data", std::move(sip_data)},
          {"project_id", "sim-project"},
          {"space_id", "sim-space"}};
}

}  // namespace

int simulate(const SimulateOptions& o, std::ostream& out, std::ostream& err) {
  std::vector<ConnectOutcome> connect_outcomes;
  for (const auto& spec : o.connect_outcomes) {
    auto r = parse_connect_outcome(spec);
    if (!r) {
      err << "swmld simulate: " << r.error().message << '\n';
      return 2;
    }
    connect_outcomes.push_back(*r);
  }
  std::vector<ReferOutcome> outcomes;
  for (const auto& spec : o.refer_outcomes) {
    auto r = parse_outcome(spec);
    if (!r) {
      err << "swmld simulate: " << r.error().message << '\n';
      return 2;
    }
    outcomes.push_back(*r);
  }
  auto vars = kv_object(o.vars, "--var");
  auto params = kv_object(o.params, "--param");
  auto envs = kv_object(o.envs, "--env");
  for (auto* r : {&vars, &params, &envs})
    if (!*r) {
      err << "swmld simulate: " << r->error().message << '\n';
      return 2;
    }

  std::vector<Error> errors;
  auto doc = swml::load_file(o.file, &errors);
  if (!doc) {
    if (errors.empty()) errors.push_back(doc.error());
    for (const auto& e : errors) err << e.str() << '\n';
    return 1;
  }

  ActionLog log(out);
  engine::EngineConfig config;
  config.time_scale = o.realtime ? 1.0 : 0.0;
  config.wall_clock = [] { return 1700000000.0; };
  config.new_id = [n = 0]() mutable {
    return fmt::format("00000000-0000-4000-8000-{:012d}", 100 + ++n);
  };
  config.project_id = "sim-project";
  config.space_id = "sim-space";
  config.node_id = "swmld-sim";
  // Runtime warnings (errors the document goes on after) are actions too: a reader sees
  // where the call would have logged one.
  config.on_warning = [&log](const Error& e) {
    log.write({{"action", "warning"},
               {"code", std::string(to_string(e.code))},
               {"message", e.str()}});
  };

  boost::asio::io_context io;
  auto refers = std::make_shared<ReferScript>(std::move(outcomes));
  auto sim_call = std::make_shared<SimCall>(log, refers);
  engine::CallPorts ports;
  ports.call = sim_call;
  auto dialer = std::make_shared<SimDialer>(log, std::move(connect_outcomes), refers);
  auto media = std::make_unique<SimMedia>(log, io, o.realtime);
  // A bridged callee hangs up at once (simulated time): the document goes on after connect.
  media->on_bridge = [dialer] {
    if (auto leg = dialer->last()) leg->far_end_hangs_up();
  };
  ports.media = std::move(media);
  ports.dialer = dialer;
  ports.open_media = [&log]() -> Result<std::unique_ptr<call::MediaControl>> {
    return std::unique_ptr<call::MediaControl>(std::make_unique<SimOutboundMedia>(log));
  };
  // Without --http-fixture, HTTP goes out for real (the same client `serve` uses).
  std::unique_ptr<http::Client> client;
  std::shared_ptr<engine::HttpClient> real_http;
  std::shared_ptr<engine::DocumentFetcher> real_fetcher;
  if (o.http_fixture.empty()) {
    client = std::make_unique<http::Client>();
    real_http = make_engine_http(*client);
    real_fetcher = std::make_shared<HttpDocumentFetcher>(*client, FetchConfig{});
  }
  ports.http = std::make_shared<SimHttp>(log, o.http_fixture, real_http);
  ports.events = std::make_shared<SimPoster>(log);
  ports.fetcher = std::make_shared<SimFetcher>(log, o.http_fixture, real_fetcher);

  engine::CallSetup setup;
  setup.document = *doc;
  setup.call_id = o.call_id;
  setup.make_call = [call = call_object(o)] { return call; };
  setup.params = std::move(*params);
  setup.vars = std::move(*vars);
  setup.envs = std::move(*envs);
  setup.log_context = "call=" + o.call_id;

  engine::CallOutcome result;
  auto run = engine::CallRun::start(io.get_executor(), config, std::move(ports), std::move(setup),
                                    [&](engine::CallOutcome outcome) { result = std::move(outcome); });
  // Nothing runs before io.run(): the caller's keys are queued now (typed ahead), as RFC 4733
  // digits of the inbound leg.
  for (char d : o.dtmf) sim_call->events()->post(call::Dtmf{d, call::DtmfSource::rfc4733});
  io.run();

  Value end = {{"action", "end"}, {"reason", result.end_reason}};
  if (result.error) end["error"] = {{"code", std::string(to_string(result.error->code))},
                                    {"message", result.error->str()}};
  end["vars"] = result.vars;
  log.write(end);
  return result.error ? 1 : 0;
}

}  // namespace swmld::app
