// The method table covers every calling method of the reference and the schema, with sane data.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "swmld/swml/method_table.hpp"

namespace swmld::swml {
namespace {

TEST(MethodTable, KnowsEveryCallingMethod) {
  for (const char* m :
       {"answer", "hangup", "play", "prompt", "execute", "return", "transfer", "goto", "label",
        "cond", "switch", "set", "unset", "sleep", "request", "send_digits", "record",
        "record_call", "stop_record_call", "connect", "denoise", "stop_denoise", "user_event",
        "tap", "stop_tap", "detect_machine", "sip_refer", "send_sms", "send_fax", "receive_fax",
        "stream", "stop_stream", "transcribe", "transcribe_stop", "live_transcribe",
        "live_translate", "join_room", "join_conference", "enter_queue", "pay", "ai",
        "amazon_bedrock", "ai_sidecar", "if"})
    EXPECT_NE(find_method(m), nullptr) << m;
  EXPECT_EQ(find_method("plya"), nullptr);
  EXPECT_EQ(find_method(""), nullptr);
}

TEST(MethodTable, NamesAndPropertiesAreUnique) {
  std::set<std::string_view> methods;
  for (const auto& m : all_methods()) {
    EXPECT_TRUE(methods.insert(m.name).second) << m.name;
    std::set<std::string_view> props;
    for (const auto& p : m.props) {
      EXPECT_TRUE(props.insert(p.name).second) << m.name << "." << p.name;
      EXPECT_NE(p.types, 0) << m.name << "." << p.name;
      EXPECT_LE(p.min, p.max) << m.name << "." << p.name;
    }
    if (!m.string_prop.empty()) {
      EXPECT_TRUE(props.count(m.string_prop)) << m.name;
    }
    if (!m.array_prop.empty()) {
      EXPECT_TRUE(props.count(m.array_prop)) << m.name;
    }
  }
}

TEST(MethodTable, RangesFromTheReference) {
  auto prop = [](std::string_view method, std::string_view name) -> const PropSpec* {
    for (const auto& p : find_method(method)->props)
      if (p.name == name) return &p;
    return nullptr;
  };
  ASSERT_TRUE(prop("goto", "max"));
  EXPECT_EQ(prop("goto", "max")->min, 1);
  EXPECT_EQ(prop("goto", "max")->max, 100);
  EXPECT_EQ(prop("play", "volume")->min, -40);
  EXPECT_EQ(prop("play", "volume")->max, 40);
  EXPECT_TRUE(prop("sip_refer", "to_uri")->required);
  EXPECT_EQ(prop("request", "method")->enums, "GET,POST,PUT,DELETE");
}

TEST(MethodTable, ConfirmAllowsOnlyLegMethods) {
  EXPECT_TRUE(allowed_in_confirm("play"));
  EXPECT_TRUE(allowed_in_confirm("cond"));
  EXPECT_FALSE(allowed_in_confirm("execute"));
  EXPECT_FALSE(allowed_in_confirm("connect"));
}

}  // namespace
}  // namespace swmld::swml
