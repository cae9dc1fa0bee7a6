// ExpressionEngine: placeholders, plain paths, JavaScript, arrow rewriting and the sandbox.
#include "swmld/swml/expression.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <string>

namespace swmld::swml {
namespace {

using std::chrono::milliseconds;

class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() {
    call_ = Value::parse(R"({"from": "sip:alice@example.com", "to": "+15551234567",
                             "type": "sip", "direction": "inbound", "region": "call-region",
                             "headers": [{"name": "X-Tag", "value": "t1"}]})");
    vars_ = Value::parse(R"({"name": "bob", "count": 3, "price": 9.5, "flag": true,
                             "items": [{"name": "a"}, {"name": "b"}], "nums": [1, 2, 3],
                             "empty": "", "zero": 0, "nothing": null,
                             "request_response_headers": {"content-type": "text/plain"},
                             "region": "vars-region"})");
    params_ = Value::parse(R"({"a": "1", "b": "2"})");
    envs_ = Value::parse(R"({"region": "envs-region", "api": "https://x.test", "type": "env"})");
  }

  Scope scope() const { return Scope{&call_, &vars_, &params_, &envs_}; }

  Value expand(const std::string& s) {
    auto r = engine_.expand(Value(s), scope());
    EXPECT_TRUE(r.ok()) << s << " -> " << (r.ok() ? "" : r.error().str());
    return r.ok() ? *r : Value("<error>");
  }

  Error expand_error(const std::string& s) {
    auto r = engine_.expand(Value(s), scope());
    EXPECT_FALSE(r.ok()) << s << " unexpectedly gave " << (r.ok() ? r->dump() : "");
    return r.ok() ? Error{} : r.error();
  }

  bool cond(std::string_view js) {
    auto r = engine_.condition(js, scope());
    EXPECT_TRUE(r.ok()) << js << " -> " << (r.ok() ? "" : r.error().str());
    return r.ok() && *r;
  }

  Value call_, vars_, params_, envs_;
  ExpressionEngine engine_;
};

// --- placeholders and types ---------------------------------------------------------------

TEST_F(ExpressionTest, StringWithoutPlaceholderIsUnchanged) {
  EXPECT_EQ(expand("hello $ % {x} $x"), "hello $ % {x} $x");
  EXPECT_FALSE(has_placeholder("hello $ % {x}"));
  EXPECT_TRUE(has_placeholder("a ${b}"));
  EXPECT_TRUE(has_placeholder("%{b}"));
}

TEST_F(ExpressionTest, WholePlaceholderKeepsTheJavaScriptType) {
  EXPECT_EQ(expand("${1+1}"), Value(2));
  EXPECT_TRUE(expand("${1+1}").is_number_integer());
  EXPECT_EQ(expand("${price * 2}"), Value(19));
  EXPECT_EQ(expand("${0.1 + 0.2}"), Value(0.30000000000000004));
  EXPECT_EQ(expand("${count > 2}"), Value(true));
  EXPECT_EQ(expand("${nums.map(function(x){return x*2;})}"), Value::parse("[2,4,6]"));
  EXPECT_EQ(expand("${({a: 1, b: [true, null]})}"), Value::parse(R"({"a":1,"b":[true,null]})"));
  EXPECT_EQ(expand("${null}"), Value());
  EXPECT_EQ(expand("${undefined}"), Value());
  EXPECT_EQ(expand("${'text'}"), Value("text"));
}

TEST_F(ExpressionTest, WholePathKeepsTheVariableType) {
  EXPECT_EQ(expand("${count}"), Value(3));
  EXPECT_EQ(expand("${flag}"), Value(true));
  EXPECT_EQ(expand("${vars.items}"), vars_["items"]);
}

TEST_F(ExpressionTest, EmbeddedPlaceholdersAreStringifiedAndConcatenated) {
  EXPECT_EQ(expand("n=${count} p=${price} f=${flag} x=${nothing}."), "n=3 p=9.5 f=true x=.");
  EXPECT_EQ(expand("sum ${1+1} and ${2.5*2}"), "sum 2 and 5");
  // Arrays and objects read as JavaScript's String() writes them (issue #11, point 11):
  // paths and JavaScript results alike.
  EXPECT_EQ(expand("list ${nums} obj ${items[0]}"), "list 1,2,3 obj [object Object]");
  EXPECT_EQ(expand("js ${[1, 2]} ${({k: 'v'})} ${null}|${undefined}"), "js 1,2 [object Object] |");
  EXPECT_EQ(expand("nested ${[1, [2, null], 'x']}"), "nested 1,2,,x");
  EXPECT_EQ(expand("big ${1e21} small ${1/3}"), "big 1e+21 small 0.3333333333333333");
}

TEST_F(ExpressionTest, ArrayOfWordsInTextReadsLikeJavaScript) {
  Value vars = {{"items", Value::array({"drill bit", "drill"})}};
  ExpressionEngine engine;
  Value empty = Value::object();
  Scope sc{&empty, &vars, &empty, &empty};
  EXPECT_EQ(engine.expand("say: ${items}", sc).value(), "say: drill bit,drill");
  EXPECT_EQ(engine.expand("say: ${items.join(' and ')}", sc).value(), "say: drill bit and drill");
  EXPECT_EQ(engine.expand("say: ${items.concat([])}", sc).value(), "say: drill bit,drill");
  // The whole string keeps the array.
  EXPECT_EQ(engine.expand("${items}", sc).value(), vars["items"]);
}

TEST_F(ExpressionTest, FailedPlaceholdersBecomeWarningsWhenAsked) {
  ExpressionEngine engine;
  Value empty = Value::object();
  Scope sc{&empty, &empty, &empty, &empty};
  std::vector<Error> warnings;
  auto v = engine.expand(Value{{"a", "x ${nosuch.toUpperCase()} y"}, {"b", "${nosuch()}"}}, sc,
                         &warnings);
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["a"], "x  y");
  EXPECT_TRUE((*v)["b"].is_null());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].code, ErrorCode::js_eval_error);
  EXPECT_NE(warnings[0].message.find("ReferenceError"), std::string::npos) << warnings[0].message;
  // A malformed placeholder is not a value that failed: the expansion fails.
  warnings.clear();
  EXPECT_FALSE(engine.expand(Value("x ${never closed"), sc, &warnings));
  // Without the list, an evaluation failure fails the expansion, as before.
  EXPECT_FALSE(engine.expand(Value("${nosuch()}"), sc));
}

TEST_F(ExpressionTest, DollarAndPercentFormsAreInterchangeable) {
  EXPECT_EQ(expand("%{name}"), "bob");
  EXPECT_EQ(expand("%{parseInt(params.a) + parseInt(params.b)}"), Value(3));
  EXPECT_EQ(expand("${name}-%{count}"), "bob-3");
}

TEST_F(ExpressionTest, BracesInsideStringsAndObjectsAreMatched) {
  EXPECT_EQ(expand("${ {a: 1}.a }"), Value(1));
  EXPECT_EQ(expand("${'}'}"), "}");
  EXPECT_EQ(expand("<${'{' + name + '}'}>"), "<{bob}>");
  EXPECT_EQ(expand(R"(${"a\"}" + 1})"), "a\"}1");
  EXPECT_EQ(expand("${name.replace(/}/g, '')}"), "bob");
  EXPECT_EQ(expand("${(function(){ return {x: {y: 2}}; })().x.y} end"), "2 end");
}

TEST_F(ExpressionTest, UnterminatedPlaceholderIsAnError) {
  const Error e = expand_error("hello ${name");
  EXPECT_EQ(e.code, ErrorCode::js_eval_error);
  EXPECT_NE(e.message.find("unterminated placeholder"), std::string::npos) << e.message;
  EXPECT_NE(expand_error("${'}").message.find("unterminated"), std::string::npos);
}

TEST_F(ExpressionTest, EmptyPlaceholderIsLikeAMissingPath) {
  EXPECT_EQ(expand("${}"), Value());
  EXPECT_EQ(expand("a${ }b"), "ab");
}

TEST_F(ExpressionTest, ExpandRecursesIntoArraysAndObjectsButNotKeys) {
  auto r = engine_.expand(Value::parse(R"({"${name}": ["${count}", {"x": "v=${name}"}], "n": 1})"),
                          scope());
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, Value::parse(R"({"${name}": [3, {"x": "v=bob"}], "n": 1})"));
}

// --- plain paths ----------------------------------------------------------------------------

TEST_F(ExpressionTest, PlainPathSyntax) {
  EXPECT_TRUE(is_plain_path("call.from"));
  EXPECT_TRUE(is_plain_path("vars.items[0].name"));
  EXPECT_TRUE(is_plain_path("request_response_headers.content-type"));
  EXPECT_TRUE(is_plain_path("items.length"));
  EXPECT_FALSE(is_plain_path("(items.length)"));
  EXPECT_FALSE(is_plain_path("name.toUpperCase()"));
  EXPECT_FALSE(is_plain_path("a + b"));
  EXPECT_FALSE(is_plain_path("1abc"));
  EXPECT_FALSE(is_plain_path("a["));
  EXPECT_FALSE(is_plain_path("a[x]"));
  EXPECT_FALSE(is_plain_path("a."));
  EXPECT_FALSE(is_plain_path("true"));
  EXPECT_FALSE(is_plain_path("Math.PI"));
}

TEST_F(ExpressionTest, PathsWithIndexesAndDashes) {
  EXPECT_EQ(expand("${items[1].name}"), "b");
  EXPECT_EQ(expand("${vars.nums[2]}"), Value(3));
  EXPECT_EQ(expand("${call.headers[0].value}"), "t1");
  EXPECT_EQ(expand("${request_response_headers.content-type}"), "text/plain");
  EXPECT_EQ(expand("${nums.1}"), Value(2));
}

TEST_F(ExpressionTest, DottedFlatKeysAreFoundToo) {
  vars_["request_response_headers.x-id"] = "42";
  EXPECT_EQ(expand("${request_response_headers.x-id}"), "42");
  EXPECT_EQ(expand("${vars.request_response_headers.x-id}"), "42");
}

TEST_F(ExpressionTest, UnprefixedNamesResolveVarsThenEnvsThenCall) {
  EXPECT_EQ(expand("${region}"), "vars-region");
  vars_.erase("region");
  EXPECT_EQ(expand("${region}"), "envs-region");
  envs_.erase("region");
  EXPECT_EQ(expand("${region}"), "call-region");
  EXPECT_EQ(expand("${type}"), "env");
  EXPECT_EQ(expand("${call.type}"), "sip");
  EXPECT_EQ(expand("${envs.api}"), "https://x.test");
  EXPECT_EQ(expand("${params.a}"), "1");
}

TEST_F(ExpressionTest, UnprefixedNamesHaveTheSamePrecedenceInJavaScript) {
  EXPECT_EQ(expand("${region + '!'}"), "vars-region!");
  EXPECT_EQ(expand("${type + '!'}"), "env!");
  EXPECT_EQ(expand("${from.split('@')[1]}"), "example.com");
  EXPECT_EQ(expand("${call.type === 'sip' && vars.name === name}"), Value(true));
}

TEST_F(ExpressionTest, MissingPathsAreEmptyEmbeddedAndNullAlone) {
  EXPECT_EQ(expand("${nope}"), Value());
  EXPECT_EQ(expand("${vars.nope.deeper[3]}"), Value());
  EXPECT_EQ(expand("[${nope}][${call.nope}][${items[9].name}]"), "[][][]");
  EXPECT_EQ(expand("${nothing}"), Value());
}

TEST_F(ExpressionTest, LengthIsAKeyInAPathButAPropertyInJavaScript) {
  EXPECT_EQ(expand("${items.length}"), Value());  // swml-reference §3.2 gotcha
  EXPECT_EQ(expand("${(items.length)}"), Value(2));
  EXPECT_EQ(expand("${name.length}"), Value());
  EXPECT_EQ(expand("${(name.length)}"), Value(3));
}

TEST_F(ExpressionTest, LookupResolvesPathsOnly) {
  EXPECT_EQ(engine_.lookup("call.type", scope()), "sip");
  EXPECT_EQ(engine_.lookup(" vars.items[0].name ", scope()), "a");
  EXPECT_EQ(engine_.lookup("count", scope()), Value(3));
  EXPECT_EQ(engine_.lookup("${name}", scope()), "bob");
  EXPECT_EQ(engine_.lookup("nope", scope()), Value());
  EXPECT_EQ(engine_.lookup("name.toUpperCase()", scope()), Value());
}

// --- JavaScript -----------------------------------------------------------------------------

TEST_F(ExpressionTest, CommonJavaScriptMethods) {
  EXPECT_EQ(expand("${name.toUpperCase()}"), "BOB");
  EXPECT_EQ(expand("${'1234'.split('').join(' ')}"), "1 2 3 4");
  EXPECT_EQ(expand("${parseInt(params.a) + parseInt(params.b)}"), Value(3));
  EXPECT_EQ(expand("${params.a + params.b}"), "12");
  EXPECT_EQ(expand("${Math.max(count, 7)}"), Value(7));
  EXPECT_EQ(expand("${Math.PI.toFixed(2)}"), "3.14");
  EXPECT_EQ(expand("${count > 2 ? 'many' : 'few'}"), "many");
  EXPECT_EQ(expand("${count == '3'}"), Value(true));
  EXPECT_EQ(expand("${count === '3'}"), Value(false));
  EXPECT_EQ(expand("${parseFloat('2.50')}"), Value(2.5));
  EXPECT_EQ(expand("${Boolean(empty)}"), Value(false));
  EXPECT_EQ(expand("${(5).toString()}"), "5");
  EXPECT_EQ(expand("${JSON.stringify({a: 1})}"), R"({"a":1})");
  EXPECT_EQ(expand("${'abc'.padStart(5, '0')}"), "00abc");
  EXPECT_EQ(expand("${[1, 2, 3].includes(2)}"), Value(true));
  EXPECT_EQ(expand("${items.find(function(i){ return i.name == 'b'; }).name}"), "b");
  EXPECT_EQ(expand("${Object.keys(request_response_headers)}"), Value::parse(R"(["content-type"])"));
}

TEST_F(ExpressionTest, ArrowFunctionsAreRewritten) {
  EXPECT_EQ(expand("${[1,2,3].reduce((a,b)=>a+b,0)}"), Value(6));
  EXPECT_EQ(expand("${nums.map(x => x*2)}"), Value::parse("[2,4,6]"));
  EXPECT_EQ(expand("${nums.filter(x => x > 1).map(x => x * 10)}"), Value::parse("[20,30]"));
  EXPECT_EQ(expand("${nums.map((x, i) => [x, i])}"), Value::parse("[[1,0],[2,1],[3,2]]"));
  EXPECT_EQ(expand("${nums.map(() => 'k')}"), Value::parse(R"(["k","k","k"])"));
  EXPECT_EQ(expand("${items.map(i => ({n: i.name}))}"), Value::parse(R"([{"n":"a"},{"n":"b"}])"));
  EXPECT_EQ(expand("${nums.map(x => x > 1 ? 'y' : 'n').join('')}"), "nyy");
  EXPECT_EQ(expand("${nums.map(x => { return x + 1; })}"), Value::parse("[2,3,4]"));
  EXPECT_EQ(expand("${((a) => (b) => a + b)(1)(2)}"), Value(3));
  EXPECT_EQ(expand("${nums.map(x => '=>' + x)}"), Value::parse(R"(["=>1","=>2","=>3"])"));
  EXPECT_EQ(expand("${items.map(i => i.name.toUpperCase()).join(',')}"), "A,B");
}

TEST_F(ExpressionTest, TemplateLiteralsAreRewritten) {
  EXPECT_EQ(expand("${`hi ${name}, ${count + 1} \"q\"`}"), "hi bob, 4 \"q\"");
  EXPECT_EQ(expand("${nums.map(n => `#${n}`).join(' ')}"), "#1 #2 #3");
}

TEST_F(ExpressionTest, SyntaxErrorsNameTheExpression) {
  const Error e = expand_error("say ${foo(} now");
  EXPECT_EQ(e.code, ErrorCode::js_eval_error);
  EXPECT_EQ(e.message.rfind("expression '${foo(}': SyntaxError", 0), 0u) << e.message;
  const Error e2 = expand_error("${name +}");
  EXPECT_EQ(e2.message.rfind("expression '${name +}': SyntaxError", 0), 0u) << e2.message;
  const Error e3 = expand_error("${undefinedFunction(1)}");
  EXPECT_NE(e3.message.find("ReferenceError"), std::string::npos) << e3.message;
}

TEST_F(ExpressionTest, LongExpressionsAreTruncatedInMessages) {
  const std::string expr = "${" + std::string(200, 'a') + " +}";
  const Error e = expand_error(expr);
  EXPECT_LT(e.message.size(), 200u) << e.message;
  EXPECT_NE(e.message.find("...'"), std::string::npos) << e.message;
}

TEST_F(ExpressionTest, ExpressionCannotEscapeItsWrapper) {
  EXPECT_NE(expand_error("${1); while(true){}; (1}").message.find("SyntaxError"), std::string::npos);
  EXPECT_NE(expand_error("${1]}").message.find("unbalanced"), std::string::npos);
}

TEST_F(ExpressionTest, SetStyleSequentialUseSeesEarlierResults) {
  // What `set` does: each key is expanded against the variables set by the keys before it.
  vars_["subtotal"] = 100;
  auto tax = engine_.expand(Value("${subtotal * 0.08}"), scope());
  ASSERT_TRUE(tax.ok());
  vars_["tax"] = *tax;
  auto total = engine_.expand(Value("${subtotal + tax}"), scope());
  ASSERT_TRUE(total.ok());
  vars_["total"] = *total;
  EXPECT_EQ(expand("${total.toFixed(2)}"), "108.00");
}

TEST_F(ExpressionTest, VariablesAreReadAfreshEachEvaluation) {
  EXPECT_EQ(expand("${name + '!'}"), "bob!");
  vars_["name"] = "carol";
  EXPECT_EQ(expand("${name + '!'}"), "carol!");
  EXPECT_EQ(expand("${vars.name + '!'}"), "carol!");
}

TEST_F(ExpressionTest, NoStateLeaksBetweenEvaluations) {
  EXPECT_EQ(expand("${leaked = 5}"), Value(5));
  EXPECT_EQ(expand("${typeof leaked}"), "undefined");
  EXPECT_EQ(expand("${vars.name = 'mallory'}"), "mallory");
  EXPECT_EQ(vars_["name"], "bob");  // the caller's variables are copies inside JS
  EXPECT_EQ(expand("${name + ''}"), "bob");
  expand("${Math.sneaky = 1}");
  EXPECT_EQ(expand("${typeof Math.sneaky}"), "undefined");
  expand("${String.prototype.toUpperCase = function(){ return 'x'; }}");
  EXPECT_EQ(expand("${name.toUpperCase()}"), "BOB");
  expand("${Array.prototype.leak = 1}");
  EXPECT_EQ(expand("${typeof [].leak}"), "undefined");
  expand("${parseInt = null}");
  EXPECT_EQ(expand("${parseInt('7')}"), Value(7));
}

TEST_F(ExpressionTest, DuktapeObjectIsNotReachable) {
  EXPECT_EQ(expand("${typeof Duktape}"), "undefined");
  EXPECT_EQ(expand("${typeof this.Duktape}"), "undefined");
}

// --- conditions -----------------------------------------------------------------------------

TEST_F(ExpressionTest, ConditionsUseJavaScriptTruthiness) {
  EXPECT_TRUE(cond("call.type.toLowerCase() == 'sip'"));
  EXPECT_FALSE(cond("call.type == 'phone'"));
  EXPECT_TRUE(cond("count > 2 && flag"));
  EXPECT_FALSE(cond("''"));
  EXPECT_TRUE(cond("[]"));
  EXPECT_TRUE(cond("true"));
  EXPECT_FALSE(cond("false"));
  EXPECT_FALSE(cond("null"));
}

TEST_F(ExpressionTest, PathConditionsAreTruthinessOfTheValue) {
  EXPECT_TRUE(cond("flag"));
  EXPECT_TRUE(cond("vars.name"));
  EXPECT_FALSE(cond("empty"));
  EXPECT_FALSE(cond("zero"));
  EXPECT_FALSE(cond("nothing"));
  EXPECT_FALSE(cond("missing.path"));
  EXPECT_TRUE(cond("items"));
}

TEST_F(ExpressionTest, ConditionPlaceholdersAreSubstitutedFirst) {
  EXPECT_TRUE(cond("${count} == 3"));
  EXPECT_TRUE(cond("${count > 1}"));
  EXPECT_FALSE(cond("${nothing}"));
}

TEST_F(ExpressionTest, ConditionErrorsNameTheCondition) {
  auto r = engine_.condition("call.type ==", scope());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::js_eval_error);
  EXPECT_NE(r.error().message.find("call.type =="), std::string::npos) << r.error().message;
}

// --- sandbox --------------------------------------------------------------------------------

#ifndef SWMLD_TEST_SLOWDOWN
#define SWMLD_TEST_SLOWDOWN 1
#endif
// The bounds below are how soon a runaway expression must be stopped (the sandbox limit is
// 100 ms), not speed targets; sanitizer builds run several times slower.
constexpr long kSlowdown = SWMLD_TEST_SLOWDOWN;

class SandboxTest : public ExpressionTest {
 protected:
  static SandboxLimits limits() {
    SandboxLimits l;
    l.time = milliseconds(100);
    return l;
  }
  SandboxTest() : engine_(limits()) {}

  Error timed(const std::string& s, milliseconds* took) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = engine_.expand(Value(s), scope());
    *took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
    EXPECT_FALSE(r.ok()) << s;
    return r.ok() ? Error{} : r.error();
  }

  void expect_usable() {
    auto r = engine_.expand(Value("${[1,2,3].map(x => x + count).join()}"), scope());
    ASSERT_TRUE(r.ok()) << r.error().str();
    EXPECT_EQ(*r, "4,5,6");
  }

  ExpressionEngine engine_;
};

TEST_F(SandboxTest, EndlessLoopTimesOut) {
  milliseconds took{};
  const Error e = timed("${(function(){ while (true) {} })()}", &took);
  EXPECT_EQ(e.code, ErrorCode::js_eval_error);
  EXPECT_NE(e.message.find("timed out after 100 ms"), std::string::npos) << e.message;
  EXPECT_LT(took.count(), 200 * kSlowdown);
  expect_usable();
}

TEST_F(SandboxTest, CatchingTheTimeoutDoesNotHelp) {
  milliseconds took{};
  const Error e = timed(
      "${(function(){ for (;;) { try { while (true) {} } catch (e) {} } })()}", &took);
  EXPECT_NE(e.message.find("timed out"), std::string::npos) << e.message;
  EXPECT_LT(took.count(), 200 * kSlowdown);
  expect_usable();
}

TEST_F(SandboxTest, MemoryBombsFail) {
  milliseconds took{};
  Error e = timed("${'x'.repeat(1e9)}", &took);
  EXPECT_NE(e.message.find("ran out of memory (8 MiB)"), std::string::npos) << e.message;
  expect_usable();
  e = timed("${new Array(1e9).join('x')}", &took);
  EXPECT_EQ(e.code, ErrorCode::js_eval_error);
  EXPECT_LT(took.count(), 200 * kSlowdown);
  expect_usable();
  e = timed("${(function(){ var s = 'xxxxxxxx'; while (true) { s += s; } })()}", &took);
  EXPECT_NE(e.message.find("ran out of memory"), std::string::npos) << e.message;
  expect_usable();
}

TEST_F(SandboxTest, GrowingObjectGraphEndsInTime) {
  milliseconds took{};
  const Error e = timed("${(function(){ var a = []; while (true) { a.push({k: [1]}); } })()}", &took);
  EXPECT_EQ(e.code, ErrorCode::js_eval_error);
  EXPECT_LT(took.count(), 1000 * kSlowdown);  // ends by time or memory, whichever first
  expect_usable();
}

TEST_F(SandboxTest, SparseArrayIterationIsRefused) {
  milliseconds took{};
  const Error e = timed("${new Array(4e9).forEach(function(){})}", &took);
  EXPECT_NE(e.message.find("array too long"), std::string::npos) << e.message;
  EXPECT_LT(took.count(), 100 * kSlowdown);
}

TEST_F(SandboxTest, TooLongExpressionIsRejected) {
  const std::string expr = "${" + std::string(5000, '1') + "}";
  const Error e = expand_error(expr);
  EXPECT_NE(e.message.find("too long"), std::string::npos) << e.message;
  auto c = engine_.condition(std::string(5000, '1'), scope());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("too long"), std::string::npos);
}

TEST_F(SandboxTest, TooLargeResultIsRejected) {
  SandboxLimits l = limits();
  l.max_result_bytes = 1000;
  ExpressionEngine small(l);
  auto r = small.expand(Value("${'x'.repeat(2000)}"), scope());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos) << r.error().message;
  vars_["long"] = std::string(600, 'y');
  r = small.expand(Value("${long}${long}"), scope());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos) << r.error().message;
}

TEST_F(SandboxTest, ThrownObjectsBecomeMessages) {
  auto r = engine_.expand(Value("${(function(){ throw new TypeError('nope'); })()}"), scope());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("TypeError: nope"), std::string::npos) << r.error().message;
  milliseconds took{};
  const Error e = timed(
      "${(function(){ throw {toString: function(){ while (true) {} }}; })()}", &took);
  EXPECT_EQ(e.code, ErrorCode::js_eval_error);
  EXPECT_LT(took.count(), 400 * kSlowdown);
  expect_usable();
}

TEST_F(SandboxTest, InvalidUtf8FromJavaScriptIsRepaired) {
  auto r = engine_.expand(Value("${String.fromCharCode(0xD800) + 'a'}"), scope());
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, "\xEF\xBF\xBD" "a");
  EXPECT_NO_THROW((void)r->dump());
  r = engine_.expand(Value("${'\\u00e9\\ud83d\\ude00'}"), scope());
  ASSERT_TRUE(r.ok()) << r.error().str();
  EXPECT_EQ(*r, "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_F(SandboxTest, DeeplyNestedVariablesAreRefusedNotCrashing) {
  Value deep = 1;
  for (int i = 0; i < 1000; ++i) {  // > the sandbox limit (200), small enough for ASan stacks
    Value outer = Value::array();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  vars_["deep"] = deep;
  auto r = engine_.expand(Value("${JSON.stringify(deep).length}"), scope());
  EXPECT_FALSE(r.ok());
  expect_usable();
}


// --- time across evaluations: the per-call budget and the slice -----------------------------

TEST_F(ExpressionTest, ThePerCallBudgetStopsEvaluationsOnceUsedUpAndNamesTheLimit) {
  SandboxLimits l;
  l.per_call = milliseconds(60);
  ExpressionEngine engine(l);
  std::vector<Error> warnings;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = engine.expand(Value("${(function(){ while (true) {} })()}"), scope(), &warnings);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok()) << "the budget is fatal even where other failures are warnings";
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(r.error().code, ErrorCode::js_eval_error);
  EXPECT_EQ(r.error().message,
            "expression time budget of 60 ms per call used up (limits.expression_time_per_call)");
  EXPECT_TRUE(engine.budget_exhausted());
  EXPECT_LT(took, milliseconds(150 * kSlowdown)) << "stopped at the budget, not at 150 ms";
  // Every later evaluation fails at once, even a cheap one; plain paths need no JavaScript.
  auto cheap = engine.condition("1 + 1 == 2", scope());
  ASSERT_FALSE(cheap.ok());
  EXPECT_NE(cheap.error().message.find("limits.expression_time_per_call"), std::string::npos);
  auto path = engine.expand(Value("${vars.name}"), scope());
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "bob");
}

TEST_F(ExpressionTest, CheapEvaluationsAddUpToTheBudget) {
  SandboxLimits l;
  l.per_call = milliseconds(1000);
  ExpressionEngine engine(l);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(engine.expand(Value("${count * 2}"), scope()).ok());
  EXPECT_GT(engine.used().count(), 0);
  EXPECT_LT(engine.used(), milliseconds(50 * kSlowdown));
  EXPECT_FALSE(engine.budget_exhausted());
}

TEST_F(ExpressionTest, AnEvaluationLongerThanTheSliceStopsThereAndCanRunAgainWithout) {
  ExpressionEngine engine;
  engine.set_slice(std::chrono::microseconds(2000));
  const std::string js =
      "${(function(){ var s = 0; for (var i = 0; i < 5e5; i++) s += 1; return s; })()}";
  std::vector<Error> warnings;
  // This thread's CPU time, not the wall clock: a loaded machine may preempt it for longer.
  const auto cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  const auto t0 = cpu();
  auto r = engine.expand(Value(js), scope(), &warnings);
  EXPECT_LT(cpu() - t0, milliseconds(30 * kSlowdown));
  EXPECT_TRUE(engine.sliced_out());
  EXPECT_TRUE(warnings.empty()) << "a sliced evaluation is not the document's failure";
  engine.clear_sliced_out();
  engine.set_slice({});
  auto again = engine.expand(Value(js), scope(), &warnings);
  ASSERT_TRUE(again.ok()) << again.error().str();
  EXPECT_EQ(*again, 500000);
  EXPECT_FALSE(engine.sliced_out());
}

}  // namespace
}  // namespace swmld::swml
