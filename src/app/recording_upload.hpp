// Uploads finished recordings (record, record_call) to an HTTP endpoint: PUT or POST of the
// file to the URL the engine expanded from recording.upload.url, with a bearer token and/or
// the X-Signalwire-Signature headers (http.signing_secret), retried with back-off on
// connection errors, time-outs and 5xx. The local file is removed once the upload succeeded
// (unless recording.upload.keep_local) and kept when it failed.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "swmld/engine/executor.hpp"
#include "swmld/http/client.hpp"

namespace swmld::app {

struct UploadSettings {
  std::string method = "PUT";
  std::string bearer_token;      // never logged
  std::string signing_secret;    // http.signing_secret
  std::string signature_header;  // http.signature_header
  int retries = 4;
  double backoff_initial_s = 1;
  double backoff_max_s = 30;
  double timeout_s = 60;  // per attempt
  bool keep_local = false;
  // Counts uploads under way (the server waits for them when it stops); may be null.
  std::shared_ptr<std::atomic<int>> in_flight;
};

// `client` must outlive every upload the returned function starts.
engine::RecordingUploader make_recording_uploader(http::Client& client, UploadSettings settings);

}  // namespace swmld::app
