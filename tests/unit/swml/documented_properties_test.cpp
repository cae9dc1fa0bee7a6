// Properties that SignalWire's current method pages document (fern/products/swml/pages/
// reference/methods/calling/ and specs/swml/calling) load; values and typos next to them are
// still checked.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "swmld/swml/loader.hpp"

namespace swmld::swml {
namespace {

// Every error of `steps` under `main`, as "line:col code: message"; empty when it loads.
std::vector<std::string> errors_of(std::string_view steps) {
  LoadOptions options;
  options.source_name = "t.yaml";
  std::vector<Error> errors;
  (void)load_document("version: 1.0.0\nsections:\n  main:\n" + std::string(steps), options,
                      &errors);
  std::vector<std::string> out;
  for (const auto& e : errors)
    out.push_back(std::to_string(e.pos.line) + ":" + std::to_string(e.pos.column) + " " +
                  std::string(to_string(e.code)) + ": " + e.message);
  return out;
}

using Lines = std::vector<std::string>;

TEST(DocumentedProperties, PayTakesADescription) {
  // pay/index.mdx "pay.description"; corpus swdocs__095.
  EXPECT_EQ(errors_of("    - pay:\n"
                      "        payment_connector_url: https://example.com/process\n"
                      "        description: Polish zloty transaction\n"),
            Lines{});
  EXPECT_EQ(errors_of("    - pay: {payment_connector_url: 'https://x', description: 5}\n"),
            Lines{"4:62 relay_script_element_wrong_type: pay: property 'description' must be a "
                  "string, not an integer (quote it to keep it as text)"});
}

}  // namespace
}  // namespace swmld::swml
