// TLS files are checked before Sofia sees them; every error names the configuration key.
// (Matching and mismatched real keys: tests/e2e/test_tls.py, with openssl-made PKI.)
#include "sip/tls.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace swmld::sip {
namespace {

std::string write(const std::string& name, const std::string& text) {
  std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TlsFiles, AMissingCertificateNamesItsKeyAndPath) {
  TlsConfig tls;
  tls.cert_file = testing::TempDir() + "no-such-cert.pem";
  auto s = check_tls_files(tls);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "sip.tls.cert_file '" + tls.cert_file + "': cannot read: No such file or directory");
  EXPECT_FALSE(TlsDirectory::create(tls));
}

TEST(TlsFiles, AFileWithoutPemIsRefused) {
  TlsConfig tls;
  tls.cert_file = write("not-a-cert.pem", "hello\n");
  auto s = check_tls_files(tls);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "sip.tls.cert_file '" + tls.cert_file + "': no PEM certificate in it");
}

TEST(TlsFiles, NoCertificateConfigured) {
  auto s = check_tls_files(TlsConfig{});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "sip.tls.cert_file: is required for a tls: listen address");
}

}  // namespace
}  // namespace swmld::sip
