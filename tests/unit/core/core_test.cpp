// Core utilities: error text, ids, structured log records, metrics rendering.
#include <algorithm>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "swmld/core/error.hpp"
#include "swmld/core/ids.hpp"
#include "swmld/core/log.hpp"
#include "swmld/core/metrics.hpp"

namespace swmld {
namespace {

TEST(Error, StrNamesPositionCodeAndMessage) {
  Error e{ErrorCode::method_undefined, "unknown method 'plya'", {"doc.yaml", 5, 7}};
  EXPECT_EQ(e.str(), "doc.yaml:5:7: relay_script_method_undefined: unknown method 'plya'");
  Error no_pos{ErrorCode::too_many_transfers, "too many", {}};
  EXPECT_EQ(no_pos.str(), "relay_script_too_many_transfers: too many");
  EXPECT_EQ((SourcePos{"", 3, 0}).str(), "3");
}

TEST(Ids, UuidsAreVersion4AndDistinct) {
  static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_uuid();
    ASSERT_TRUE(std::regex_match(id, re)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

std::string capture(log::Format format, const Value& fields) {
  std::ostringstream out;
  log::setup(format, spdlog::level::info, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  log::event(spdlog::level::info, "refer_result", "call=c1 route=r", fields);
  spdlog::default_logger()->flush();
  return out.str();
}

TEST(Log, EventInTextIsKeyValues) {
  std::string line = capture(log::Format::text,
                             {{"to_uri", "sip:a@b"}, {"sipfrags", {100, 200}}, {"reason", "two words"}});
  EXPECT_NE(line.find("refer_result call=c1 route=r to_uri=sip:a@b sipfrags=[100,200] reason=\"two words\""),
            std::string::npos)
      << line;
}

// What a SIP peer puts in a Call-ID or a URI reaches the log: text lines stay printable
// UTF-8 on one line (issue #12: "text lines printable"), JSON lines valid JSON.
TEST(Log, TextLinesArePrintableUtf8OnOneLine) {
  std::ostringstream out;
  log::setup(log::Format::text, spdlog::level::info,
             std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::info("call x\xc3\x28\x1b[2J@h from \xff\xfe caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e "
               "\xed\xa0\x80 line\r\nfake 2026-01-01 error\ttab\x7f");
  spdlog::default_logger()->flush();
  const std::string line = out.str();
  EXPECT_NE(line.find("call x\\xc3(\\x1b[2J@h from \\xff\\xfe caf\xc3\xa9 \xe2\x82\xac "
                      "\xf0\x9f\x93\x9e \\xed\\xa0\\x80 line\\x0d\\x0afake 2026-01-01 "
                      "error\ttab\\x7f\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
}

TEST(Log, JsonLinesStayValidJsonWithInvalidUtf8) {
  std::ostringstream out;
  log::setup(log::Format::json, spdlog::level::info,
             std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::info("call x\xc3\x28\x1b[2J@h\nnext");
  spdlog::default_logger()->flush();
  Value v = Value::parse(out.str());
  EXPECT_NE(v["msg"].get<std::string>().find("\x1b[2J"), std::string::npos);
}

TEST(Log, EventInJsonIsOneObjectWithContextFields) {
  std::string line = capture(log::Format::json, {{"to_uri", "sip:a@b"}, {"refer_code", 202}});
  Value v = Value::parse(line);
  EXPECT_EQ(v["event"], "refer_result");
  EXPECT_EQ(v["call"], "c1");
  EXPECT_EQ(v["route"], "r");
  EXPECT_EQ(v["refer_code"], 202);
  EXPECT_EQ(v["level"], "info");
  EXPECT_TRUE(v["ts"].is_number());
}

TEST(Metrics, RendersPrometheusText) {
  Metrics m;
  m.describe("swmld_calls_total", "counter", "Calls.");
  m.inc("swmld_calls_total");
  m.inc("swmld_calls_total");
  m.inc("swmld_steps_total", "method=\"play\",outcome=\"ok\"", 3);
  EXPECT_EQ(m.render(),
            "# HELP swmld_calls_total Calls.\n# TYPE swmld_calls_total counter\nswmld_calls_total 2\n"
            "# TYPE swmld_steps_total counter\nswmld_steps_total{method=\"play\",outcome=\"ok\"} 3\n");
}

}  // namespace
}  // namespace swmld
