// Runs the loader on every tests/golden/check document and compares the errors with the
// .expected file that `swmld check` is held to (valid documents: none; invalid: each line).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "swmld/swml/loader.hpp"

namespace swmld::swml {
namespace {

namespace fs = std::filesystem;

const fs::path kCheckDir = fs::path(SWMLD_SOURCE_DIR) / "tests" / "golden" / "check";

std::vector<fs::path> documents(const std::string& folder) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kCheckDir / folder)) {
    auto ext = e.path().extension();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json" || ext == ".swml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The expected output lines after the "# " header lines.
std::vector<std::string> expected_lines(const fs::path& doc, int& exit_code) {
  fs::path expected = doc;
  expected.replace_extension(".expected");
  std::istringstream in(read(expected));
  std::vector<std::string> lines;
  std::string line;
  bool header = true;
  exit_code = 1;
  while (std::getline(in, line)) {
    if (header && line.rfind("# ", 0) == 0) {
      if (line.rfind("# exit:", 0) == 0) exit_code = std::stoi(line.substr(7));
      continue;
    }
    header = false;
    lines.push_back(line);
  }
  return lines;
}

// The checker runs in the document's folder with the bare file name, so positions read
// `name.yaml:3:7`; the same source name is used here.
std::vector<std::string> actual_lines(const fs::path& doc, bool& ok) {
  LoadOptions options;
  options.source_name = doc.filename().string();
  std::vector<Error> errors;
  ok = load_document(read(doc), options, &errors).ok();
  std::vector<std::string> lines;
  for (const auto& e : errors) lines.push_back(e.str());
  return lines;
}

TEST(GoldenCheck, ValidDocumentsLoadWithoutErrors) {
  auto docs = documents("valid");
  ASSERT_GE(docs.size(), 8u);
  for (const auto& doc : docs) {
    bool ok = false;
    auto lines = actual_lines(doc, ok);
    EXPECT_TRUE(ok) << doc;
    EXPECT_TRUE(lines.empty()) << doc << ": " << (lines.empty() ? "" : lines.front());
    int exit_code = 1;
    EXPECT_TRUE(expected_lines(doc, exit_code).empty()) << doc;
    EXPECT_EQ(exit_code, 0) << doc;
  }
}

TEST(GoldenCheck, InvalidDocumentsReportExactlyTheExpectedErrors) {
  auto docs = documents("invalid");
  ASSERT_GE(docs.size(), 15u);
  for (const auto& doc : docs) {
    bool ok = true;
    auto lines = actual_lines(doc, ok);
    int exit_code = 0;
    auto expected = expected_lines(doc, exit_code);
    EXPECT_FALSE(ok) << doc;
    EXPECT_EQ(exit_code, 1) << doc;
    EXPECT_EQ(lines, expected) << doc;
  }
}

TEST(GoldenCheck, LoadFileUsesThePathInPositions) {
  std::vector<Error> errors;
  auto path = (kCheckDir / "invalid" / "method_undefined.yaml").string();
  auto r = load_file(path, &errors);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().pos.file, path);
  EXPECT_EQ(r.error().pos.line, 4);
}

}  // namespace
}  // namespace swmld::swml
