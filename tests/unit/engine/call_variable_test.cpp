// The `call` variable is built when the call first reads it, once, and shows the call's
// current state; a document that never reads it never has it built (the SIP thread's saving).
#include "harness.hpp"

namespace swmld::engine {
namespace {

TEST(CallVariable, ADocumentThatNeverReadsItNeverBuildsIt) {
  Harness h;
  int built = 0;
  h.make_call = [&] {
    ++built;
    return Value{{"call_id", "c-1"}, {"from", "sip:alice@example.com"}};
  };
  h.start("version: 1.0.0\nsections:\n  main:\n    - answer\n    - set: {a: plain}\n    - hangup\n");
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->end_reason, "hangup");
  EXPECT_EQ(h.outcome->vars.value("a", ""), "plain");
  EXPECT_EQ(built, 0);
}

TEST(CallVariable, BuiltOnceOnFirstReadWithTheCurrentState) {
  Harness h;
  int built = 0;
  h.make_call = [&] {
    ++built;
    return Value{{"call_id", "c-1"}, {"call_state", "created"}, {"from", "sip:alice@example.com"}};
  };
  h.start(
      "version: 1.0.0\nsections:\n  main:\n"
      "    - set: {before: '${call.call_state}'}\n"
      "    - answer\n"
      "    - set: {after: '${call.call_state}', from: '${call.from}', id: '${call.call_id}'}\n");
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars.value("before", ""), "created");
  EXPECT_EQ(h.outcome->vars.value("after", ""), "answered");
  EXPECT_EQ(h.outcome->vars.value("from", ""), "sip:alice@example.com");
  EXPECT_EQ(h.outcome->vars.value("id", ""), "c-1");
  EXPECT_EQ(built, 1);
}

TEST(CallVariable, WithoutAFactoryItHoldsTheCallIdAndState) {
  Harness h;
  h.start("version: 1.0.0\nsections:\n  main:\n    - answer\n"
          "    - set: {id: '${call.call_id}', state: '${call.call_state}'}\n");
  h.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(h.outcome);
  EXPECT_EQ(h.outcome->vars.value("id", ""), "c-1");
  EXPECT_EQ(h.outcome->vars.value("state", ""), "answered");
}

}  // namespace
}  // namespace swmld::engine
