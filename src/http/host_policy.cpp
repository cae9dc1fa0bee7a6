// Destination policy: host-name and network allowlist, private-address block. Pure, any thread.
#include "swmld/http/host_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace swmld::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!out.empty() && out.back() == '.') out.pop_back();  // "example.com." == "example.com"
  return out;
}

bool prefix_match(const IpAddress& a, const IpAddress& base, int prefix) {
  int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[i] != base.bytes[i]) return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

// A v4 network given in the mapped space: prefix + 96.
bool in_v4(const IpAddress& a, std::uint8_t b0, std::uint8_t b1, int prefix) {
  IpAddress base;
  base.bytes[10] = base.bytes[11] = 0xff;
  base.bytes[12] = b0;
  base.bytes[13] = b1;
  return prefix_match(a, base, 96 + prefix);
}

bool in_v6(const IpAddress& a, std::uint8_t b0, std::uint8_t b1, int prefix) {
  IpAddress base;
  base.bytes[0] = b0;
  base.bytes[1] = b1;
  return prefix_match(a, base, prefix);
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  std::string s(text);
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // zone id "fe80::1%eth0"
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.bytes[10] = a.bytes[11] = 0xff;
    std::copy_n(reinterpret_cast<const std::uint8_t*>(&v4.s_addr), 4, a.bytes.begin() + 12);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::copy_n(v6.s6_addr, 16, a.bytes.begin());
    return a;
  }
  return std::nullopt;
}

bool IpAddress::is_v4() const {
  for (int i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

bool IpAddress::is_private() const {
  if (is_v4()) {
    return in_v4(*this, 0, 0, 8) ||       // "this network"
           in_v4(*this, 10, 0, 8) ||      // RFC 1918
           in_v4(*this, 100, 64, 10) ||   // CGNAT
           in_v4(*this, 127, 0, 8) ||     // loopback
           in_v4(*this, 169, 254, 16) ||  // link-local (cloud metadata lives here)
           in_v4(*this, 172, 16, 12) ||   // RFC 1918
           in_v4(*this, 192, 0, 24) ||    // IETF protocol assignments
           in_v4(*this, 192, 168, 16) ||  // RFC 1918
           in_v4(*this, 198, 18, 15) ||   // benchmarking
           in_v4(*this, 224, 0, 4) ||     // multicast
           in_v4(*this, 240, 0, 4);       // reserved, broadcast
  }
  // ::/96 covers :: (unspecified), ::1 (loopback) and IPv4-compatible addresses.
  IpAddress zero;
  if (prefix_match(*this, zero, 96)) return true;
  if (in_v6(*this, 0xfc, 0x00, 7)) return true;   // unique local
  if (in_v6(*this, 0xfe, 0x80, 10)) return true;  // link-local
  if (in_v6(*this, 0xff, 0x00, 8)) return true;   // multicast
  if (in_v6(*this, 0x00, 0x64, 16) && bytes[2] == 0xff && bytes[3] == 0x9b) {
    // NAT64 64:ff9b::/96 embeds an IPv4 address: judge that one.
    IpAddress v4;
    v4.bytes[10] = v4.bytes[11] = 0xff;
    std::copy_n(bytes.begin() + 12, 4, v4.bytes.begin() + 12);
    return v4.is_private();
  }
  return false;
}

HostPolicy HostPolicy::make(const std::vector<std::string>& allowed_hosts, bool block_private,
                            std::string* error) {
  HostPolicy p;
  p.block_private_ = block_private;
  for (const std::string& entry : allowed_hosts) {
    std::string_view e = entry;
    std::string_view addr = e;
    int prefix = -1;
    if (auto slash = e.find('/'); slash != std::string_view::npos) {
      addr = e.substr(0, slash);
      std::string_view bits = e.substr(slash + 1);
      int value = -1;
      auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
      if (ec != std::errc() || ptr != bits.data() + bits.size()) value = -1;
      prefix = value;
    }
    if (auto ip = IpAddress::parse(addr)) {
      int max = ip->is_v4() ? 32 : 128;
      if (prefix < 0 && e.find('/') == std::string_view::npos) prefix = max;
      if (prefix < 0 || prefix > max) {
        if (error != nullptr) *error = "invalid network in allowed_hosts: " + entry;
        continue;
      }
      p.nets_.push_back(Net{*ip, ip->is_v4() ? prefix + 96 : prefix});
    } else if (prefix >= 0 || e.find('/') != std::string_view::npos || e.empty()) {
      if (error != nullptr) *error = "invalid entry in allowed_hosts: " + entry;
    } else {
      p.names_.push_back(lower(e));
    }
  }
  return p;
}

bool HostPolicy::in_nets(const IpAddress& a) const {
  return std::any_of(nets_.begin(), nets_.end(),
                     [&](const Net& n) { return prefix_match(a, n.base, n.prefix); });
}

std::string HostPolicy::check(std::string_view host_in, std::string_view address) const {
  if (!restricts()) return {};
  std::string host = lower(host_in);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::optional<IpAddress> ip = IpAddress::parse(address);
  if (!ip) return "destination " + host + " has no usable address";
  bool in_net = in_nets(*ip);
  if (!names_.empty() || !nets_.empty()) {
    bool name_ok = std::any_of(names_.begin(), names_.end(), [&](const std::string& n) {
      if (n.rfind("*.", 0) == 0) {
        std::string_view suffix = std::string_view(n).substr(1);  // ".example.com"
        return host.size() > suffix.size() &&
               host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
      }
      return host == n;
    });
    if (!name_ok && !in_net) {
      return "destination " + host + " (" + std::string(address) + ") is not in allowed_hosts";
    }
  }
  if (block_private_ && !in_net && ip->is_private()) {
    return "destination " + host + " resolves to private address " + std::string(address);
  }
  return {};
}

}  // namespace swmld::http
