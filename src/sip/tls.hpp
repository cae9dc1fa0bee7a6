// TLS material for Sofia's tls transport. Sofia 1.12.11 (Debian) takes only a directory
// (TPTAG_CERTIFICATE / NUTAG_CERTIFICATE_DIR) holding agent.pem (key + certificate) and
// cafile.pem, and does not fail on a bad certificate or key: TlsDirectory checks the
// configured files first, then assembles that directory privately (0700, files 0600).
#pragma once

#include <memory>
#include <string>

#include "swmld/core/error.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::sip {

// A private temporary directory (mkdtemp under $TMPDIR or /tmp) with agent.pem and
// cafile.pem, removed by remove() or the destructor. Sofia reads the files when it binds;
// the stack removes the directory right after, so the key copy lives on disk only during
// start-up. Any thread.
class TlsDirectory {
 public:
  static Result<std::unique_ptr<TlsDirectory>> create(const TlsConfig& tls);
  TlsDirectory(const TlsDirectory&) = delete;
  TlsDirectory& operator=(const TlsDirectory&) = delete;
  ~TlsDirectory() { remove(); }

  const std::string& path() const { return path_; }
  void remove();  // idempotent

 private:
  explicit TlsDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace swmld::sip
