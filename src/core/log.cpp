// spdlog set-up: a text pattern, or a JSON-lines formatter; structured event records.
#include "swmld/core/log.hpp"
#include "swmld/core/thread_name.hpp"
#include "swmld/core/utf8.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include <spdlog/sinks/base_sink.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/pattern_formatter.h>

namespace swmld::log {
namespace {

std::atomic<Format> g_format{Format::text};  // written once at start-up
std::atomic<std::uint64_t> g_dropped_lines{0};  // every background sink's drops

// Text lines are written as printable UTF-8, whatever the message holds: a SIP peer's
// Call-ID or URI can carry invalid UTF-8, an ESC sequence that rewrites an operator's terminal,
// or a line break that fakes a log line. Control characters, bytes that are not valid UTF-8
// and line breaks inside a message become `\xNN`; the line's own end stays. JSON lines are
// already escaped by their formatter.
void append_printable(std::string_view in, spdlog::memory_buf_t& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escape = [&out](unsigned char c) {
    const char e[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    out.append(e, e + 4);
  };
  auto plain = [](unsigned char c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; };
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    // Printable ASCII, almost every line whole, is copied a run at a time.
    std::size_t run = i;
    while (run < n && plain(static_cast<unsigned char>(in[run]))) ++run;
    out.append(in.data() + i, in.data() + run);
    i = run;
    if (i == n) break;
    const auto c = static_cast<unsigned char>(in[i]);
    // A control character is escaped; a valid UTF-8 sequence copied; anything else escaped.
    const std::size_t len = c < 0x80 ? 0 : utf8_sequence_at(in, i);
    const bool ok = len > 0;
    if (ok) {
      out.append(in.data() + i, in.data() + i + len);
      i += len;
    } else {
      escape(c);
      ++i;
    }
  }
}

class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter() : inner_(std::make_unique<spdlog::pattern_formatter>(kPattern)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t line;
    inner_->format(msg, line);
    std::string_view text(line.data(), line.size());
    const bool eol = !text.empty() && text.back() == '\n';
    if (eol) text.remove_suffix(1);
    append_printable(text, dest);
    if (eol) dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  static constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v";
  std::unique_ptr<spdlog::formatter> inner_;
};

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

// See background_sink() in log.hpp. base_sink's mutex_ guards pending_, dropped_, urgent_
// and the formatter; the writer thread writes with the mutex released. Stopping is
// stop_deadline_ being set (it is written under the mutex too, read without it).
class BackgroundSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BackgroundSink(int fd, std::chrono::milliseconds interval, std::size_t max_bytes,
                 std::chrono::milliseconds stop_timeout)
      : fd_(fd), interval_(interval), max_bytes_(max_bytes), stop_timeout_(stop_timeout) {
    struct stat st {};
    // A regular file takes any write at once; a pipe, socket or terminal only what it has
    // room for, and poll() promises room for PIPE_BUF bytes.
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) chunk_ = std::size_t(-1);
    writer_ = std::thread([this] {
      name_this_thread("swmld-log");
      run();
    });
  }
  ~BackgroundSink() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_deadline_.store(std::chrono::steady_clock::now() + stop_timeout_);
    }
    cv_.notify_one();
    writer_.join();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    if (pending_.size() + line.size() > max_bytes_) {
      ++dropped_;
      g_dropped_lines.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    bool first = pending_.empty();
    pending_.append(line.data(), line.size());
    if (msg.level >= spdlog::level::warn || pending_.size() >= kEagerBytes) urgent_ = true;
    if (first || urgent_) cv_.notify_one();
  }
  void flush_() override {
    urgent_ = true;
    cv_.notify_one();
  }

 private:
  static constexpr std::size_t kEagerBytes = 64 * 1024;

  bool stopping() const {
    return stop_deadline_.load() != std::chrono::steady_clock::time_point::max();
  }

  void run() {
    std::string out;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping() || !pending_.empty() || dropped_ > 0; });
      if (!stopping() && !urgent_) {
        cv_.wait_for(lock, interval_, [this] { return stopping() || urgent_; });
      }
      out.swap(pending_);
      urgent_ = false;
      if (dropped_ > 0) {
        // After what was kept: the notice tells where the gap is.
        const std::string text = fmt::format("log: {} line(s) dropped, stderr too slow", dropped_);
        spdlog::details::log_msg notice("swmld", spdlog::level::warn, text);
        spdlog::memory_buf_t line;
        formatter_->format(notice, line);
        out.append(line.data(), line.size());
        dropped_ = 0;
      }
      const bool last_round = stopping();
      lock.unlock();
      write_all(out);  // bounded once a stop is requested
      out.clear();
      if (out.capacity() > kEagerBytes * 4) out.shrink_to_fit();
      lock.lock();
      if (last_round && pending_.empty() && dropped_ == 0) return;
    }
  }

  // Writes everything, in pieces the descriptor can take (a pipe that polls writable takes
  // PIPE_BUF bytes without blocking). While swmld runs it waits as long as stderr stays full
  // (callers are not held up: lines beyond the buffer are dropped); once a stop is requested
  // it writes until stop_deadline_ at most, so a stalled stderr cannot keep swmld from exiting.
  // Gives up on errors (closed pipe): nothing sensible can be done with a log line then.
  void write_all(const std::string& data) const {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      if (std::chrono::steady_clock::now() >= stop_deadline_.load()) return;
      pollfd pfd{fd_, POLLOUT, 0};
      int ready = ::poll(&pfd, 1, 100);
      if (ready < 0 && errno != EINTR) return;
      if (ready <= 0) continue;
      if ((pfd.revents & (POLLERR | POLLNVAL)) != 0) return;
      ssize_t n = ::write(fd_, p, std::min(left, chunk_));
      if (n > 0) {
        p += n;
        left -= static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        return;
      }
    }
  }

  const int fd_;
  const std::chrono::milliseconds interval_;
  const std::size_t max_bytes_;
  const std::chrono::milliseconds stop_timeout_;
  std::size_t chunk_ = PIPE_BUF;  // the most one write() is given
  // Set by the destructor: the writer stops, and stops waiting for a stalled descriptor then.
  std::atomic<std::chrono::steady_clock::time_point> stop_deadline_{
      std::chrono::steady_clock::time_point::max()};
  std::condition_variable cv_;
  std::string pending_;
  std::size_t dropped_ = 0;
  bool urgent_ = false;
  std::thread writer_;
};

}  // namespace

spdlog::sink_ptr background_sink(int fd, std::chrono::milliseconds interval,
                                 std::size_t max_bytes, std::chrono::milliseconds stop_timeout) {
  return std::make_shared<BackgroundSink>(fd, interval, max_bytes, stop_timeout);
}

std::uint64_t dropped_lines() {
  return g_dropped_lines.load(std::memory_order_relaxed);
}

void shutdown() {
  // A synchronous stderr logger of the same format and level takes over, so a late line
  // still gets out; dropping the old logger destroys its sink, which writes what is left.
  auto old = spdlog::default_logger();
  if (!old) return;
  auto level = old->level();
  setup(g_format.load(), level);
  old.reset();
}

void setup(Format format, spdlog::level::level_enum level, spdlog::sink_ptr sink) {
  g_format = format;
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("swmld", std::move(sink));
  if (format == Format::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_formatter(std::make_unique<TextFormatter>());
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
