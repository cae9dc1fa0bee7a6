// Recording uploads (see recording_upload.hpp).
#include "recording_upload.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "swmld/core/url.hpp"
#include "swmld/http/signing.hpp"

namespace swmld::app {

engine::RecordingUploader make_recording_uploader(http::Client& client, UploadSettings s) {
  return [&client, s](const std::string& url, const std::string& path,
                      const std::string& content_type, std::function<void(std::string)> done) {
    // Runs on the recorder's thread (a worker): reading the file here blocks nothing else.
    std::ifstream in(path, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      spdlog::error("record: upload of {} not started: the file cannot be read", path);
      return done("the recording cannot be read for its upload");
    }
    http::Request req;
    req.method = s.method;
    req.url = url;
    req.headers.emplace_back("Content-Type", content_type);
    if (!s.bearer_token.empty())
      req.headers.emplace_back("Authorization", "Bearer " + s.bearer_token);
    http::SigningConfig signing{s.signing_secret, s.signature_header};
    if (!signing.secret.empty()) http::add_signature_headers(req.headers, signing, url, body);
    req.body = std::move(body);
    req.timeout_s = s.timeout_s;
    req.retry.max_retries = s.retries;
    req.retry.backoff_initial_s = s.backoff_initial_s;
    req.retry.backoff_max_s = s.backoff_max_s;
    req.retry.on_5xx = true;
    req.retry.on_connect_error = true;
    req.retry.on_transport_error = true;  // PUT/POST of the same file again does no harm
    const std::string shown = mask_credentials(url);
    if (s.in_flight) s.in_flight->fetch_add(1);
    client.send(std::move(req), [path, shown, keep = s.keep_local, in_flight = s.in_flight,
                                 done = std::move(done)](http::Response r) {
      struct Count {  // done() has returned: the upload is over
        std::shared_ptr<std::atomic<int>> n;
        ~Count() {
          if (n) n->fetch_sub(1);
        }
      } count{in_flight};
      if (r.ok()) {
        std::error_code ec;
        if (!keep) std::filesystem::remove(path, ec);
        spdlog::info("record: uploaded {} to {} (HTTP {}, {} attempt(s)){}", path, shown, r.status,
                     r.attempts, keep ? "" : "; local file removed");
        return done("");
      }
      std::string why = !r.error.empty() ? r.error : "HTTP " + std::to_string(r.status);
      spdlog::error("record: upload of {} to {} failed after {} attempt(s): {}; the file is kept",
                    path, shown, r.attempts, why);
      done("upload failed: " + why);
    });
  };
}

}  // namespace swmld::app
