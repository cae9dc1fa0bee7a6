// The engine's HttpClient port over http::Client: field-by-field translation.
#include "engine_http.hpp"

namespace swmld::app {
namespace {

// `request` through the HTTP worker.
class EngineHttp final : public engine::HttpClient {
 public:
  explicit EngineHttp(http::Client& client) : client_(client) {}
  std::shared_ptr<engine::HttpHandle> send(engine::HttpRequest r,
                                           std::function<void(engine::HttpResponse)> done) override {
    http::Request req;
    req.method = r.method;
    req.url = r.url;
    req.headers = std::move(r.headers);
    req.body = std::move(r.body);
    req.timeout_s = r.timeout_s;
    req.connect_timeout_s = r.connect_timeout_s;
    auto handle = client_.send(std::move(req), [done = std::move(done)](http::Response resp) {
      engine::HttpResponse out;
      out.status = resp.status;
      out.headers = std::move(resp.headers);
      out.body = std::move(resp.body);
      out.error = std::move(resp.error);
      out.timed_out = resp.timed_out;
      done(std::move(out));
    });
    return std::make_shared<Handle>(std::move(handle));
  }

 private:
  struct Handle final : engine::HttpHandle {
    explicit Handle(std::shared_ptr<http::Handle> h) : h_(std::move(h)) {}
    void cancel() override {
      if (h_) h_->cancel();
    }
    std::shared_ptr<http::Handle> h_;
  };
  http::Client& client_;
};

}  // namespace

std::shared_ptr<engine::HttpClient> make_engine_http(http::Client& client) {
  return std::make_shared<EngineHttp>(client);
}

}  // namespace swmld::app
