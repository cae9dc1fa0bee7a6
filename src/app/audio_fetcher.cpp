// make_audio_fetcher: GET, one retry on connection errors, the media module's size limit.
#include "audio_fetcher.hpp"

#include "document_fetcher.hpp"

namespace swmld::app {

media::Fetcher make_audio_fetcher(http::Client& client) {
  return [&client](const std::string& url, std::size_t max_bytes,
                   std::function<void(media::FetchResult)> done) {
    http::Request request;
    request.method = "GET";
    request.url = url;
    request.max_response_bytes = max_bytes;
    request.retry.max_retries = 1;  // connect errors only: nothing was sent
    client.send(std::move(request), [done = std::move(done)](http::Response r) {
      media::FetchResult f;
      f.status = r.status;
      f.error = std::move(r.error);
      f.body = std::move(r.body);
      f.max_age_s = r.header("cache-control") ? cache_seconds(r.headers) : -1;
      done(std::move(f));
    });
  };
}

}  // namespace swmld::app
