// TLS files: checked with OpenSSL (libcrypto) before Sofia sees them, then assembled into
// the directory layout Sofia 1.12.11 reads (agent.pem, cafile.pem).
#include "tls.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace swmld::sip {
namespace {

Error tls_error(const std::string& key, const std::string& path, const std::string& why) {
  return make_error(ErrorCode::element_invalid_value, key + " '" + path + "': " + why);
}

// The file's bytes, or why it cannot be read.
Result<std::string> read_file(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tls_error(key, path, std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return tls_error(key, path, "cannot read");
  return text.str();
}

// OpenSSL's memory BIO over `text`; freed by the caller.
BIO* memory_bio(const std::string& text) {
  return BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
}

// A passphrase callback that refuses: an encrypted key is an error, never a prompt on the tty.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

}  // namespace

Status check_tls_files(const TlsConfig& tls) {
  const std::string cert_key = "sip.tls.cert_file";
  const std::string key_key = "sip.tls.key_file";
  if (tls.cert_file.empty())
    return make_error(ErrorCode::element_invalid_value,
                      "sip.tls.cert_file: is required for a tls: listen address");
  auto cert_pem = read_file(cert_key, tls.cert_file);
  if (!cert_pem) return cert_pem.error();
  const std::string& key_path = tls.key_file.empty() ? tls.cert_file : tls.key_file;
  const std::string& key_name = tls.key_file.empty() ? cert_key : key_key;
  auto key_pem = read_file(key_name, key_path);
  if (!key_pem) return key_pem.error();

  BIO* bio = memory_bio(*cert_pem);
  X509* cert = PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr);
  BIO_free(bio);
  if (!cert) {
    ERR_clear_error();
    return tls_error(cert_key, tls.cert_file, "no PEM certificate in it");
  }
  bio = memory_bio(*key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
  BIO_free(bio);
  if (!key) {
    ERR_clear_error();
    X509_free(cert);
    return tls_error(key_name, key_path,
                     "no PEM private key in it (encrypted keys are not supported)");
  }
  bool match = X509_check_private_key(cert, key) == 1;
  bool expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
  EVP_PKEY_free(key);
  X509_free(cert);
  ERR_clear_error();
  if (!match)
    return tls_error(key_name, key_path, "does not match the certificate in sip.tls.cert_file");
  if (expired) return tls_error(cert_key, tls.cert_file, "the certificate has expired");

  if (tls.verify_peer && tls.ca_file.empty())
    return make_error(ErrorCode::element_invalid_value,
                      "sip.tls.ca_file: is required with sip.tls.verify_peer (the CAs peers' "
                      "certificates must chain to)");
  if (!tls.ca_file.empty()) {
    auto ca_pem = read_file("sip.tls.ca_file", tls.ca_file);
    if (!ca_pem) return ca_pem.error();
    bio = memory_bio(*ca_pem);
    X509* ca = PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr);
    BIO_free(bio);
    ERR_clear_error();
    if (!ca) return tls_error("sip.tls.ca_file", tls.ca_file, "no PEM certificate in it");
    X509_free(ca);
  }
  return Ok{};
}

Result<std::unique_ptr<TlsDirectory>> TlsDirectory::create(const TlsConfig& tls) {
  if (auto s = check_tls_files(tls); !s) return s.error();
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/swmld-tls-XXXXXX";
  if (!::mkdtemp(pattern.data()))  // mode 0700
    return make_error(ErrorCode::internal_error,
                      "sip.tls: cannot create a private directory for Sofia's TLS files (" +
                          pattern + "): " + std::strerror(errno));
  std::unique_ptr<TlsDirectory> dir(new TlsDirectory(pattern));
  auto write = [&](const char* name, const std::string& text) -> Status {
    std::string path = dir->path_ + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (std::size_t done = 0; ok && done < text.size();) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    int saved = errno;
    if (fd >= 0 && ::close(fd) != 0) ok = false;
    if (!ok)
      return make_error(ErrorCode::internal_error,
                        "sip.tls: cannot write " + path + ": " + std::strerror(saved));
    return Ok{};
  };
  // agent.pem: Sofia loads the first private key and the first certificate from it.
  auto cert = read_file("sip.tls.cert_file", tls.cert_file);
  if (!cert) return cert.error();
  std::string agent = *cert;
  if (!tls.key_file.empty()) {
    auto key = read_file("sip.tls.key_file", tls.key_file);
    if (!key) return key.error();
    agent = *key + "\n" + agent;
  }
  if (auto s = write("agent.pem", agent); !s) return s.error();
  if (!tls.ca_file.empty()) {
    auto ca = read_file("sip.tls.ca_file", tls.ca_file);
    if (!ca) return ca.error();
    if (auto s = write("cafile.pem", *ca); !s) return s.error();
  }
  return dir;
}

void TlsDirectory::remove() {
  if (path_.empty()) return;
  for (const char* name : {"agent.pem", "cafile.pem"}) ::unlink((path_ + "/" + name).c_str());
  ::rmdir(path_.c_str());
  path_.clear();
}

}  // namespace swmld::sip
