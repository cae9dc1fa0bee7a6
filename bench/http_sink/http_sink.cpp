// http_sink: the status-callback receiver of bench/refer_load and bench/soak, and the document
// server of bench/http_load. A single-threaded epoll HTTP/1.1 server on 127.0.0.1 that answers
// every request "204 No Content" (keep-alive) and counts requests, so that the receiver is never
// the bottleneck of the benchmark.
//   http_sink PORT [stats-file] [--body-file F [--content-type T] [--cache-control V]]
//             [--fail-every N] [--slow-every N [--slow-ms M]] [--hang-every N]
//   http_sink PORT [stats-file] --blackhole
// --body-file: answer every request "200 OK" with the file's bytes as the body, the given
// Content-Type (default application/yaml) and, when given, a Cache-Control header.
// --blackhole: listen (backlog 4096) and never accept nor read: a callback server that hangs.
// A callback server that fails some of the time (bench/soak), by the request's number n
// (1, 2, ... in arrival order), the first rule that matches:
//   --hang-every N   n % N == 0: never answer (the connection stays open until the client
//                    closes it, e.g. at its time-out)
//   --fail-every N   n % N == 0: answer "500 Internal Server Error"
//   --slow-every N   n % N == 0: answer normally after --slow-ms (default 300) ms
// Requests on one connection are answered in order: one held back holds back the next.
// The stats file ("requests=N connections=C cpu_s=X ok=A failed=B slow=S hung=H", then
// "state.X=K" per "state" value of the JSON bodies answered 2xx) is rewritten every 0.5 s
// while the count changes and once more at SIGINT/SIGTERM, when the program exits.
// Only what the benchmark needs: Content-Length bodies (no chunked), pipelining tolerated.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <strings.h>
#include <map>
#include <unordered_map>
#include <vector>

#include "common/cpu_seconds.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

constexpr char kReply[] = "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
constexpr char kFail[] =
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";

long now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

// The value of the first "state":"..." of a request's JSON body (empty when none).
std::string state_of(const std::string& request) {
  static const std::string key = "\"state\":\"";
  auto at = request.find(key);
  if (at == std::string::npos) return {};
  at += key.size();
  auto end = request.find('"', at);
  if (end == std::string::npos || end - at > 32) return {};
  return request.substr(at, end - at);
}

// Returns the length of the first complete request in buf, or 0 if incomplete.
std::size_t complete_request(const std::string& buf) {
  auto end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::size_t head = end + 4;
  std::size_t length = 0;
  std::size_t pos = buf.find("\r\n");  // skip the request line
  while (pos != std::string::npos && pos < end) {
    std::size_t next = buf.find("\r\n", pos + 2);
    const char* line = buf.data() + pos + 2;
    if (strncasecmp(line, "content-length:", 15) == 0) length = std::strtoul(line + 15, nullptr, 10);
    pos = next;
  }
  return buf.size() >= head + length ? head + length : 0;
}

using swmld::bench::cpu_seconds;

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  const char* stats_path = nullptr;
  std::string body_file, content_type = "application/yaml", cache_control;
  bool blackhole = false;
  unsigned long fail_every = 0, slow_every = 0, hang_every = 0;
  long slow_ms = 300;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--body-file" && i + 1 < argc) {
      body_file = argv[++i];
    } else if (a == "--content-type" && i + 1 < argc) {
      content_type = argv[++i];
    } else if (a == "--cache-control" && i + 1 < argc) {
      cache_control = argv[++i];
    } else if (a == "--blackhole") {
      blackhole = true;
    } else if (a == "--fail-every" && i + 1 < argc) {
      fail_every = std::strtoul(argv[++i], nullptr, 10);
    } else if (a == "--slow-every" && i + 1 < argc) {
      slow_every = std::strtoul(argv[++i], nullptr, 10);
    } else if (a == "--slow-ms" && i + 1 < argc) {
      slow_ms = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--hang-every" && i + 1 < argc) {
      hang_every = std::strtoul(argv[++i], nullptr, 10);
    } else if (!a.empty() && a[0] != '-' && port == 0) {
      port = std::atoi(a.c_str());
    } else if (!a.empty() && a[0] != '-' && !stats_path) {
      stats_path = argv[i];
    } else {
      port = 0;
      break;
    }
  }
  if (port <= 0) {
    std::fprintf(stderr,
                 "usage: %s PORT [stats-file] [--body-file F [--content-type T] "
                 "[--cache-control V]] [--fail-every N] [--slow-every N [--slow-ms M]] "
                 "[--hang-every N] [--blackhole]\n",
                 argv[0]);
    return 2;
  }
  std::string reply(kReply);
  if (!body_file.empty()) {
    FILE* f = std::fopen(body_file.c_str(), "rb");
    if (!f) {
      std::perror("http_sink: --body-file");
      return 1;
    }
    std::string body;
    char chunk[4096];
    while (std::size_t got = std::fread(chunk, 1, sizeof chunk, f)) body.append(chunk, got);
    std::fclose(f);
    reply = "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (!cache_control.empty()) reply += "Cache-Control: " + cache_control + "\r\n";
    reply += "Connection: keep-alive\r\n\r\n" + body;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGPIPE, SIG_IGN);

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, blackhole ? 4096 : 1024) != 0) {
    std::perror("http_sink: bind/listen");
    return 1;
  }
  if (blackhole) {  // accept nothing, read nothing: connections queue in the kernel
    std::printf("READY %d blackhole\n", port);
    std::fflush(stdout);
    while (!g_stop) ::usleep(100000);
    return 0;
  }
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::printf("READY %d\n", port);
  std::fflush(stdout);

  struct Conn {
    std::string in;
    bool held = false;  // a request answered later (slow) or never (hang) blocks the rest
  };
  struct Delayed {
    int fd;
    long due_ms;
    std::string state;
  };
  std::unordered_map<int, Conn> conns;
  std::vector<Delayed> delayed;
  std::map<std::string, unsigned long> states;  // answered 2xx, by the body's "state"
  unsigned long requests = 0, connections = 0, ok = 0, failed = 0, slow = 0, hung = 0;
  epoll_event events[256];
  char buf[65536];
  double cpu0 = cpu_seconds();
  auto write_stats = [&]() {
    std::string line = "requests=" + std::to_string(requests) +
                       " connections=" + std::to_string(connections);
    char cpu[40];
    std::snprintf(cpu, sizeof cpu, " cpu_s=%.3f", cpu_seconds() - cpu0);
    line += cpu;
    line += " ok=" + std::to_string(ok) + " failed=" + std::to_string(failed) +
            " slow=" + std::to_string(slow) + " hung=" + std::to_string(hung);
    for (const auto& [state, n] : states) line += " state." + state + "=" + std::to_string(n);
    line += "\n";
    if (stats_path) {
      std::string tmp = std::string(stats_path) + ".tmp";
      if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fputs(line.c_str(), f);
        std::fclose(f);
        std::rename(tmp.c_str(), stats_path);
      }
    }
    return line;
  };
  // Replies are small; a loopback socket buffer takes them whole. A partial write is
  // finished by blocking briefly (bounded: 1,000 tries of 1 ms) rather than buffered.
  auto send_all = [](int fd, const std::string& out) {
    for (std::size_t off = 0, tries = 0; off < out.size() && tries < 1000;) {
      ssize_t w = ::write(fd, out.data() + off, out.size() - off);
      if (w > 0) {
        off += static_cast<std::size_t>(w);
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ++tries;
        ::usleep(1000);
      } else {
        break;
      }
    }
  };
  auto answered_ok = [&](const std::string& state) {
    ++ok;
    if (!state.empty()) ++states[state];
  };
  // Answers the complete requests buffered on `fd`, up to the first one held back.
  auto serve = [&](int fd) {
    Conn& c = conns[fd];
    std::string out;
    while (!c.held) {
      std::size_t len = complete_request(c.in);
      if (len == 0) break;
      ++requests;
      if (hang_every && requests % hang_every == 0) {
        ++hung;
        c.held = true;
      } else if (fail_every && requests % fail_every == 0) {
        ++failed;
        out.append(kFail);
      } else if (slow_every && requests % slow_every == 0) {
        ++slow;
        c.held = true;
        delayed.push_back({fd, now_ms() + slow_ms, state_of(c.in.substr(0, len))});
      } else {
        answered_ok(state_of(c.in.substr(0, len)));
        out.append(reply);
      }
      c.in.erase(0, len);
    }
    send_all(fd, out);
  };
  auto close_conn = [&](int fd) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns.erase(fd);
    for (auto it = delayed.begin(); it != delayed.end();) {
      it = it->fd == fd ? delayed.erase(it) : it + 1;
    }
  };
  unsigned long written = ~0UL;
  long last = now_ms();
  while (!g_stop) {
    long now = now_ms();
    if (now - last >= 500) {
      last = now;
      if (written != requests + ok) write_stats();
      written = requests + ok;
    }
    // Delayed answers that are due (the connection may have gone: then they are not counted).
    for (std::size_t i = 0; i < delayed.size();) {
      if (delayed[i].due_ms > now) {
        ++i;
        continue;
      }
      Delayed d = delayed[i];
      delayed.erase(delayed.begin() + static_cast<std::ptrdiff_t>(i));
      answered_ok(d.state);
      send_all(d.fd, reply);
      conns[d.fd].held = false;
      serve(d.fd);
    }
    int wait_ms = 200;
    for (const auto& d : delayed) wait_ms = static_cast<int>(std::max(0L, std::min<long>(wait_ms, d.due_ms - now)));
    int n = ::epoll_wait(ep, events, 256, wait_ms);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          conns[c];
          ++connections;
        }
        continue;
      }
      std::string& in = conns[fd].in;
      bool closed = false;
      for (;;) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r > 0) {
          in.append(buf, static_cast<std::size_t>(r));
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        break;
      }
      serve(fd);
      if (closed) close_conn(fd);
    }
  }
  std::fputs(write_stats().c_str(), stdout);
  return 0;
}
