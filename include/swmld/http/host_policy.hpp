// Destination policy of the HTTP client: host-name / network allowlist and private-address block.
// Pure value code (no I/O); the client applies it to the address each request connected to.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swmld::http {

// An IPv4 or IPv6 address; IPv4 is kept as an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  static std::optional<IpAddress> parse(std::string_view text);  // "1.2.3.4", "::1", "[::1]"
  bool is_v4() const;
  bool is_private() const;  // loopback, RFC 1918, link-local, CGNAT, ULA, unspecified, ...
};

class HostPolicy {
 public:
  HostPolicy() = default;
  // Entries: host names ("example.com", "*.example.com": any sub-domain) or networks
  // ("10.0.0.0/8", "192.168.1.7", "fd00::/8"). Unparseable entries are reported in `error`.
  static HostPolicy make(const std::vector<std::string>& allowed_hosts, bool block_private,
                         std::string* error = nullptr);

  bool restricts() const { return block_private_ || !names_.empty() || !nets_.empty(); }
  // Empty when allowed, otherwise the reason. `host` is the URL's host name (or literal),
  // `address` the connected IP address as text.
  std::string check(std::string_view host, std::string_view address) const;

 private:
  struct Net {
    IpAddress base;
    int prefix = 128;  // in the IPv6 (mapped) space
  };
  bool in_nets(const IpAddress& a) const;

  std::vector<std::string> names_;  // lower case; "*.x" entries kept with the "*." prefix
  std::vector<Net> nets_;
  bool block_private_ = false;
};

}  // namespace swmld::http
