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

TEST(DocumentedProperties, ConnectToAStreamTakesTheStreamSettings) {
  // connect/index.mdx documents the stream settings on a single `to` as well as per
  // destination (specs ConnectDeviceSingle); corpus swdocs__068.
  EXPECT_EQ(errors_of("    - connect:\n"
                      "        to: stream:wss://example.com/audio\n"
                      "        codec: PCMU\n"
                      "        realtime: true\n"
                      "        name: my-stream\n"
                      "        status_url: https://example.com/stream-status\n"
                      "        status_url_method: GET\n"
                      "        authorization_bearer_token: secret\n"
                      "        custom_parameters: {session: abc}\n"),
            Lines{});
  EXPECT_EQ(errors_of("    - connect: {to: 'stream:wss://x', realtime: yes, "
                      "status_url_method: PUT}\n"),
            (Lines{"4:49 relay_script_element_wrong_type: connect: property 'realtime' must be a "
                   "boolean, not a string",
                   "4:73 relay_script_method_parameter_invalid_value: connect: property "
                   "'status_url_method' must be one of GET, POST (got 'PUT')"}));
}

TEST(DocumentedProperties, JoinConferenceTakesAStreamWhosePropertiesAreChecked) {
  // join_conference.mdx "join_conference.stream" (specs JoinConferenceStream); swdocs__084.
  EXPECT_EQ(errors_of("    - join_conference:\n"
                      "        name: team_meeting\n"
                      "        stream:\n"
                      "          url: wss://example.com/conference-audio\n"
                      "          name: conf\n"
                      "          codec: PCMU\n"
                      "          realtime: true\n"
                      "          status_url: https://example.com/stream-status\n"
                      "          status_url_method: POST\n"
                      "          authorization_bearer_token: t\n"
                      "          custom_parameters: {id: 1}\n"),
            Lines{});
  EXPECT_EQ(errors_of("    - join_conference:\n"
                      "        name: team_meeting\n"
                      "        stream: {codec: PCMU, realtme: true}\n"),
            (Lines{"6:9 relay_script_method_parameter_missing: join_conference.stream: missing "
                   "required property 'url'",
                   "6:31 relay_script_method_parameter_undefined: join_conference.stream: unknown "
                   "property 'realtme' (did you mean 'realtime'?)"}));
  EXPECT_EQ(errors_of("    - join_conference: {name: a, stream: wss://x}\n"),
            Lines{"4:42 relay_script_element_wrong_type: join_conference: property 'stream' must "
                  "be a mapping, not a string"});
}

TEST(DocumentedProperties, JoinConferenceCallbackEventsAreSpaceSeparatedLists) {
  // join_conference.mdx: "A space-separated list of one or more events".
  EXPECT_EQ(errors_of("    - join_conference:\n"
                      "        name: a\n"
                      "        status_callback_event: start end join leave\n"
                      "        status_callback_event_type: relay\n"
                      "        recording_status_callback_event: in-progress completed\n"
                      "        recording_status_callback_event_type: cxml\n"),
            Lines{});
  EXPECT_EQ(errors_of("    - join_conference: {name: a, status_callback_event: 'start ended'}\n"),
            Lines{"4:57 relay_script_method_parameter_invalid_value: join_conference: property "
                  "'status_callback_event' must list events among start, end, join, leave, mute, "
                  "hold, modify, speaker, announcement, separated by spaces (got 'ended')"});
  EXPECT_EQ(errors_of("    - join_conference: {name: a, status_callback_event_type: xml}\n"),
            Lines{"4:62 relay_script_method_parameter_invalid_value: join_conference: property "
                  "'status_callback_event_type' must be one of cxml, laml, relay (got 'xml')"});
}

TEST(DocumentedProperties, AiTakesMultilingual) {
  // ai/index.mdx "ai.multilingual" (specs AIObject.multilingual).
  EXPECT_EQ(errors_of("    - ai: {prompt: {text: hi}, multilingual: {enabled: true}}\n"), Lines{});
}

}  // namespace
}  // namespace swmld::swml
