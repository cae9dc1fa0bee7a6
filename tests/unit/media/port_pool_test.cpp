// The RTP port pool: even ports, RTCP room, FIFO reuse.
#include <gtest/gtest.h>

#include "media/port_pool.hpp"

namespace swmld::media {
namespace {

TEST(PortPool, HandsOutEvenPortsRoundRobin) {
  PortPool pool(20001, 20006);  // 20002, 20004 (20006 has no RTCP port in range)
  EXPECT_EQ(pool.available(), 2u);
  EXPECT_EQ(pool.acquire(), 20002);
  EXPECT_EQ(pool.acquire(), 20004);
  EXPECT_FALSE(pool.acquire());
  pool.release(20002);
  EXPECT_EQ(pool.capacity(), 2u);
  EXPECT_EQ(pool.acquire(), 20002);
}

}  // namespace
}  // namespace swmld::media
