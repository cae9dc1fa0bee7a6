// mask_credentials / strip_credentials: passwords never reach logs or signatures.
#include <gtest/gtest.h>

#include "swmld/http/client.hpp"

namespace swmld::http {
namespace {

TEST(Url, MaskHidesThePasswordOnly) {
  EXPECT_EQ(mask_credentials("https://user:pa55@host.example/path?q=1"),
            "https://user:***@host.example/path?q=1");
  EXPECT_EQ(mask_credentials("http://user:@h:8080/"), "http://user:***@h:8080/");
  EXPECT_EQ(mask_credentials("http://u:p@ss@h/x"), "http://u:***@h/x");  // lenient: last '@'
}

TEST(Url, MaskLeavesUrlsWithoutPasswordAlone) {
  EXPECT_EQ(mask_credentials("https://host/a@b"), "https://host/a@b");  // '@' in the path
  EXPECT_EQ(mask_credentials("https://user@host/"), "https://user@host/");
  EXPECT_EQ(mask_credentials("https://host:443"), "https://host:443");
  EXPECT_EQ(mask_credentials("https://host?x=a:b@c"), "https://host?x=a:b@c");
  EXPECT_EQ(mask_credentials(""), "");
}

TEST(Url, StripRemovesTheWholeUserinfo) {
  EXPECT_EQ(strip_credentials("https://user:pa55@host.example/path"), "https://host.example/path");
  EXPECT_EQ(strip_credentials("https://user@host/"), "https://host/");
  EXPECT_EQ(strip_credentials("https://host/a@b"), "https://host/a@b");
}

}  // namespace
}  // namespace swmld::http
