// Random UUIDs from a per-thread generator seeded once from std::random_device.
#include "swmld/core/ids.hpp"

#include <cstdint>
#include <random>

namespace swmld {

std::string new_uuid() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  std::uint64_t hi = rng();
  std::uint64_t lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  // Hex digits written directly: snprintf's format parsing cost more than the generator.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](std::uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) out[static_cast<std::size_t>(pos + i)] = kHex[v & 0xf], v >>= 4;
    pos += digits + 1;  // and the '-' after
  };
  put(hi >> 32, 8);
  put((hi >> 16) & 0xffff, 4);
  put(hi & 0xffff, 4);
  put(lo >> 48, 4);
  put(lo & 0xffffffffffffULL, 12);
  return out;
}

}  // namespace swmld
