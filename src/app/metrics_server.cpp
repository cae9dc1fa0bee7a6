// A minimal HTTP/1.1 server for /metrics, /healthz and /readyz: one coroutine per connection, a read
// timeout, a bounded request size, and nothing else (it is not a general web server).
#include "metrics_server.hpp"

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace swmld::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Server final : public MetricsServer, public std::enable_shared_from_this<Server> {
 public:
  Server(asio::io_context& io, std::function<std::string()> render,
         const std::atomic<bool>& draining, const std::atomic<bool>& ready)
      : io_(io), acceptor_(io), render_(std::move(render)), draining_(draining), ready_(ready) {}

  Status listen(const std::string& where) {
    auto colon = where.rfind(':');
    if (colon == std::string::npos) return make_error(ErrorCode::element_invalid_value,
                                                      "metrics.listen '" + where + "': expected host:port");
    std::string host = where.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    int port = std::atoi(where.c_str() + colon + 1);
    if (ec || port < 0 || port > 65535)
      return make_error(ErrorCode::element_invalid_value,
                        "metrics.listen '" + where + "': expected an IP address and a port");
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(64, ec);
    if (ec)
      return make_error(ErrorCode::element_invalid_value,
                        "metrics.listen '" + where + "': " + ec.message());
    asio::co_spawn(io_, [self = shared_from_this()] { return self->accept(); }, asio::detached);
    return Ok{};
  }

  void stop() override {
    asio::post(io_, [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
  }

  unsigned short port() const override { return acceptor_.local_endpoint().port(); }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(
          asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(16 * 1024);
    for (;;) {
      stream.expires_after(std::chrono::seconds(5));
      http::request_parser<http::empty_body> parser;
      parser.header_limit(8 * 1024);
      boost::system::error_code ec;
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      const auto& req = parser.get();
      http::response<http::string_body> res;
      res.version(req.version());
      res.set(http::field::server, "swmld");
      std::string target(req.target());
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.body() = "GET only\n";
      } else if (target == "/metrics") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4");
        res.body() = render_();
      } else if (target == "/healthz") {
        bool draining = draining_.load();
        res.result(draining ? http::status::service_unavailable : http::status::ok);
        res.set(http::field::content_type, "text/plain");
        res.body() = draining ? "draining\n" : "ok\n";
      } else if (target == "/readyz") {
        // Draining first: a server that stops is not ready, whatever it was before.
        bool draining = draining_.load();
        bool ready = !draining && ready_.load();
        res.result(ready ? http::status::ok : http::status::service_unavailable);
        res.set(http::field::content_type, "text/plain");
        res.body() = draining ? "draining\n" : ready ? "ready\n" : "starting\n";
      } else {
        res.result(http::status::not_found);
        res.body() = "not found\n";
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !req.keep_alive()) co_return;
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::function<std::string()> render_;
  const std::atomic<bool>& draining_;
  const std::atomic<bool>& ready_;
};

}  // namespace

Result<std::shared_ptr<MetricsServer>> MetricsServer::start(boost::asio::io_context& io,
                                                            const std::string& listen,
                                                            std::function<std::string()> render,
                                                            const std::atomic<bool>& draining,
                                                            const std::atomic<bool>& ready) {
  auto s = std::make_shared<Server>(io, std::move(render), draining, ready);
  auto st = s->listen(listen);
  if (!st) return st.error();
  return std::shared_ptr<MetricsServer>(std::move(s));
}

}  // namespace swmld::app
