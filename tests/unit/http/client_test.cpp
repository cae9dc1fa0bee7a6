// http::Client against the real scriptable HTTP server (tests/e2e/http_server.py).
#include "swmld/http/client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "unit/http/test_server.hpp"

namespace swmld::http {
namespace {

using json = nlohmann::json;
using test::TestServer;
using test::wait_until;
using ::testing::HasSubstr;

class ClientTest : public test::ServerTest {
 protected:

  // Sends and waits (bounded) for the response, on the test thread.
  static Response call(Client& client, Request rq, double timeout_s = 10) {
    auto p = std::make_shared<std::promise<Response>>();
    auto f = p->get_future();
    client.send(std::move(rq), [p](Response r) { p->set_value(std::move(r)); });
    if (f.wait_for(std::chrono::duration<double>(timeout_s)) != std::future_status::ready) {
      ADD_FAILURE() << "no response within " << timeout_s << " s";
      Response r;
      r.error = "test: no response";
      return r;
    }
    return f.get();
  }

  static Request req(std::string method, const std::string& path, std::string body = "") {
    Request rq;
    rq.method = std::move(method);
    rq.url = server_->url(path);
    rq.body = std::move(body);
    return rq;
  }

};


TEST_F(ClientTest, GetReturnsStatusHeadersAndBodyAndSendsRequestHeaders) {
  server_->script(
      "/get",
      json::array({{{"status", 203}, {"headers", {{"X-Reply", "  yes  "}}}, {"body", "hello"}}}));
  Client client;
  Request rq = req("GET", "/get?a=1");
  rq.headers = {{"X-Test", "one"}, {"Accept", "text/plain"}};
  Response r = call(client, rq);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 203);
  EXPECT_EQ(r.body, "hello");
  ASSERT_NE(r.header("x-reply"), nullptr);
  EXPECT_EQ(*r.header("x-reply"), "yes");  // name lower-cased, value trimmed
  EXPECT_EQ(r.attempts, 1);
  EXPECT_GT(r.total_time_s, 0);

  json seen = server_->requests("/get");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["method"], "GET");
  EXPECT_EQ(seen[0]["query"], "a=1");
  EXPECT_EQ(seen[0]["headers"]["x-test"], "one");
  EXPECT_EQ(seen[0]["headers"]["accept"], "text/plain");
  EXPECT_EQ(seen[0]["headers"]["user-agent"], "swmld/0.1");
}

TEST_F(ClientTest, PostPutDeleteCarryMethodAndBody) {
  Client client;
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    Request rq = req(method, "/m", std::string(R"({"m":")") + method + "\"}");
    rq.headers = {{"Content-Type", "application/json"}};
    Response r = call(client, rq);
    EXPECT_EQ(r.status, 200) << method;
    EXPECT_EQ(r.body, "{}") << method;
  }
  Response r = call(client, req("delete", "/m"));  // lower case method, no body
  EXPECT_EQ(r.status, 200);

  json seen = server_->requests("/m");
  ASSERT_EQ(seen.size(), 5u);
  const char* expected[] = {"POST", "PUT", "DELETE", "PATCH"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(seen[i]["method"], expected[i]);
    EXPECT_EQ(seen[i]["body"], std::string(R"({"m":")") + expected[i] + "\"}");
    EXPECT_EQ(seen[i]["headers"]["content-type"], "application/json");
    EXPECT_FALSE(seen[i]["headers"].contains("expect"));
  }
  EXPECT_EQ(seen[4]["method"], "DELETE");
  EXPECT_EQ(seen[4]["body"], "");
}

TEST_F(ClientTest, BodyWithoutContentTypeIsNotLabelledAsForm) {
  Client client;
  Response r = call(client, req("POST", "/raw", "a=b"));
  EXPECT_EQ(r.status, 200);
  json seen = server_->requests("/raw");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["body"], "a=b");
  EXPECT_FALSE(seen[0]["headers"].contains("content-type"));
}

TEST_F(ClientTest, EmptyPostSendsContentLengthZero) {
  Client client;
  Response r = call(client, req("POST", "/empty"));
  EXPECT_EQ(r.status, 200);
  json seen = server_->requests("/empty");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["headers"]["content-length"], "0");
}

TEST_F(ClientTest, SlowServerTimesOutWithinTheRequestTimeout) {
  server_->script("/slow", json::array({{{"delay_ms", 3000}}}));
  Client client;
  Request rq = req("GET", "/slow");
  rq.timeout_s = 0.3;
  Response r = call(client, rq);
  EXPECT_TRUE(r.timed_out);
  EXPECT_NE(r.error, "");
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(r.total_time_s, 1.5);
  EXPECT_GE(r.total_time_s, 0.25);
}

TEST_F(ClientTest, ClosedPortIsAConnectionError) {
  Client client;
  Request rq;
  rq.url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/x";
  Response r = call(client, rq);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_THAT(r.error, HasSubstr("onnect"));
  EXPECT_EQ(client.stats().failures, 1u);
}

TEST_F(ClientTest, RetriesOn5xxUntilSuccess) {
  server_->script(
      "/flaky",
      json::array({{{"status", 500}}, {{"status", 502}}, {{"status", 200}, {"body", "ok"}}}));
  Client client;
  Request rq = req("POST", "/flaky", "x");
  rq.retry.max_retries = 3;
  rq.retry.on_5xx = true;
  rq.retry.backoff_initial_s = 0.01;
  Response r = call(client, rq);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(server_->requests("/flaky").size(), 3u);
  EXPECT_EQ(client.stats().retries, 2u);
}

TEST_F(ClientTest, BackoffDoublesBetweenAttempts) {
  server_->script("/flaky", json::array({{{"status", 503}}, {{"status", 503}}, {{"status", 200}}}));
  Client client;
  Request rq = req("GET", "/flaky");
  rq.retry.max_retries = 3;
  rq.retry.on_5xx = true;
  rq.retry.backoff_initial_s = 0.2;
  Response r = call(client, rq);
  EXPECT_EQ(r.status, 200);
  json seen = server_->requests("/flaky");
  ASSERT_EQ(seen.size(), 3u);
  double gap1 = seen[1]["time"].get<double>() - seen[0]["time"].get<double>();
  double gap2 = seen[2]["time"].get<double>() - seen[1]["time"].get<double>();
  EXPECT_GE(gap1, 0.19);
  EXPECT_LT(gap1, 0.5);
  EXPECT_GE(gap2, 0.39);
  EXPECT_LT(gap2, 0.9);
}

TEST_F(ClientTest, RetriesStopAtMaxRetriesAndReturnTheLastAnswer) {
  server_->script("/down", json::array({{{"status", 503}}}));
  Client client;
  Request rq = req("GET", "/down");
  rq.retry.max_retries = 2;
  rq.retry.on_5xx = true;
  rq.retry.backoff_initial_s = 0.01;
  Response r = call(client, rq);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.attempts, 3);
}

TEST_F(ClientTest, NoRetryOn5xxUnlessAsked) {
  server_->script("/down", json::array({{{"status", 500}}}));
  Client client;
  Request rq = req("GET", "/down");
  rq.retry.max_retries = 3;  // on_5xx stays false
  Response r = call(client, rq);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(server_->requests("/down").size(), 1u);
}

TEST_F(ClientTest, ConnectErrorsAreRetried) {
  Client client;
  Request rq;
  rq.url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/x";
  rq.retry.max_retries = 2;
  rq.retry.backoff_initial_s = 0.01;
  Response r = call(client, rq);
  EXPECT_NE(r.error, "");
  EXPECT_EQ(r.attempts, 3);
}

TEST_F(ClientTest, FullQueueRejectsInlineWithQueueFull) {
  server_->script("/slow", json::array({{{"delay_ms", 400}}}));
  ClientConfig cfg;
  cfg.max_queue = 2;
  cfg.max_in_flight = 1;
  Client client(cfg);
  auto self = std::this_thread::get_id();
  std::atomic<int> rejected_inline{0};
  std::atomic<int> completed{0};
  std::vector<std::shared_ptr<Handle>> handles;
  for (int i = 0; i < 10; ++i) {
    handles.push_back(client.send(req("GET", "/slow"), [&, self](Response r) {
      if (r.error == "queue full" && std::this_thread::get_id() == self) ++rejected_inline;
      ++completed;
    }));
  }
  // At most 1 in flight + 2 queued were accepted; the rest were refused before send returned.
  EXPECT_GE(rejected_inline.load(), 7);
  EXPECT_EQ(client.stats().queue_drops, static_cast<std::uint64_t>(rejected_inline.load()));
  EXPECT_TRUE(wait_until([&] { return completed.load() == 10; }, 5));
  EXPECT_EQ(client.stats().completed, 10u);  // rejections are completions too
}

TEST_F(ClientTest, CancelledRequestNeverCallsBack) {
  server_->script("/slow", json::array({{{"delay_ms", 300}}}));
  Client client;
  std::atomic<int> calls{0};
  auto h1 = client.send(req("GET", "/slow"), [&](Response) { ++calls; });
  auto h2 = client.send(req("GET", "/slow"), [&](Response) { ++calls; });
  h1->cancel();  // most likely still queued
  ASSERT_TRUE(server_->wait_for(1, "/slow", 3000));
  h2->cancel();  // in flight
  h2->cancel();  // idempotent
  EXPECT_TRUE(h1->finished());
  // A later request on the same client completes, so the worker has processed the cancels.
  Response r = call(client, req("GET", "/after"));
  EXPECT_EQ(r.status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past the server's delay
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(client.stats().cancelled, 2u);
  EXPECT_EQ(client.stats().in_flight, 0u);
}

TEST_F(ClientTest, CancelWaitsForARunningCallbackToReturn) {
  Client client;
  std::atomic<bool> entered{false};
  std::atomic<bool> returned{false};
  auto h = client.send(req("GET", "/x"), [&](Response) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    returned = true;
  });
  ASSERT_TRUE(wait_until([&] { return entered.load(); }, 5));
  h->cancel();
  EXPECT_TRUE(returned.load());
}

TEST_F(ClientTest, CancelFromInsideTheCallbackDoesNotDeadlock) {
  Client client;
  auto slot = std::make_shared<std::shared_ptr<Handle>>();
  std::promise<void> done;
  auto fut = done.get_future();
  std::mutex m;
  std::unique_lock<std::mutex> hold(m);  // the callback waits until the handle is stored
  *slot = client.send(req("GET", "/x"), [&, slot](Response) {
    std::lock_guard<std::mutex> lock(m);
    (*slot)->cancel();
    done.set_value();
  });
  hold.unlock();
  EXPECT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_F(ClientTest, ResponseBodyIsCapped) {
  server_->script("/big", json::array({{{"body_bytes", 5000}}}));
  ClientConfig cfg;
  cfg.max_response_bytes = 1000;
  Client client(cfg);
  Response r = call(client, req("GET", "/big"));
  EXPECT_EQ(r.error, "response body larger than 1000 bytes");

  server_->script("/fits", json::array({{{"body_bytes", 1000}}}));
  r = call(client, req("GET", "/fits"));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body.size(), 1000u);
}

TEST_F(ClientTest, ResponseHeadersAreCapped) {
  json headers;
  for (int i = 0; i < 10; ++i) headers["X-H" + std::to_string(i)] = "v";
  server_->script("/h", json::array({{{"headers", headers}}}));
  ClientConfig cfg;
  cfg.max_response_headers = 3;
  Client client(cfg);
  Response r = call(client, req("GET", "/h"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.size(), 3u);
}

TEST_F(ClientTest, UrlCredentialsBecomeBasicAuth) {
  Client client;
  Request rq;
  rq.url = "http://user:s3cret@127.0.0.1:" + std::to_string(server_->port()) + "/auth";
  Response r = call(client, rq);
  EXPECT_EQ(r.status, 200);
  json seen = server_->requests("/auth");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["headers"]["authorization"], "Basic dXNlcjpzM2NyZXQ=");
}

TEST_F(ClientTest, SequentialRequestsReuseTheConnection) {
  Client client;
  ASSERT_EQ(call(client, req("GET", "/a")).status, 200);
  ASSERT_EQ(call(client, req("GET", "/b")).status, 200);
  json seen = server_->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0]["client_port"], seen[1]["client_port"]);
}

// The worker reuses the easy handles of finished requests: nothing of one request (method,
// body, headers, credentials, time-out) may leak into the next.
TEST_F(ClientTest, ReusedTransfersCarryNothingOfThePreviousRequest) {
  server_->script("/slow", json::array({{{"delay_ms", 1500}}}));
  Client client;
  std::string with_credentials = server_->url("/first");
  with_credentials.insert(with_credentials.find("//") + 2, "user:s3cret@");
  Request first = req("PUT", "/first", "payload");
  first.url = with_credentials;
  first.headers = {{"X-Only-First", "1"}, {"Content-Type", "text/plain"}};
  first.timeout_s = 0.5;
  ASSERT_EQ(call(client, first).status, 200);
  for (int i = 0; i < 3; ++i) {
    Response r = call(client, req("GET", "/next"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.error, "");
  }
  // The first request's 0.5 s time-out is gone too: the configured 10 s applies.
  Response slow = call(client, req("GET", "/slow"));
  EXPECT_EQ(slow.error, "");
  EXPECT_EQ(slow.status, 200);

  json seen = server_->requests();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0]["method"], "PUT");
  EXPECT_EQ(seen[0]["headers"]["x-only-first"], "1");
  EXPECT_EQ(seen[0]["headers"]["authorization"], "Basic dXNlcjpzM2NyZXQ=");
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(seen[i]["method"], "GET") << i;
    EXPECT_EQ(seen[i]["body"], "") << i;
    EXPECT_FALSE(seen[i]["headers"].contains("x-only-first")) << i;
    EXPECT_FALSE(seen[i]["headers"].contains("authorization")) << i;
    EXPECT_FALSE(seen[i]["headers"].contains("content-type")) << i;
    EXPECT_EQ(seen[i]["headers"]["user-agent"], "swmld/0.1") << i;
  }
}

TEST_F(ClientTest, RedirectsAreFollowedUpToTheLimit) {
  server_->script("/old", json::array({{{"status", 302}, {"headers", {{"Location", "/new"}}}}}));
  server_->script("/new", json::array({{{"body", "moved"}}}));
  server_->script("/loop", json::array({{{"status", 302}, {"headers", {{"Location", "/loop"}}}}}));
  Client client;
  Response r = call(client, req("GET", "/old"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "moved");
  r = call(client, req("GET", "/loop"));
  EXPECT_THAT(r.error, HasSubstr("edirect"));
  EXPECT_EQ(server_->requests("/loop").size(), 4u);  // the first + max_redirects (3)
}

TEST_F(ClientTest, OnlyHttpAndHttpsAreAllowed) {
  Client client;
  Request rq;
  rq.url = "file:///etc/passwd";
  Response r = call(client, rq);
  EXPECT_NE(r.error, "");
  EXPECT_EQ(r.body, "");
  rq.url = "gopher://127.0.0.1:" + std::to_string(server_->port()) + "/";
  EXPECT_NE(call(client, rq).error, "");
}

TEST_F(ClientTest, BrokenAnswersAreErrors) {
  server_->script("/close", json::array({{{"action", "close"}}}));
  server_->script("/garbage", json::array({{{"action", "garbage"}}}));
  Client client;
  EXPECT_NE(call(client, req("GET", "/close")).error, "");
  EXPECT_NE(call(client, req("GET", "/garbage")).error, "");
}

TEST_F(ClientTest, HeaderInjectionIsRefused) {
  Client client;
  Request rq = req("GET", "/x");
  rq.headers = {{"X-Evil", "a\r\nHost: other"}};
  EXPECT_THAT(call(client, rq).error, HasSubstr("invalid header"));
  rq.headers = {{"Bad Name", "v"}};
  EXPECT_THAT(call(client, rq).error, HasSubstr("invalid header"));
  EXPECT_EQ(server_->requests().size(), 0u);
}

TEST_F(ClientTest, BlockPrivateRefusesLoopbackUnlessItsNetworkIsAllowed) {
  ClientConfig cfg;
  cfg.block_private = true;
  {
    Client client(cfg);
    Response r = call(client, req("GET", "/x"));
    EXPECT_THAT(r.error, HasSubstr("private address 127.0.0.1"));
  }
  cfg.allowed_hosts = {"127.0.0.0/8"};
  Client client(cfg);
  EXPECT_EQ(call(client, req("GET", "/x")).status, 200);
  EXPECT_EQ(server_->requests("/x").size(), 1u);
}

TEST_F(ClientTest, AllowedHostsApplyToRedirectTargets) {
  ClientConfig cfg;
  cfg.allowed_hosts = {"localhost"};
  Client client(cfg);
  std::string local = "http://localhost:" + std::to_string(server_->port());
  server_->script(
      "/hop", json::array({{{"status", 302}, {"headers", {{"Location", server_->url("/x")}}}}}));
  Request rq;
  rq.url = local + "/y";
  EXPECT_EQ(call(client, rq).status, 200);  // host name allowed
  rq.url = local + "/hop";                  // redirects to 127.0.0.1, not allowed
  Response r = call(client, rq);
  EXPECT_THAT(r.error, HasSubstr("not in allowed_hosts"));
  EXPECT_EQ(server_->requests("/x").size(), 0u);
}

TEST_F(ClientTest, ShutdownCompletesPendingRequestsAndRefusesNewOnes) {
  server_->script("/slow", json::array({{{"delay_ms", 2000}}}));
  Client client;
  std::atomic<int> shut{0};
  client.send(req("GET", "/slow"), [&](Response r) {
    if (r.error == "client shut down") ++shut;
  });
  ASSERT_TRUE(server_->wait_for(1, "/slow", 3000));
  auto t0 = std::chrono::steady_clock::now();
  client.shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(shut.load(), 1);
  std::string error;
  client.send(req("GET", "/x"), [&](Response r) { error = r.error; });
  EXPECT_EQ(error, "client shut down");  // inline
}

TEST_F(ClientTest, DestroyingTheClientFromItsOwnCallbackIsSafe) {
  auto client = std::make_unique<Client>();
  std::promise<void> done;
  auto fut = done.get_future();
  Client* raw = client.get();
  raw->send(req("GET", "/x"), [&](Response) {
    client.reset();  // shutdown on the worker: no join, the worker frees its state itself
    done.set_value();
  });
  EXPECT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_F(ClientTest, ThrowingCallbackDoesNotStopTheWorker) {
  Client client;
  client.send(req("GET", "/x"), [](Response) { throw std::runtime_error("boom"); });
  EXPECT_EQ(call(client, req("GET", "/y")).status, 200);
}

#ifndef SWMLD_TEST_SLOWDOWN
#define SWMLD_TEST_SLOWDOWN 1
#endif

// The worker is woken only when it sleeps (an eventfd next to libcurl's sockets). A lost
// wake-up would leave a request waiting for the worker's longest sleep (1 s): requests sent
// by several threads, some while the worker is busy and some after it has gone to sleep,
// must each be answered well before that.
TEST_F(ClientTest, RequestsFromManyThreadsNeverWaitForAWorkerThatMissedItsWakeUp) {
  Client client;
  constexpr int kThreads = 4, kPerThread = 40;
  std::atomic<int> ok{0};
  std::atomic<long> worst_ms{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Alternate bursts (the worker awake) with pauses (the worker asleep).
        if (i % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5 + (i + t) % 20));
        auto sent = std::chrono::steady_clock::now();
        client.send(req("POST", "/wake", std::to_string(t * 1000 + i)), [&, sent](Response r) {
          long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - sent)
                        .count();
          long prev = worst_ms.load();
          while (ms > prev && !worst_ms.compare_exchange_weak(prev, ms)) {
          }
          if (r.status == 200) ++ok;
        });
      }
    });
  }
  for (auto& th : senders) th.join();
  EXPECT_TRUE(wait_until([&] { return ok.load() == kThreads * kPerThread; }, 20)) << ok.load();
  EXPECT_LT(worst_ms.load(), 500L * SWMLD_TEST_SLOWDOWN) << "a request waited for the worker";
  EXPECT_EQ(server_->requests("/wake").size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(ClientTest, ManyConcurrentRequestsAllComplete) {
  Client client;
  std::atomic<int> ok{0};
  for (int i = 0; i < 200; ++i) {
    client.send(req("POST", "/many", std::to_string(i)), [&](Response r) {
      if (r.status == 200) ++ok;
    });
  }
  EXPECT_TRUE(wait_until([&] { return ok.load() == 200; }, 20)) << ok.load();
  EXPECT_EQ(client.stats().in_flight, 0u);
}

}  // namespace
}  // namespace swmld::http
