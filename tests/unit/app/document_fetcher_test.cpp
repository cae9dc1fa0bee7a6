// A fetched body is judged by what it holds, not by its Content-Type: SignalWire's own server
// examples (Express `res.send`, Flask returning a string) answer text/html.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "document_fetcher.hpp"

namespace swmld::app {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Result<swml::DocumentPtr> fetched(const std::string& content_type, const std::string& body) {
  Headers h;
  if (!content_type.empty()) h.emplace_back("Content-Type", content_type);
  return parse_fetched_document("https://u:pw@h/swml", 200, h, body, "");
}

constexpr const char* kYamlDoc = "version: 1.0.0\nsections:\n  main:\n    - answer\n";
constexpr const char* kJsonDoc = R"({"sections": {"main": [{"hangup": {}}]}})";

TEST(DocumentFetchBody, SwmlSentAsHtmlOrPlainTextOrWithoutAContentTypeLoads) {
  for (const char* type : {"text/html; charset=utf-8", "text/html", "text/plain", ""}) {
    EXPECT_TRUE(fetched(type, kYamlDoc).ok()) << type;
    EXPECT_TRUE(fetched(type, kJsonDoc).ok()) << type;
  }
  // The short form (a bare list of steps) as with a SWML Content-Type.
  EXPECT_TRUE(fetched("text/html", "- answer\n- hangup\n").ok());
}

TEST(DocumentFetchBody, InvalidSwmlSentAsHtmlReportsTheLoaderError) {
  auto r = fetched("text/html", R"({"sections": {"main": [{"plya": {}}]}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::method_undefined);
  EXPECT_EQ(r.error().pos.file, "https://u:***@h/swml");
}

TEST(DocumentFetchBody, AnHtmlPageIsNotASwmlDocumentNamingTypeAndFirstBytes) {
  auto r = fetched("text/html; charset=utf-8",
                   "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\x01\xff"
                   "<body>nginx</body></html>");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::parse_error);
  EXPECT_EQ(r.error().message,
            "fetching https://u:***@h/swml: the body is not a SWML document (Content-Type "
            "'text/html', body starts '<!DOCTYPE html>\\n<html><head><title>502 Bad "
            "Gateway</title></head>\\x01\\xFF<body>nginx</...')");
}

TEST(DocumentFetchBody, JsonThatIsNotSwmlIsNotASwmlDocument) {
  auto r = fetched("text/plain", R"({"error": "not found"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "fetching https://u:***@h/swml: the body is not a SWML document (Content-Type "
            "'text/plain', body starts '{\"error\": \"not found\"}')");
  auto empty = fetched("", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message,
            "fetching https://u:***@h/swml: the body is not a SWML document (no Content-Type, "
            "empty body)");
}

TEST(DocumentFetchBody, SwmlContentTypesKeepTheLoaderErrors) {
  auto r = fetched("application/json", R"({"error": "not found"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::sections_missing);
}

}  // namespace
}  // namespace swmld::app
