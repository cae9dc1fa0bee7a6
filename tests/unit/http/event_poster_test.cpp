// http::EventPoster: signed JSON callbacks, retries, drops and per-URL order, against the
// real scriptable HTTP server.
#include "swmld/http/event_poster.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "swmld/http/signing.hpp"
#include "unit/http/test_server.hpp"

namespace swmld::http {
namespace {

using json = nlohmann::json;
using test::TestServer;
using test::wait_until;

EventPosterConfig fast_config() {
  EventPosterConfig cfg;
  cfg.backoff_initial_s = 0.02;
  cfg.backoff_max_s = 0.2;
  cfg.timeout_s = 3;
  return cfg;
}

class EventPosterTest : public test::ServerTest {
 protected:

};


TEST_F(EventPosterTest, PostsJsonWithSignaturesOverTheUrlWithoutCredentials) {
  Client client;
  EventPosterConfig cfg = fast_config();
  cfg.signing_secret = "s3cret";
  EventPoster poster(client, cfg);
  std::string plain = server_->url("/cb?x=1");
  std::string with_auth = "http://u:p@127.0.0.1:" + std::to_string(server_->port()) + "/cb?x=1";
  const std::string body = R"({"event_type":"calling.call.refer"})";
  ASSERT_TRUE(poster.post(with_auth, body));
  ASSERT_TRUE(poster.drain(5));

  json seen = server_->requests("/cb");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["method"], "POST");
  EXPECT_EQ(seen[0]["body"], body);
  EXPECT_EQ(seen[0]["headers"]["content-type"], "application/json");
  EXPECT_EQ(seen[0]["headers"]["x-signalwire-signature"], hmac_sha1_hex("s3cret", plain + body));
  EXPECT_EQ(seen[0]["headers"]["x-signalwire-sha256-signature"],
            hmac_sha256_hex("s3cret", plain + body));
  EXPECT_EQ(seen[0]["headers"]["authorization"], "Basic dTpw");
  EXPECT_EQ(poster.stats().delivered, 1u);
  EXPECT_EQ(poster.stats().pending, 0u);
}

TEST_F(EventPosterTest, UnsignedWithoutSecret) {
  Client client;
  EventPoster poster(client, fast_config());
  ASSERT_TRUE(poster.post(server_->url("/cb"), "{}"));
  ASSERT_TRUE(poster.drain(5));
  json seen = server_->requests("/cb");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0]["headers"].contains("x-signalwire-signature"));
}

TEST_F(EventPosterTest, RetriesWhileTheServerAnswers503) {
  server_->script("/cb", json::array({{{"status", 503}}, {{"status", 503}}, {{"status", 200}}}));
  Client client;
  EventPoster poster(client, fast_config());
  ASSERT_TRUE(poster.post(server_->url("/cb"), "{}"));
  ASSERT_TRUE(poster.drain(5));
  EXPECT_EQ(server_->requests("/cb").size(), 3u);
  EXPECT_EQ(poster.stats().delivered, 1u);
  EXPECT_EQ(poster.stats().retries, 2u);
}

TEST_F(EventPosterTest, DeliversOnceTheRefusingServerStarts) {
  int port = test::free_port();
  Client client;
  EventPosterConfig cfg = fast_config();
  cfg.max_retries = 8;
  cfg.backoff_initial_s = 0.05;
  cfg.backoff_max_s = 0.3;
  EventPoster poster(client, cfg);
  ASSERT_TRUE(poster.post("http://127.0.0.1:" + std::to_string(port) + "/late", "{\"n\":1}"));
  ASSERT_TRUE(wait_until([&] { return client.stats().retries >= 1; }, 5));  // refused once
  TestServer late(port);
  ASSERT_TRUE(poster.drain(5));
  EXPECT_EQ(poster.stats().delivered, 1u);
  json seen = late.requests("/late");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["body"], "{\"n\":1}");
}

TEST_F(EventPosterTest, GivesUpAfterMaxRetriesAndOnClientErrors) {
  server_->script("/gone", json::array({{{"status", 500}}}));
  server_->script("/nf", json::array({{{"status", 404}}}));
  Client client;
  EventPosterConfig cfg = fast_config();
  cfg.max_retries = 2;
  EventPoster poster(client, cfg);
  poster.post(server_->url("/gone"), "{}");
  poster.post(server_->url("/nf"), "{}");
  ASSERT_TRUE(poster.drain(5));
  EXPECT_EQ(server_->requests("/gone").size(), 3u);
  EXPECT_EQ(server_->requests("/nf").size(), 1u);  // 4xx is final
  EXPECT_EQ(poster.stats().failed, 2u);
  EXPECT_EQ(poster.stats().delivered, 0u);
}

TEST_F(EventPosterTest, DropsWhenTheQueueIsFull) {
  server_->script("/slow", json::array({{{"delay_ms", 200}}}));
  Client client;
  EventPosterConfig cfg = fast_config();
  cfg.max_queue = 3;
  EventPoster poster(client, cfg);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += poster.post(server_->url("/slow"), "{}") ? 1 : 0;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(poster.stats().dropped, 7u);
  ASSERT_TRUE(poster.drain(5));
  EXPECT_EQ(poster.stats().delivered, 3u);
}

TEST_F(EventPosterTest, PostsToOneUrlArriveInOrderDespiteRetries) {
  server_->script("/order", json::array({{{"status", 503}}, {{"status", 200}}}));
  Client client;
  EventPoster poster(client, fast_config());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(poster.post(server_->url("/order"), json{{"n", i}}.dump()));
  }
  ASSERT_TRUE(poster.drain(10));
  json seen = server_->requests("/order");
  ASSERT_EQ(seen.size(), 21u);  // the first one twice (503, then 200)
  EXPECT_EQ(json::parse(seen[0]["body"].get<std::string>())["n"], 0);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(json::parse(seen[i + 1]["body"].get<std::string>())["n"], i);
  }
}

TEST_F(EventPosterTest, ADeadUrlDoesNotDelayOtherUrls) {
  Client client;
  EventPosterConfig cfg = fast_config();
  cfg.max_retries = 3;
  cfg.backoff_initial_s = 0.5;  // the dead URL stays busy for > 1.5 s
  EventPoster poster(client, cfg);
  auto t0 = std::chrono::steady_clock::now();
  poster.post("http://127.0.0.1:" + std::to_string(test::free_port()) + "/dead", "{}");
  poster.post(server_->url("/alive"), "{}");
  ASSERT_TRUE(server_->wait_for(1, "/alive", 3000));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  ASSERT_TRUE(poster.drain(10));
  EXPECT_EQ(poster.stats().failed, 1u);
  EXPECT_EQ(poster.stats().delivered, 1u);
}

TEST_F(EventPosterTest, DestroyingThePosterCancelsWhatIsInFlight) {
  server_->script("/slow", json::array({{{"delay_ms", 500}}}));
  Client client;
  {
    EventPoster poster(client, fast_config());
    poster.post(server_->url("/slow"), "{}");
    poster.post(server_->url("/slow"), "{}");
    ASSERT_TRUE(server_->wait_for(1, "/slow", 3000));
  }
  // No callback into the destroyed poster: the client keeps working and nothing crashes.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(client.stats().cancelled, 1u);
  EXPECT_EQ(server_->requests("/slow").size(), 1u);
}

TEST_F(EventPosterTest, ClientShutdownFailsPendingPostsWithoutHanging) {
  server_->script("/slow", json::array({{{"delay_ms", 1000}}}));
  Client client;
  EventPoster poster(client, fast_config());
  for (int i = 0; i < 5; ++i) poster.post(server_->url("/slow"), "{}");
  ASSERT_TRUE(server_->wait_for(1, "/slow", 3000));
  client.shutdown();
  EXPECT_TRUE(poster.drain(2));
  EXPECT_EQ(poster.stats().failed, 5u);
}

}  // namespace
}  // namespace swmld::http
