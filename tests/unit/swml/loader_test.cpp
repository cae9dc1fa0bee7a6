// Loader behaviour: document structure, short forms, nested blocks, every error code with
// its exact line:column, YAML/JSON equivalence and hostile inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "swmld/swml/loader.hpp"

namespace swmld::swml {
namespace {

struct Loaded {
  Result<DocumentPtr> result;
  std::vector<Error> errors;
};

Loaded load(std::string_view text, int max_nesting = 16) {
  LoadOptions options;
  options.source_name = "t.yaml";
  options.max_nesting = max_nesting;
  std::vector<Error> errors;
  auto r = load_document(text, options, &errors);
  return Loaded{std::move(r), std::move(errors)};
}

DocumentPtr ok(std::string_view text) {
  auto l = load(text);
  std::string all;
  for (const auto& e : l.errors) all += e.str() + "\n";
  EXPECT_TRUE(l.result.ok()) << all;
  EXPECT_TRUE(l.errors.empty()) << all;
  return l.result.ok() ? *l.result : nullptr;
}

// The first error of a document that must fail, as "line:col code".
std::string first_error(std::string_view text) {
  auto l = load(text);
  EXPECT_FALSE(l.result.ok());
  if (l.result.ok()) return "loaded";
  const Error& e = l.result.error();
  EXPECT_FALSE(l.errors.empty());
  if (!l.errors.empty()) {
    EXPECT_EQ(l.errors.front().str(), e.str());
  }
  return std::to_string(e.pos.line) + ":" + std::to_string(e.pos.column) + " " +
         std::string(to_string(e.code));
}

std::string first_message(std::string_view text) {
  auto l = load(text);
  return l.result.ok() ? "loaded" : l.result.error().message;
}

const Step& main_step(const DocumentPtr& doc, std::size_t i) {
  return doc->section("main")->steps.at(i);
}

std::string wrap_main(std::string_view steps) {
  return "version: 1.0.0\nsections:\n  main:\n" + std::string(steps);
}

// ---- structure -------------------------------------------------------------------------

TEST(Loader, LoadsCanonicalDocumentWithSectionsInOrder) {
  auto doc = ok(R"(version: 1.0.0
sections:
  main:
    - answer: {}
    - execute: {dest: menu}
  menu:
    - return: 1
)");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->version, "1.0.0");
  EXPECT_EQ(doc->source, "t.yaml");
  ASSERT_EQ(doc->sections.size(), 2u);
  EXPECT_EQ(doc->sections[0].first, "main");
  EXPECT_EQ(doc->sections[1].first, "menu");
  const Step& s = main_step(doc, 1);
  EXPECT_EQ(s.method, "execute");
  EXPECT_EQ(s.args, Value::parse(R"({"dest":"menu"})"));
  EXPECT_EQ(s.pos.str(), "t.yaml:5:7");
}

TEST(Loader, VersionIsOptional) {
  auto doc = ok("sections: {main: [hangup]}");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->version, "");
}

TEST(Loader, BareTopLevelListIsMain) {
  auto doc = ok("- answer\n- hangup\n");
  ASSERT_TRUE(doc);
  ASSERT_EQ(doc->sections.size(), 1u);
  EXPECT_EQ(doc->sections[0].first, "main");
  EXPECT_EQ(main_step(doc, 1).method, "hangup");
}

TEST(Loader, JsonAndYamlGiveTheSameDocument) {
  auto y = ok(R"(version: 1.0.0
sections:
  main:
    - play: {url: "say:Hi", volume: 2.5}
    - set: {a: 1, b: [true, null], c: "x"}
)");
  auto j = ok(R"({"version": "1.0.0", "sections": {"main": [
      {"play": {"url": "say:Hi", "volume": 2.5}},
      {"set": {"a": 1, "b": [true, null], "c": "x"}}]}})");
  ASSERT_TRUE(y && j);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(main_step(y, i).method, main_step(j, i).method);
    EXPECT_EQ(main_step(y, i).args, main_step(j, i).args);
  }
}

TEST(Loader, SetKeepsKeyOrder) {
  auto doc = ok(wrap_main("    - set: {zeta: 1, alpha: 2, mid: '${zeta + alpha}'}\n"));
  ASSERT_TRUE(doc);
  EXPECT_EQ(main_step(doc, 0).args.dump(), R"({"zeta":1,"alpha":2,"mid":"${zeta + alpha}"})");
}

TEST(Loader, ResolvesPlainScalarsByYaml12CoreSchema) {
  auto doc = ok(wrap_main(
      "    - set: {a: ~, b: yes, c: 0x1F, d: 0o17, e: 1e3, f: .inf, g: '12', h: 012, i: -7, "
      "j: 1.0.0, k: True, l: !!str 5}\n"));
  ASSERT_TRUE(doc);
  const Value& v = main_step(doc, 0).args;
  EXPECT_TRUE(v["a"].is_null());
  EXPECT_EQ(v["b"], "yes");  // YAML 1.1 booleans are strings in 1.2
  EXPECT_EQ(v["c"], 31);
  EXPECT_EQ(v["d"], 15);
  EXPECT_EQ(v["e"], 1000.0);
  EXPECT_TRUE(v["f"].is_number_float());
  EXPECT_EQ(v["g"], "12");
  EXPECT_EQ(v["h"], 12);
  EXPECT_EQ(v["i"], -7);
  EXPECT_EQ(v["j"], "1.0.0");
  EXPECT_EQ(v["k"], true);
  EXPECT_EQ(v["l"], "5");
}

// ---- short forms -----------------------------------------------------------------------

TEST(Loader, BareStringStepsHaveEmptyArgs) {
  auto doc = ok(wrap_main(
      "    - answer\n    - record\n    - stop_record_call\n    - denoise\n    - stop_denoise\n"
      "    - receive_fax\n    - stop_tap\n    - hangup\n"));
  ASSERT_TRUE(doc);
  for (const auto& s : doc->section("main")->steps) EXPECT_EQ(s.args, Value::object()) << s.method;
}

TEST(Loader, EmptyMethodValueMeansNoArgs) {
  auto doc = ok(wrap_main("    - answer:\n    - hangup: ~\n"));
  ASSERT_TRUE(doc);
  EXPECT_EQ(main_step(doc, 0).args, Value::object());
}

TEST(Loader, ReturnAcceptsAnyValueOrNone) {
  auto doc = ok(wrap_main("    - return\n    - return: 1\n    - return: {}\n    - return: [a, {b: 2}]\n"));
  ASSERT_TRUE(doc);
  EXPECT_TRUE(main_step(doc, 0).args.is_null());
  EXPECT_EQ(main_step(doc, 1).args, 1);
  EXPECT_EQ(main_step(doc, 2).args, Value::object());
  EXPECT_EQ(main_step(doc, 3).args, Value::parse(R"(["a",{"b":2}])"));
}

TEST(Loader, StringAndListShortFormsBecomeFullForm) {
  auto doc = ok(R"(sections:
  main:
    - play: "say:Hi"
    - play: ["say:a", "silence:1"]
    - prompt: "say:Press 1"
    - connect: "sip:alice@example.com"
    - execute: sub
    - sleep: 500
    - sleep: "${delay}"
    - unset: x
    - transfer: "https://example.com/next"
  sub:
    - return
)");
  ASSERT_TRUE(doc);
  EXPECT_EQ(main_step(doc, 0).args, Value::parse(R"({"url":"say:Hi"})"));
  EXPECT_EQ(main_step(doc, 1).args, Value::parse(R"({"urls":["say:a","silence:1"]})"));
  EXPECT_EQ(main_step(doc, 2).args, Value::parse(R"({"play":"say:Press 1"})"));
  EXPECT_EQ(main_step(doc, 3).args, Value::parse(R"({"to":"sip:alice@example.com"})"));
  EXPECT_EQ(main_step(doc, 4).args, Value::parse(R"({"dest":"sub"})"));
  EXPECT_EQ(main_step(doc, 5).args, Value::parse(R"({"duration":500})"));
  EXPECT_EQ(main_step(doc, 6).args, Value::parse(R"({"duration":"${delay}"})"));
  EXPECT_EQ(main_step(doc, 7).args, Value::parse(R"(["x"])"));
  EXPECT_EQ(main_step(doc, 8).args, Value::parse(R"({"dest":"https://example.com/next"})"));
}

TEST(Loader, LabelAttachedToAnotherMethodLabelsThatStep) {
  auto doc = ok(wrap_main(
      "    - answer\n    - label: menu\n      prompt: {play: 'say:Press 1'}\n"
      "    - goto: {label: menu, max: 2}\n"));
  ASSERT_TRUE(doc);
  const Block* b = doc->section("main");
  EXPECT_EQ(b->steps[1].method, "prompt");
  EXPECT_EQ(b->steps[1].label, "menu");
  EXPECT_EQ(b->find_label("menu"), 1u);
}

TEST(Loader, LabelStepsFillBlockLabels) {
  auto doc = ok(wrap_main("    - label: a\n    - answer\n    - label: b\n    - goto: {label: a}\n"));
  ASSERT_TRUE(doc);
  const Block* b = doc->section("main");
  EXPECT_EQ(b->steps[0].method, "label");
  EXPECT_EQ(b->steps[0].label, "a");
  EXPECT_EQ(b->steps[0].args, "a");
  EXPECT_EQ(b->find_label("a"), 0u);
  EXPECT_EQ(b->find_label("b"), 2u);
}

TEST(Loader, IfBecomesACondSelector) {
  auto doc = ok(wrap_main(R"(    - if:
        condition: "x == 1"
        then: [hangup]
        else: [answer]
)"));
  ASSERT_TRUE(doc);
  const Step& s = main_step(doc, 0);
  EXPECT_EQ(s.method, "cond");
  ASSERT_TRUE(s.selector);
  EXPECT_EQ(s.selector->kind, Selector::Kind::cond);
  ASSERT_EQ(s.selector->branches.size(), 2u);
  EXPECT_EQ(s.selector->branches[0].match, "x == 1");
  EXPECT_EQ(s.selector->branches[0].body->steps[0].method, "hangup");
  EXPECT_TRUE(s.selector->branches[1].is_default);
  EXPECT_EQ(s.args, Value::parse(R"([{"when":"x == 1","then":[{"hangup":{}}]},{"else":[{"answer":{}}]}])"));
}

TEST(Loader, PositionalCondBecomesACondSelector) {
  auto doc = ok(wrap_main(R"(    - cond:
        - ["a == 1", [hangup]]
        - ["a == 2", [{play: "say:two"}]]
        - [answer]
)"));
  ASSERT_TRUE(doc);
  const auto& sel = main_step(doc, 0).selector;
  ASSERT_TRUE(sel);
  ASSERT_EQ(sel->branches.size(), 3u);
  EXPECT_EQ(sel->branches[1].match, "a == 2");
  EXPECT_EQ(sel->branches[1].body->steps[0].args, Value::parse(R"({"url":"say:two"})"));
  EXPECT_TRUE(sel->branches[2].is_default);
  EXPECT_EQ(sel->branches[2].body->steps[0].method, "answer");
}

// ---- nested blocks ---------------------------------------------------------------------

TEST(Loader, CondBranchesKeepOrderAndDefaultLast) {
  auto doc = ok(wrap_main(R"(    - cond:
        - when: "a"
          then: [answer]
        - when: "b"
          then:
            - label: inner
            - goto: {label: inner, max: 1}
        - else: [hangup]
)"));
  ASSERT_TRUE(doc);
  const auto& sel = *main_step(doc, 0).selector;
  ASSERT_EQ(sel.branches.size(), 3u);
  EXPECT_EQ(sel.branches[0].match, "a");
  EXPECT_EQ(sel.branches[0].pos.str(), "t.yaml:5:11");
  EXPECT_EQ(sel.branches[1].body->find_label("inner"), 0u);
  EXPECT_TRUE(sel.branches[2].is_default);
}

TEST(Loader, SwitchBuildsCaseBranchesAndDefault) {
  auto doc = ok(wrap_main(R"(    - switch:
        variable: prompt_value
        case:
          1: [hangup]
          "two": [answer]
        default: [{return: x}]
)"));
  ASSERT_TRUE(doc);
  const Step& s = main_step(doc, 0);
  ASSERT_TRUE(s.selector);
  EXPECT_EQ(s.selector->kind, Selector::Kind::switch_);
  EXPECT_EQ(s.selector->variable, "prompt_value");
  ASSERT_EQ(s.selector->branches.size(), 3u);
  EXPECT_EQ(s.selector->branches[0].match, "1");
  EXPECT_EQ(s.selector->branches[1].match, "two");
  EXPECT_TRUE(s.selector->branches[2].is_default);
  EXPECT_EQ(s.args["case"]["1"], Value::parse(R"([{"hangup":{}}])"));
}

TEST(Loader, ExecuteOnReturnAndResult) {
  auto doc = ok(R"(sections:
  main:
    - execute:
        dest: sub
        on_return: [{play: "say:back"}]
        result:
          case:
            ok: [hangup]
  sub:
    - return: ok
)");
  ASSERT_TRUE(doc);
  const Step& s = main_step(doc, 0);
  ASSERT_TRUE(s.on_return);
  EXPECT_EQ(s.on_return->steps[0].method, "play");
  ASSERT_TRUE(s.selector);
  EXPECT_EQ(s.selector->kind, Selector::Kind::switch_);
  EXPECT_EQ(s.selector->variable, "return_value");
  EXPECT_EQ(s.selector->branches[0].match, "ok");
}

TEST(Loader, ExecuteResultAsCondList) {
  auto doc = ok(R"(sections:
  main:
    - execute:
        dest: sub
        result:
          - when: "return_value == 1"
            then: [hangup]
  sub:
    - return: 1
)");
  ASSERT_TRUE(doc);
  EXPECT_EQ(main_step(doc, 0).selector->kind, Selector::Kind::cond);
}

TEST(Loader, GotoMayTargetALabelOfAnEnclosingList) {
  ok(wrap_main(R"(    - label: top
    - cond:
        - when: "x"
          then:
            - goto: {label: top}
)"));
}

TEST(Loader, ConnectConfirmStepsAreNormalisedInArgs) {
  auto doc = ok(wrap_main(R"(    - connect:
        to: "+15551230000"
        confirm:
          - play: "say:Press 1"
          - hangup
)"));
  ASSERT_TRUE(doc);
  EXPECT_EQ(main_step(doc, 0).args["confirm"],
            Value::parse(R"([{"play":{"url":"say:Press 1"}},{"hangup":{}}])"));
}

TEST(Loader, NestingAtTheLimitLoads) {
  std::string text = wrap_main("");
  std::string indent = "    ";
  for (int i = 0; i < 3; ++i) {
    text += indent + "- cond:\n" + indent + "    - when: \"true\"\n" + indent + "      then:\n";
    indent += "        ";
  }
  text += indent + "- hangup\n";
  EXPECT_TRUE(load(text, 3).result.ok());
  EXPECT_EQ(load(text, 2).result.error().code, ErrorCode::nested_too_deep);
}

// ---- error codes with positions --------------------------------------------------------

TEST(LoaderErrors, ParseErrorHasPosition) {
  EXPECT_EQ(first_error("sections:\n  main: [answer\n"), "3:1 relay_script_parse_error");
  EXPECT_EQ(first_error("{\"sections\": {\"main\": [}}"), "1:24 relay_script_parse_error");
}

// yaml-cpp 0.7 lets a quoted string that is never closed run to the end of the text when the
// text ends with a line break; the rest of the document would silently become that string.
TEST(LoaderErrors, UnterminatedDoubleQuotedStringPointsAtItsOpeningQuote) {
  auto text = wrap_main("    - play: \"say:hello\n    - hangup\n");
  EXPECT_EQ(first_error(text), "4:13 relay_script_parse_error");
  EXPECT_EQ(first_message(text),
            "syntax error: this double-quoted string is never closed (no \" before the end of "
            "the document)");
  // An escaped quote does not close it.
  EXPECT_EQ(first_error(wrap_main("    - play: \"say:hello\\\"\n")),
            "4:13 relay_script_parse_error");
  // A key, and a string followed by blank lines only.
  EXPECT_EQ(first_error(wrap_main("    - play: {\"url: say:x}\n")),
            "4:14 relay_script_parse_error");
  EXPECT_EQ(first_error(wrap_main("    - hangup\n    - play: \"say:x\n\n\n")),
            "5:13 relay_script_parse_error");
  // yaml-cpp's own errors for it (at the end of the text, or a "mapping key" for JSON) give
  // way to the quote's position.
  EXPECT_EQ(first_error(wrap_main("    - play: \"say:hello")), "4:13 relay_script_parse_error");
  EXPECT_EQ(first_error("{\"sections\": {\"main\": [{\"play\": \"say:hi}]}}\n"),
            "1:33 relay_script_parse_error");
  // After a byte order mark and a multi-byte character (positions are not byte offsets).
  EXPECT_EQ(first_error("\xEF\xBB\xBF" +
                        wrap_main("    - play: \"say:h\xC3\xA9llo\"\n    - play: \"say:x\n")),
            "5:13 relay_script_parse_error");
}

TEST(LoaderErrors, UnterminatedSingleQuotedStringPointsAtItsOpeningQuote) {
  EXPECT_EQ(first_error(wrap_main("    - play: 'say:it''s\n    - hangup\n")),
            "4:13 relay_script_parse_error");
}

TEST(Loader, ClosedQuotedStringsOverSeveralLinesLoad) {
  auto doc = ok(wrap_main("    - play: \"say:hello\n      world \\\"quoted\\\" \\\\\"\n"
                          "    - play: 'say:it''s\n\n      fine'\n"
                          "    - play: \"say:a \\\n      b\"\n"));
  ASSERT_TRUE(doc);
  EXPECT_EQ(main_step(doc, 0).args["url"], "say:hello world \"quoted\" \\");
  EXPECT_EQ(main_step(doc, 1).args["url"], "say:it's\nfine");
  EXPECT_EQ(main_step(doc, 2).args["url"], "say:a b");
}

// Found by fuzz_loader: after `"",` yaml-cpp 0.7 hands out empty documents forever, and the
// search for an unclosed quote read them all (a fetched document hung its thread).
TEST(LoaderErrors, TextAfterAQuotedScalarEndsWithoutHanging) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(first_error("\"\","), "1:3 relay_script_parse_error");
  EXPECT_EQ(first_error("\"\",\n"), "1:3 relay_script_parse_error");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(LoaderErrors, EmptyDocument) {
  EXPECT_EQ(first_error(""), "1:1 relay_script_parse_error");
  EXPECT_EQ(first_error("# only a comment\n"), "1:1 relay_script_parse_error");
  EXPECT_EQ(first_message(""), "the document is empty");
}

TEST(LoaderErrors, VersionInvalid) {
  EXPECT_EQ(first_error("version: 2.0.0\nsections: {main: [answer]}\n"),
            "1:10 relay_script_version_invalid");
  EXPECT_EQ(first_error("version: 1\nsections: {main: [answer]}\n"),
            "1:10 relay_script_version_invalid");
}

TEST(LoaderErrors, SectionsMissing) {
  EXPECT_EQ(first_error("version: 1.0.0\n"), "1:1 relay_script_sections_missing");
}

TEST(LoaderErrors, MainSectionMissing) {
  EXPECT_EQ(first_error("sections:\n  other: [answer]\n"), "1:1 relay_script_main_section_missing");
}

TEST(LoaderErrors, SectionCodeMissing) {
  EXPECT_EQ(first_error("sections:\n  main: []\n"), "2:3 relay_script_section_code_missing");
  EXPECT_EQ(first_error("sections:\n  main:\n"), "2:3 relay_script_section_code_missing");
}

TEST(LoaderErrors, SectionNotAList) {
  EXPECT_EQ(first_error("sections:\n  main: {answer: {}}\n"), "2:9 relay_script_element_wrong_type");
}

TEST(LoaderErrors, ElementUndefined) {
  EXPECT_EQ(first_error("sections: {main: [answer]}\nextra: 1\n"),
            "2:1 relay_script_element_undefined");
}

TEST(LoaderErrors, SectionParameterUndefined) {
  auto text = wrap_main("    - execute: {dest: nowhere}\n");
  EXPECT_EQ(first_error(text), "4:23 relay_script_section_parameter_undefined");
  EXPECT_EQ(first_message(text).rfind("execute: no section 'nowhere' in this document", 0), 0u);
  // URLs, inline JSON, relay: and expressions are not section names.
  ok(wrap_main("    - execute: {dest: 'https://x.example/a'}\n    - execute: {dest: '{\"sections\":{}}'}\n"
               "    - transfer: {dest: 'relay:app'}\n    - transfer: {dest: '${next}'}\n"));
}

TEST(LoaderErrors, WrongTypes) {
  EXPECT_EQ(first_error(wrap_main("    - play: {url: 'say:a', volume: loud}\n")),
            "4:36 relay_script_element_wrong_type");
  EXPECT_EQ(first_error(wrap_main("    - answer: [1]\n")), "4:15 relay_script_element_wrong_type");
  EXPECT_EQ(first_error(wrap_main("    - [answer]\n")), "4:7 relay_script_element_wrong_type");
  EXPECT_EQ(first_error(wrap_main("    - sleep: 1.5\n")), "4:14 relay_script_element_wrong_type");
  EXPECT_EQ(first_error(wrap_main("    - unset: {a: 1}\n")), "4:14 relay_script_element_wrong_type");
  EXPECT_EQ(first_message(wrap_main("    - send_digits: {digits: 12}\n")),
            "send_digits: property 'digits' must be a string, not an integer (quote it to keep it as text)");
}

TEST(LoaderErrors, ExpressionsAreAcceptedForTypedProperties) {
  ok(wrap_main("    - play: {url: '${u}', volume: '${v}', auto_answer: '%{a}'}\n"
               "    - goto: {label: '${l}', max: '${m}'}\n    - hangup: {reason: '${r}'}\n"));
}

TEST(LoaderErrors, DuplicateKeyPointsAtTheSecondKey) {
  EXPECT_EQ(first_error(wrap_main("    - play:\n        url: 'say:a'\n        url: 'say:b'\n")),
            "6:9 relay_script_element_duplicated");
  EXPECT_EQ(first_error("sections: {main: [answer]}\nsections: {main: [hangup]}\n"),
            "2:1 relay_script_element_duplicated");
}

TEST(LoaderErrors, DuplicateLabelInOneList) {
  EXPECT_EQ(first_error(wrap_main("    - label: a\n    - label: a\n")),
            "5:7 relay_script_element_duplicated");
}

TEST(LoaderErrors, MethodMissingName) {
  EXPECT_EQ(first_error(wrap_main("    - {}\n")), "4:7 relay_script_method_missing_name");
  EXPECT_EQ(first_error(wrap_main("    -\n    - answer\n")), "5:5 relay_script_method_missing_name");
}

TEST(LoaderErrors, MethodUndefinedSuggestsTheClosestName) {
  auto text = wrap_main("    - plya: 'say:x'\n");
  EXPECT_EQ(first_error(text), "4:7 relay_script_method_undefined");
  EXPECT_EQ(first_message(text), "unknown method 'plya' (did you mean 'play'?)");
  EXPECT_EQ(first_message(wrap_main("    - zzzzzz\n")), "unknown method 'zzzzzz'");
}

// `say` is not a method; the closest name, `pay`, would send a caller to take payments.
TEST(LoaderErrors, SayAsAMethodPointsToPlaySay) {
  auto text = wrap_main("    - say: {text: Hello from SignalWire}\n");
  EXPECT_EQ(first_error(text), "4:7 relay_script_method_undefined");
  EXPECT_EQ(first_message(text),
            "unknown method 'say'; to speak text use play: \"say:Hello from SignalWire\"");
  EXPECT_EQ(first_message(wrap_main("    - say: Hi\n")),
            "unknown method 'say'; to speak text use play: \"say:Hi\"");
  EXPECT_EQ(first_message(wrap_main("    - say\n")),
            "unknown method 'say'; to speak text use play: \"say:<text>\"");
  EXPECT_EQ(first_message(wrap_main("    - say: {voice: x}\n")),
            "unknown method 'say'; to speak text use play: \"say:<text>\"");
}

// SignalWire's first page shows a messaging document (`reply`); swmld runs calling ones.
TEST(LoaderErrors, MessagingMethodsSayTheyAreMessaging) {
  auto text = wrap_main("    - reply: \"Thanks for your message!\"\n");
  EXPECT_EQ(first_error(text), "4:7 relay_script_method_undefined");
  EXPECT_EQ(first_message(text),
            "unknown method 'reply'; it is a method of messaging SWML (documents run for "
            "inbound SMS/MMS), which swmld does not run");
  EXPECT_NE(first_message(wrap_main("    - receive: {}\n")).find("messaging SWML"),
            std::string::npos);
}

TEST(LoaderErrors, TwoMethodsInOneStep) {
  EXPECT_EQ(first_error(wrap_main("    - answer: {}\n      hangup: {}\n")),
            "5:7 relay_script_element_invalid_value");
}

TEST(LoaderErrors, ParameterMissing) {
  auto text = wrap_main("    - sip_refer: {}\n");
  EXPECT_EQ(first_error(text), "4:7 relay_script_method_parameter_missing");
  EXPECT_EQ(first_message(text), "sip_refer: missing required property 'to_uri'");
  EXPECT_EQ(first_error(wrap_main("    - transfer: {params: {}}\n")),
            "4:7 relay_script_method_parameter_missing");
  EXPECT_EQ(first_error(wrap_main("    - play: {}\n")), "4:7 relay_script_method_parameter_missing");
  EXPECT_EQ(first_error(wrap_main("    - connect: {timeout: 5}\n")),
            "4:7 relay_script_method_parameter_missing");
  EXPECT_EQ(first_error(wrap_main("    - send_sms: {to_number: '1', from_number: '2'}\n")),
            "4:7 relay_script_method_parameter_missing");
}

TEST(LoaderErrors, ParameterUndefined) {
  auto text = wrap_main("    - answer: {max_duraton: 1}\n");
  EXPECT_EQ(first_error(text), "4:16 relay_script_method_parameter_undefined");
  EXPECT_EQ(first_message(text), "answer: unknown property 'max_duraton' (did you mean 'max_duration'?)");
  EXPECT_EQ(first_message(wrap_main("    - denoise: {x: 1}\n")),
            "denoise: unknown property 'x' (it takes no properties)");
}

TEST(LoaderErrors, ParameterConflict) {
  EXPECT_EQ(first_error(wrap_main("    - play: {url: 'say:a', urls: ['say:b']}\n")),
            "4:28 relay_script_method_parameter_conflict");
  EXPECT_EQ(first_error(wrap_main("    - connect: {to: '1', parallel: [{to: '2'}]}\n")),
            "4:26 relay_script_method_parameter_conflict");
}

TEST(LoaderErrors, InvalidValues) {
  EXPECT_EQ(first_error(wrap_main("    - request: {url: 'http://x', method: get}\n")),
            "4:42 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_error(wrap_main("    - play: {url: 'say:a', volume: 41}\n")),
            "4:36 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_error(wrap_main("    - goto: {label: x, max: 0}\n    - label: x\n")),
            "4:29 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_error(wrap_main("    - play: 'tts:hello'\n")),
            "4:13 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_error(wrap_main("    - switch: {variable: 'a b', case: {}}\n")),
            "4:26 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_error(wrap_main("    - send_digits: '12x'\n")),
            "4:20 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_error(wrap_main("    - record: {format: ogg}\n")),
            "4:24 relay_script_method_parameter_invalid_value");
}

TEST(LoaderErrors, PlayableSounds) {
  ok(wrap_main("    - play: {urls: ['say:hi', 'say: hi', 'silence: 2.5', 'ring:us', 'ring:us-old', "
               "'ring:10.0:uk', 'ring: 3: de', 'https://a/b.wav', 'http://u:p@h/x.mp3', 'say:${x}', "
               "'file:prompts/x.wav', 'file:///srv/x.wav']}\n"));
  for (const char* bad : {"silence:abc", "ring:usa", "ring:5", "file:", "hello"})
    EXPECT_EQ(load(wrap_main(std::string("    - play: '") + bad + "'\n")).result.error().code,
              ErrorCode::method_parameter_invalid_value)
        << bad;
}

TEST(LoaderErrors, GotoToAMissingLabel) {
  auto text = wrap_main("    - goto: {label: nowhere}\n");
  EXPECT_EQ(first_error(text), "4:21 relay_script_method_parameter_invalid_value");
  EXPECT_EQ(first_message(text), "goto: no label 'nowhere' in section 'main'");
  // A label in another section does not count.
  EXPECT_EQ(load("sections:\n  main: [{goto: {label: x}}]\n  other: [{label: x}]\n").result.error().code,
            ErrorCode::method_parameter_invalid_value);
}

TEST(LoaderErrors, CondElseMustBeLast) {
  EXPECT_EQ(first_error(wrap_main("    - cond:\n        - else: [hangup]\n        - when: a\n          then: [answer]\n")),
            "6:11 relay_script_method_parameter_invalid_value");
}

TEST(LoaderErrors, ConfirmRejectsMethodsNotAllowedThere) {
  EXPECT_EQ(first_error(wrap_main("    - connect: {to: '1', confirm: [{execute: {dest: main}}]}\n")),
            "4:37 relay_script_method_parameter_invalid_value");
}

TEST(LoaderErrors, ConnectDestinationsAreValidated) {
  auto text = wrap_main("    - connect: {serial: [{to: '1'}, {timeout: 5}]}\n");
  EXPECT_EQ(first_error(text), "4:37 relay_script_method_parameter_missing");
  EXPECT_EQ(first_message(text), "connect.serial[1]: missing required property 'to'");
}

TEST(LoaderErrors, NestedTooDeep) {
  std::string text = wrap_main("");
  std::string indent = "    ";
  for (int i = 0; i < 17; ++i) {
    text += indent + "- cond:\n" + indent + "    - when: \"true\"\n" + indent + "      then:\n";
    indent += "        ";
  }
  text += indent + "- hangup\n";
  auto l = load(text);
  ASSERT_FALSE(l.result.ok());
  EXPECT_EQ(l.result.error().code, ErrorCode::nested_too_deep);
  EXPECT_EQ(l.errors.size(), 1u);
}

TEST(LoaderErrors, CollectsEveryErrorInDocumentOrder) {
  auto l = load(R"(sections:
  main:
    - goto: {label: missing}
    - plya
    - answer: {bogus: 1}
    - execute: {dest: nowhere}
)");
  ASSERT_EQ(l.errors.size(), 4u);
  EXPECT_EQ(l.errors[0].str(), "t.yaml:3:21: relay_script_method_parameter_invalid_value: goto: no label 'missing' in section 'main'");
  EXPECT_EQ(l.errors[1].code, ErrorCode::method_undefined);
  EXPECT_EQ(l.errors[2].code, ErrorCode::method_parameter_undefined);
  EXPECT_EQ(l.errors[3].code, ErrorCode::section_parameter_undefined);
  EXPECT_EQ(l.result.error().str(), l.errors[0].str());
}

TEST(LoaderErrors, WorksWithoutAnErrorList) {
  LoadOptions options;
  auto r = load_document("sections: {main: [plya]}", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::method_undefined);
}

// ---- hostile input ---------------------------------------------------------------------

template <typename F>
double seconds(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(LoaderLimits, AliasBombFailsFast) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  text += "sections: {main: [{set: {v: *a9}}]}\n";
  double t = seconds([&] { EXPECT_EQ(load(text).result.error().code, ErrorCode::parse_error); });
  EXPECT_LT(t, 5.0);
}

TEST(LoaderLimits, RecursiveAliasIsAnError) {
  EXPECT_EQ(first_error("a: &x [1, *x]\n"), "1:11 relay_script_parse_error");
}

TEST(LoaderLimits, DeepNestingIsAnErrorNotACrash) {
  for (std::string open : {"[", "{a: ", "- "}) {
    std::string text;
    for (int i = 0; i < 100000; ++i) text += open;
    EXPECT_FALSE(load(text).result.ok()) << open;
  }
  std::string block;
  for (int i = 0; i < 500; ++i) block += std::string(i, ' ') + "- \n";
  EXPECT_EQ(load(block).result.error().code, ErrorCode::parse_error);
}

TEST(LoaderLimits, TooBigIsAnError) {
  LoadOptions options;
  options.max_bytes = 100;
  auto r = load_document(std::string(101, ' '), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::parse_error);
}

TEST(LoaderLimits, InvalidUtf8IsAnError) {
  EXPECT_EQ(first_error("sections: {main: [{play: \"say:\xff\"}]}"), "1:31 relay_script_parse_error");
}

TEST(LoaderLimits, SecondYamlDocumentIsAnError) {
  EXPECT_EQ(first_error("sections: {main: [answer]}\n---\nx: 1\n"), "2:1 relay_script_parse_error");
}

TEST(LoaderLimits, ManyStepsLoadInReasonableTime) {
  std::string text = "sections:\n  main:\n";
  for (int i = 0; i < 20000; ++i) text += "    - set: {k" + std::to_string(i) + ": 1}\n";
  double t = seconds([&] { EXPECT_TRUE(load(text).result.ok()); });
  EXPECT_LT(t, 10.0);
}

TEST(LoaderLimits, MessagesStayOnOneLine) {
  auto l = load("sections: {main: [{\"pl\\nya\": 1}]}");
  ASSERT_FALSE(l.result.ok());
  EXPECT_EQ(l.result.error().message.find('\n'), std::string::npos);
}

TEST(LoaderLimits, GotoInsideARejectedStepIsStillChecked) {
  // Found by fuzzing: the cond is rejected, its branch blocks dropped, the goto kept.
  auto l = load(wrap_main(R"(    - cond:
        - when: "a"
          then:
            - label: here
            - goto: {label: here}
        - 5
)"));
  ASSERT_FALSE(l.result.ok());
  EXPECT_EQ(l.result.error().code, ErrorCode::element_wrong_type);
}

TEST(LoadFile, MissingFileIsAParseErrorNamingThePath) {
  std::vector<Error> errors;
  auto r = load_file("/nonexistent/x.yaml", &errors);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::parse_error);
  EXPECT_EQ(r.error().pos.file, "/nonexistent/x.yaml");
  EXPECT_EQ(errors.size(), 1u);
}

}  // namespace
}  // namespace swmld::swml
