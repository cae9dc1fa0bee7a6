// spdlog set-up: a text pattern, or a JSON-lines formatter; structured event records.
#include "swmld/core/log.hpp"

#include <atomic>
#include <chrono>
#include <ctime>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/pattern_formatter.h>

namespace swmld::log {
namespace {

std::atomic<Format> g_format{Format::text};  // written once at start-up

// A JSON-lines formatter. A message that is already a JSON object starting with
// {"event": (see event()) is merged into the line; any other message becomes "msg".
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto since = msg.time.time_since_epoch();
    double ts = static_cast<double>(duration_cast<microseconds>(since).count()) / 1e6;
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string head = fmt::format(R"({{"ts":{:.6f},"level":"{}",)", ts,
                                   spdlog::level::to_string_view(msg.level));
    dest.append(head.data(), head.data() + head.size());
    if (text.rfind("{\"event\":", 0) == 0) {
      dest.append(text.data() + 1, text.data() + text.size());
    } else {
      std::string body = "\"msg\":" + Value(std::string(text)).dump(-1, ' ', false,
                                                                      Value::error_handler_t::replace) + "}";
      dest.append(body.data(), body.data() + body.size());
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

std::string text_value(const Value& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    bool plain = !s.empty() && s.find_first_of(" \t\"=") == std::string::npos;
    return plain ? s : Value(s).dump(-1, ' ', false, Value::error_handler_t::replace);
  }
  return v.dump(-1, ' ', false, Value::error_handler_t::replace);
}

}  // namespace

void setup(Format format, spdlog::level::level_enum level, spdlog::sink_ptr sink) {
  g_format = format;
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("swmld", std::move(sink));
  if (format == Format::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

Format format() { return g_format; }

void event(spdlog::level::level_enum level, std::string_view event, std::string_view context,
           const Value& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  if (g_format == Format::json) {
    Value line = Value::object();
    line["event"] = std::string(event);
    // The context is "k=v k=v"; in JSON it becomes fields of their own.
    std::string_view rest = context;
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      std::string_view item = rest.substr(0, sp);
      auto eq = item.find('=');
      if (eq != std::string_view::npos)
        line[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
      rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    }
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
    logger->log(level, "{}", line.dump(-1, ' ', false, Value::error_handler_t::replace));
    return;
  }
  std::string text(event);
  if (!context.empty()) {
    text += ' ';
    text += context;
  }
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    text += ' ';
    text += it.key();
    text += '=';
    text += text_value(it.value());
  }
  logger->log(level, "{}", text);
}

}  // namespace swmld::log
