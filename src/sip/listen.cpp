// Listen address parsing and the Sofia bind URLs built from them.
#include "listen.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace swmld::sip {

std::string ListenAddress::host_for_uri() const {
  return is_ipv6() ? "[" + host + "]" : host;
}

std::string ListenAddress::str() const {
  return transport + ":" + host_for_uri() + ":" + std::to_string(port);
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<ListenAddress> {
    if (error) *error = "invalid listen address '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  ListenAddress out;
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail("expected transport:host:port");
  out.transport = std::string(text.substr(0, colon));
  if (out.transport != "udp" && out.transport != "tcp" && out.transport != "tls")
    return fail("transport must be udp, tcp or tls");
  std::string_view rest = text.substr(colon + 1);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return fail("expected [ipv6]:port");
    out.host = std::string(rest.substr(1, close - 1));
    port_text = rest.substr(close + 2);
  } else {
    auto last = rest.rfind(':');
    if (last == std::string_view::npos) return fail("missing port");
    out.host = std::string(rest.substr(0, last));
    if (out.host.find(':') != std::string::npos) return fail("IPv6 hosts need brackets");
    port_text = rest.substr(last + 1);
  }
  if (out.host.empty()) return fail("missing host");
  unsigned char buf[sizeof(in6_addr)];
  int family = out.is_ipv6() ? AF_INET6 : AF_INET;
  if (inet_pton(family, out.host.c_str(), buf) != 1) return fail("host must be an IP address");
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || out.port < 1 ||
      out.port > 65535)
    return fail("port must be 1..65535");
  return out;
}

std::string listen_conflict(const std::vector<ListenAddress>& addresses) {
  for (const auto& a : addresses)
    for (const auto& b : addresses)
      if (a.transport != "tls" && b.transport == "tls" && a.host_for_uri() == b.host_for_uri() &&
          a.port == b.port)
        return a.str() + " and " + b.str() + ": tls needs a port of its own";
  return {};
}

std::vector<std::string> sofia_bind_urls(const std::vector<ListenAddress>& addresses) {
  struct Group {
    std::string host;
    int port;
    bool udp = false, tcp = false, tls = false;
  };
  std::vector<Group> groups;
  for (const auto& a : addresses) {
    Group* g = nullptr;
    for (auto& existing : groups)
      if (existing.host == a.host_for_uri() && existing.port == a.port) g = &existing;
    if (!g) g = &groups.emplace_back(Group{a.host_for_uri(), a.port});
    (a.transport == "udp" ? g->udp : a.transport == "tcp" ? g->tcp : g->tls) = true;
  }
  std::vector<std::string> urls;
  for (const auto& g : groups) {
    std::string url = (g.tls ? "sips:" : "sip:") + g.host + ":" + std::to_string(g.port);
    if (!g.tls && !(g.udp && g.tcp)) url += g.udp ? ";transport=udp" : ";transport=tcp";
    urls.push_back(url);
  }
  return urls;
}

std::string probe_bind(const ListenAddress& address) {
  bool v6 = address.is_ipv6();
  int fd = ::socket(v6 ? AF_INET6 : AF_INET,
                    (address.transport == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  if (address.transport != "udp") {
    int one = 1;  // as Sofia does: a port in TIME_WAIT is not "in use"
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &sin6->sin6_addr);
    len = sizeof *sin6;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET, address.host.c_str(), &sin->sin_addr);
    len = sizeof *sin;
  }
  std::string result;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      (address.transport != "udp" && ::listen(fd, 1) != 0))
    result = std::strerror(errno);
  ::close(fd);
  return result;
}

}  // namespace swmld::sip
