// HostPolicy: address parsing, private ranges, allowlist by name and network.
#include "swmld/http/host_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace swmld::http {
namespace {

using ::testing::HasSubstr;

bool is_private(const char* a) {
  return IpAddress::parse(a).value().is_private();
}

TEST(HostPolicy, ParsesV4V6AndBracketedAddresses) {
  EXPECT_TRUE(IpAddress::parse("1.2.3.4").has_value());
  EXPECT_TRUE(IpAddress::parse("1.2.3.4")->is_v4());
  EXPECT_TRUE(IpAddress::parse("[::1]").has_value());
  EXPECT_FALSE(IpAddress::parse("::1")->is_v4());
  EXPECT_TRUE(IpAddress::parse("fe80::1%eth0").has_value());
  EXPECT_FALSE(IpAddress::parse("example.com").has_value());
  EXPECT_FALSE(IpAddress::parse("1.2.3").has_value());
}

TEST(HostPolicy, ClassifiesPrivateAddresses) {
  for (const char* a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "169.254.169.254", "100.64.0.1", "0.0.0.0", "::", "::1", "fd00::1",
                        "fe80::1", "::ffff:10.0.0.1", "64:ff9b::a00:1"}) {
    EXPECT_TRUE(is_private(a)) << a;
  }
  for (const char* a : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1",
                        "2001:4860:4860::8888", "64:ff9b::808:808"}) {
    EXPECT_FALSE(is_private(a)) << a;
  }
}

TEST(HostPolicy, EmptyPolicyAllowsEverything) {
  HostPolicy p;
  EXPECT_FALSE(p.restricts());
  EXPECT_EQ(p.check("localhost", "127.0.0.1"), "");
}

TEST(HostPolicy, NamesAndWildcardsAndNetworks) {
  std::string error;
  HostPolicy p = HostPolicy::make(
      {"api.example.com", "*.hooks.example.org", "203.0.113.0/24", "2001:db8::/32"}, false, &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(p.check("API.example.com.", "198.51.100.1"), "");
  EXPECT_EQ(p.check("a.b.hooks.example.org", "198.51.100.1"), "");
  EXPECT_THAT(p.check("hooks.example.org", "198.51.100.1"), HasSubstr("not in allowed_hosts"));
  EXPECT_EQ(p.check("anything", "203.0.113.77"), "");
  EXPECT_EQ(p.check("v6", "2001:db8::5"), "");
  EXPECT_THAT(p.check("evil.com", "198.51.100.1"), HasSubstr("not in allowed_hosts"));
}

TEST(HostPolicy, BlockPrivateChecksTheAddressNotTheName) {
  HostPolicy p = HostPolicy::make({"api.example.com", "10.5.0.0/16"}, true);
  EXPECT_THAT(p.check("api.example.com", "127.0.0.1"), HasSubstr("private address"));
  EXPECT_EQ(p.check("api.example.com", "93.184.216.34"), "");
  EXPECT_EQ(p.check("internal", "10.5.1.1"), "");  // an allowed network wins
  EXPECT_THAT(p.check("internal", "10.6.1.1"), HasSubstr("not in allowed_hosts"));
}

TEST(HostPolicy, ReportsBadEntries) {
  std::string error;
  HostPolicy::make({"10.0.0.0/33"}, false, &error);
  EXPECT_THAT(error, HasSubstr("10.0.0.0/33"));
  error.clear();
  HostPolicy::make({"bad/name"}, false, &error);
  EXPECT_THAT(error, HasSubstr("bad/name"));
}

}  // namespace
}  // namespace swmld::http
