// What `request` keeps of a response: variables, limits, save_variables (store_response).
#include <gtest/gtest.h>

#include "engine/methods/response_vars.hpp"

namespace swmld::engine::methods {
namespace {

HttpResponse response(int status, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ResponseVars, SavesAJsonBody) {
  Value vars = Value::object();
  auto warning = store_response(vars, response(200, R"({"a": {"b": [1, 2]}})", {{" X-Id ", "7"}}),
                                ResponseLimits{}, true);
  EXPECT_EQ(warning, "");
  EXPECT_EQ(vars["request_result"], "success");
  EXPECT_EQ(vars["return_value"], "success");
  EXPECT_EQ(vars["request_response_code"], 200);
  EXPECT_EQ(vars["request_response_headers"], Value::parse(R"({"x-id": "7"})"));
  EXPECT_EQ(vars["request_response_body"], R"({"a": {"b": [1, 2]}})");
  EXPECT_EQ(vars["request_response"]["a"]["b"][1], 2);
}

TEST(ResponseVars, KeepsTheBodyButNoVariablesWithoutSaveOrJson) {
  Value vars = Value::object();
  store_response(vars, response(200, R"({"a": 1})"), ResponseLimits{}, false);
  EXPECT_FALSE(vars.contains("request_response"));
  store_response(vars, response(404, "not json"), ResponseLimits{}, true);
  EXPECT_EQ(vars["request_result"], "failed");
  EXPECT_EQ(vars["request_response_body"], "not json");
  EXPECT_FALSE(vars.contains("request_response"));
}

TEST(ResponseVars, NoResponseSetsOnlyTheResult) {
  Value vars = Value::object();
  store_response(vars, response(0, ""), ResponseLimits{}, true);
  EXPECT_EQ(vars, Value::parse(R"({"request_result": "failed", "return_value": "failed"})"));
}

TEST(ResponseVars, LimitsBodyHeadersAndNesting) {
  Value vars = Value::object();
  ResponseLimits limits{8, 2};
  store_response(vars, response(200, "1234567890", {{"A", "1"}, {"B", "2"}, {"C", "3"}}), limits, true);
  EXPECT_EQ(vars["request_response_body"], "12345678");
  EXPECT_EQ(vars["request_response_headers"].size(), 2u);

  std::string deep = std::string(65, '[') + std::string(65, ']');
  Value v2 = Value::object();
  auto warning = store_response(v2, response(200, deep), ResponseLimits{}, true);
  EXPECT_EQ(warning, "response nested deeper than 64 levels: not saved");
  EXPECT_FALSE(v2.contains("request_response"));
  std::string shallow = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(store_response(v2, response(200, shallow), ResponseLimits{}, true), "");
  EXPECT_TRUE(v2.contains("request_response"));
}

}  // namespace
}  // namespace swmld::engine::methods
