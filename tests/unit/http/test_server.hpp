// Test helpers for the http module: runs tests/e2e/http_server.py as a child process and
// talks to its control endpoints with plain blocking libcurl (independent of http::Client).
#pragma once

#include <gtest/gtest.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

extern char** environ;

namespace swmld::http::test {

// A port that was free a moment ago (bind to 0, read it back, close).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Polls `cond` until it holds or `timeout_s` passed; true when it held.
inline bool wait_until(const std::function<bool()>& cond, double timeout_s = 5) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class TestServer {
 public:
  // Starts the server on `port` (0: a free one) and waits (bounded) for its "PORT n" line.
  explicit TestServer(int port = 0) {
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe(in_pipe) != 0 || ::pipe(out_pipe) != 0) throw std::runtime_error("pipe");
    std::string script = std::string(SWMLD_SOURCE_DIR) + "/tests/e2e/http_server.py";
    std::string port_arg = std::to_string(port);
    const char* argv[] = {"python3",        script.c_str(),        "--port",
                          port_arg.c_str(), "--exit-on-stdin-eof", nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_addclose(&fa, in_pipe[1]);
    posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
    int rc = posix_spawnp(&pid_, "python3", &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_fd_ = in_pipe[1];
    ::fcntl(stdin_fd_, F_SETFD, FD_CLOEXEC);
    if (rc != 0) {
      ::close(out_pipe[0]);
      throw std::runtime_error("cannot start python3");
    }
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_pipe[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[64];
      ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out_pipe[0]);
    if (line.rfind("PORT ", 0) != 0) {
      stop();
      throw std::runtime_error("http_server.py did not start: " + line);
    }
    port_ = std::stoi(line.substr(5));
  }

  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  void stop() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
    if (pid_ > 0) {
      // SIGTERM, then SIGKILL after 3 s: a test must never hang on its peer's exit.
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 300 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(10000);
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
  }

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  void script(const std::string& path, const nlohmann::json& responses) {
    control("POST", "/_script", nlohmann::json{{"path", path}, {"responses", responses}}.dump());
  }
  void reset() { control("POST", "/_reset", ""); }
  nlohmann::json requests(const std::string& path = "") {
    return nlohmann::json::parse(control("GET", "/_requests" + query(path), ""));
  }
  // Blocks (bounded) until `count` requests to `path` ("" = any) were recorded.
  bool wait_for(int count, const std::string& path = "", int timeout_ms = 5000) {
    std::string q = query(path);
    q += (q.empty() ? "?" : "&") + std::string("count=") + std::to_string(count) +
         "&timeout_ms=" + std::to_string(timeout_ms);
    return nlohmann::json::parse(control("GET", "/_wait" + q, ""))["ok"].get<bool>();
  }

 private:
  static std::string query(const std::string& path) {
    return path.empty() ? std::string() : "?path=" + path;
  }

  std::string control(const std::string& method, const std::string& path, const std::string& body) {
    CURL* e = curl_easy_init();
    std::string out;
    std::string u = url(path);
    curl_easy_setopt(e, CURLOPT_URL, u.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    if (method != "GET") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(
        e, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u2) -> size_t {
          static_cast<std::string*>(u2)->append(d, s * n);
          return s * n;
        });
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK) throw std::runtime_error("control request failed: " + path);
    return out;
  }

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int port_ = 0;
};

// A fixture whose tests share one server for the suite, reset before each test.
class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { server_->reset(); }

  static inline TestServer* server_ = nullptr;
};

}  // namespace swmld::http::test
