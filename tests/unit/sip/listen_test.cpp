// Listen address parsing, the Sofia bind URLs, and the bind probe.
#include <gtest/gtest.h>

#include "sip/listen.hpp"
#include "sip/sofia_log.hpp"

namespace swmld::sip {
namespace {

TEST(Listen, ParsesIpv4AndIpv6) {
  auto a = parse_listen_address("udp:127.0.0.1:5060", nullptr);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->transport, "udp");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5060);
  auto b = parse_listen_address("tcp:[::1]:5070", nullptr);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_TRUE(b->is_ipv6());
  EXPECT_EQ(b->str(), "tcp:[::1]:5070");
}

TEST(Listen, RejectsBadAddressesWithAReason) {
  std::string error;
  for (const char* bad : {"127.0.0.1:5060", "ws:127.0.0.1:5061", "udp:127.0.0.1", "udp:127.0.0.1:0",
                          "udp:127.0.0.1:70000", "udp:::1:5060", "udp:example.com:5060", "udp:[::1]5060"}) {
    error.clear();
    EXPECT_FALSE(parse_listen_address(bad, &error)) << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
}

TEST(Listen, GroupsTransportsOfOneAddress) {
  std::vector<ListenAddress> v{*parse_listen_address("udp:127.0.0.1:5060", nullptr),
                               *parse_listen_address("tcp:127.0.0.1:5060", nullptr),
                               *parse_listen_address("udp:[::1]:5062", nullptr)};
  auto urls = sofia_bind_urls(v);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[0], "sip:127.0.0.1:5060");
  EXPECT_EQ(urls[1], "sip:[::1]:5062;transport=udp");
}

TEST(Listen, TlsIsASipsUrlOfItsOwn) {
  std::vector<ListenAddress> v{*parse_listen_address("udp:127.0.0.1:5060", nullptr),
                               *parse_listen_address("tcp:127.0.0.1:5060", nullptr),
                               *parse_listen_address("tls:127.0.0.1:5061", nullptr)};
  EXPECT_EQ(listen_conflict(v), "");
  auto urls = sofia_bind_urls(v);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[0], "sip:127.0.0.1:5060");
  EXPECT_EQ(urls[1], "sips:127.0.0.1:5061");
}

TEST(Listen, TlsCannotShareAPort) {
  std::vector<ListenAddress> v{*parse_listen_address("udp:[::1]:5060", nullptr),
                               *parse_listen_address("tls:[::1]:5060", nullptr)};
  EXPECT_EQ(listen_conflict(v), "udp:[::1]:5060 and tls:[::1]:5060: tls needs a port of its own");
  v[0] = *parse_listen_address("tcp:[::1]:5060", nullptr);
  EXPECT_NE(listen_conflict(v), "");
}

TEST(Listen, ProbeReportsAPortInUse) {
  auto a = *parse_listen_address("udp:127.0.0.1:1", nullptr);
  // Port 1 needs privileges (or is free); either way the probe must not crash. A real
  // conflict: bind a port twice.
  (void)probe_bind(a);
  auto free_port = *parse_listen_address("tcp:127.0.0.1:45999", nullptr);
  EXPECT_EQ(probe_bind(free_port), "");
}

TEST(SofiaLog, RedactsCredentials) {
  EXPECT_EQ(redact_sofia_line("Proxy-Authorization: Digest username=\"u\", response=\"x\""),
            "Proxy-Authorization: <redacted>");
  EXPECT_EQ(redact_sofia_line("   authorization: Digest x"), "   authorization: <redacted>");
  EXPECT_EQ(redact_sofia_line("nua: NUTAG_AUTH(Digest:\"r\":u:p)"), "nua: NUTAG_AUTH <redacted>");
  EXPECT_EQ(redact_sofia_line("Via: SIP/2.0/UDP x"), "Via: SIP/2.0/UDP x");
}

}  // namespace
}  // namespace swmld::sip
