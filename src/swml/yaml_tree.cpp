// Builds the positioned tree from yaml-cpp's event parser (JSON is parsed as YAML flow
// syntax). Plain scalars are typed by the YAML 1.2 core schema; quoted scalars stay strings.
#include "yaml_tree.hpp"

#include "swmld/core/utf8.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <charconv>
#include <cstdio>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace swmld::swml::detail {

const std::string& Node::str() const {
  static const std::string empty;
  return kind == Kind::string ? scalar.get_ref<const std::string&>() : empty;
}

const MapEntry* Node::find(std::string_view key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

std::string_view describe(const Node& node) {
  switch (node.kind) {
    case Node::Kind::null: return "null";
    case Node::Kind::boolean: return "a boolean";
    case Node::Kind::integer: return "an integer";
    case Node::Kind::floating: return "a number";
    case Node::Kind::string: return "a string";
    case Node::Kind::sequence: return "a list";
    case Node::Kind::mapping: return "a mapping";
  }
  return "a value";
}

namespace {

// A problem that stops parsing; thrown from inside yaml-cpp's callbacks and caught below.
struct Fatal {
  Error error;
};

std::optional<Value> parse_integer(std::string_view s, int base) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t u = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), u, base);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Too big for 64 bits: keep the magnitude as a double rather than failing.
    double d = std::strtod(std::string(s).c_str(), nullptr);
    return Value(negative ? -d : d);
  }
  if (!negative) {
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return Value(static_cast<std::int64_t>(u));
    return Value(u);
  }
  if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1)
    return Value(static_cast<std::int64_t>(0 - u));
  return Value(-static_cast<double>(u));
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_core_float(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && is_dec(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t whole = digits();
  std::size_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    frac = digits();
    if (whole == 0 && frac == 0) return false;
  } else if (whole == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// YAML 1.2 core schema resolution of a plain (unquoted, untagged) scalar.
Value resolve_plain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  std::string_view v(s);
  std::string_view unsigned_part = v.substr(v[0] == '-' || v[0] == '+' ? 1 : 0);
  if (all_of(unsigned_part, is_dec)) {
    if (auto r = parse_integer(v, 10)) return *r;
  }
  if (v.starts_with("0o") && all_of(v.substr(2), is_oct)) {
    if (auto r = parse_integer(v.substr(2), 8)) return *r;
  }
  if (v.starts_with("0x") && all_of(v.substr(2), is_hex)) {
    if (auto r = parse_integer(v.substr(2), 16)) return *r;
  }
  if (is_core_float(v)) return Value(std::strtod(s.c_str(), nullptr));
  if (unsigned_part == ".inf" || unsigned_part == ".Inf" || unsigned_part == ".INF")
    return Value(v[0] == '-' ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity());
  if (v == ".nan" || v == ".NaN" || v == ".NAN") return Value(std::numeric_limits<double>::quiet_NaN());
  return Value(s);
}

Node::Kind kind_of(const Value& v) {
  if (v.is_null()) return Node::Kind::null;
  if (v.is_boolean()) return Node::Kind::boolean;
  if (v.is_number_integer()) return Node::Kind::integer;
  if (v.is_number()) return Node::Kind::floating;
  return Node::Kind::string;
}

// yaml-cpp 0.7 does not report a quoted scalar that reaches the end of a text ending with a
// line break: the rest of the document becomes the string. A closed scalar ends at its first
// unescaped quote, so a quoted scalar (yaml-cpp's tag "!") with none after its opening quote
// was never closed: the error names that quote. Each scalar is scanned from its own start.
std::optional<Error> unclosed_quote(std::string_view text, const YAML::Mark& mark,
                                    const std::string& tag, const std::string& source) {
  if (tag != "!" || mark.pos < 0) return std::nullopt;
  auto at = static_cast<std::size_t>(mark.pos);
  auto is_quote = [&](std::size_t i) {
    return i < text.size() && (text[i] == '"' || text[i] == '\'');
  };
  // A byte order mark yaml-cpp skipped is not counted in its positions.
  if (!is_quote(at) && text.starts_with("\xEF\xBB\xBF")) at += 3;
  if (!is_quote(at)) return std::nullopt;  // not where we expect (a tag before it): trust yaml-cpp
  const char quote = text[at];
  for (std::size_t i = at + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // `\"` and `\\` do not end a double-quoted string
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // `''` is a quote inside a single-quoted string
        continue;
      }
      return std::nullopt;
    }
  }
  return make_error(ErrorCode::parse_error,
                    std::string("syntax error: this ") + (quote == '"' ? "double" : "single") +
                        "-quoted string is never closed (no " + quote +
                        " before the end of the document)",
                    SourcePos{source, mark.line + 1, mark.column + 1});
}

// Receives yaml-cpp's events and assembles Nodes. One instance parses one text.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(std::string_view text, const std::string& source, const TreeLimits& limits,
              std::vector<Error>& problems)
      : text_(text), source_(source), limits_(limits), problems_(problems) {}

  NodePtr root() const { return root_; }
  bool saw_document() const { return documents_ > 0; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1)
      throw Fatal{make_error(ErrorCode::parse_error,
                             "the text holds more than one YAML document; a SWML document "
                             "must be exactly one",
                             pos(mark))};
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto n = std::make_shared<Node>();
    set_pos(*n, mark);
    n->scalar = Value();
    finish_scalar(std::move(n), anchor, "null");
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end() || !it->second)
      throw Fatal{make_error(ErrorCode::parse_error,
                             "an alias refers to a node that contains it (recursive alias)",
                             pos(mark))};
    count(it->second->weight, mark);
    if (expecting_key()) {
      if (!it->second->is_scalar()) throw complex_key(mark);
      add_key(scalar_text(*it->second), mark);
      return;
    }
    add_value(it->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (auto unclosed = unclosed_quote(text_, mark, tag, source_)) throw Fatal{*unclosed};
    auto n = std::make_shared<Node>();
    set_pos(*n, mark);
    n->scalar = resolve(tag, value, mark);
    n->kind = kind_of(n->scalar);
    finish_scalar(std::move(n), anchor, value);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Node::Kind::sequence, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Node::Kind::mapping, mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    std::shared_ptr<Node> node;
    YAML::anchor_t anchor = 0;
    bool have_key = false;
    MapEntry pending;                      // the key waiting for its value
    std::unordered_map<std::string, int> keys;  // mapping key -> its line, to spot duplicates
  };

  SourcePos pos(const YAML::Mark& mark) const {
    return SourcePos{source_, mark.line + 1, mark.column + 1};
  }
  static void set_pos(Node& n, const YAML::Mark& mark) {
    n.line = mark.line + 1;
    n.column = mark.column + 1;
  }

  Value resolve(const std::string& tag, const std::string& text, const YAML::Mark& mark) {
    if (tag == "?") return resolve_plain(text);
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return Value(text);
    if (tag == "tag:yaml.org,2002:null" || tag == "tag:yaml.org,2002:bool" ||
        tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float") {
      Value v = resolve_plain(text);
      bool fits = (tag.ends_with("null") && v.is_null()) ||
                  (tag.ends_with("bool") && v.is_boolean()) ||
                  (tag.ends_with("int") && v.is_number_integer()) ||
                  (tag.ends_with("float") && v.is_number());
      if (!fits)
        throw Fatal{make_error(ErrorCode::parse_error,
                               "'" + text + "' does not match its tag " + tag, pos(mark))};
      return tag.ends_with("float") ? Value(v.get<double>()) : v;
    }
    // Any other tag (`!foo`) has no meaning in SWML: keep the text.
    return Value(text);
  }

  bool expecting_key() const {
    return !stack_.empty() && stack_.back().node->is_mapping() && !stack_.back().have_key;
  }

  Fatal complex_key(const YAML::Mark& mark) const {
    return Fatal{make_error(ErrorCode::element_wrong_type,
                            "mapping keys must be plain text, not lists or mappings", pos(mark))};
  }

  static std::string scalar_text(const Node& n) {
    if (n.is_string()) return n.str();
    if (n.is_null()) return "null";
    return n.scalar.dump();
  }

  void count(std::size_t weight, const YAML::Mark& mark) { count(weight, mark.line + 1, mark.column + 1); }
  void count(std::size_t weight, int line, int column) {
    total_ += weight;
    if (total_ > limits_.max_nodes)
      throw Fatal{make_error(ErrorCode::parse_error,
                             "the document is too large: more than " +
                                 std::to_string(limits_.max_nodes) +
                                 " values once aliases are expanded",
                             SourcePos{source_, line, column})};
  }

  void finish_scalar(std::shared_ptr<Node> n, YAML::anchor_t anchor, const std::string& text) {
    count(1, n->line, n->column);
    if (anchor) anchors_[anchor] = n;
    if (expecting_key()) {
      add_key(n->is_string() ? n->str() : text, n->line, n->column);
      return;
    }
    add_value(std::move(n));
  }

  void add_key(std::string key, const YAML::Mark& mark) { add_key(std::move(key), mark.line + 1, mark.column + 1); }
  void add_key(std::string key, int line, int column) {
    Frame& f = stack_.back();
    f.have_key = true;
    f.pending = MapEntry{std::move(key), line, column, nullptr};
  }

  void add_value(NodePtr n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& f = stack_.back();
    if (f.node->is_sequence()) {
      f.node->items.push_back(std::move(n));
      return;
    }
    f.have_key = false;
    MapEntry entry = std::move(f.pending);
    auto [seen, fresh] = f.keys.emplace(entry.key, entry.line);
    if (!fresh) {
      problems_.push_back(make_error(
          ErrorCode::element_duplicated,
          "duplicate key '" + printable(entry.key) + "' (first given at line " +
              std::to_string(seen->second) + ")",
          SourcePos{source_, entry.line, entry.column}));
      return;
    }
    entry.value = std::move(n);
    f.node->entries.push_back(std::move(entry));
  }

  void open(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (expecting_key()) throw complex_key(mark);
    if (static_cast<int>(stack_.size()) >= limits_.max_depth)
      throw Fatal{make_error(ErrorCode::parse_error,
                             "the document nests deeper than " +
                                 std::to_string(limits_.max_depth) + " levels",
                             pos(mark))};
    count(1, mark);
    auto n = std::make_shared<Node>();
    n->kind = kind;
    set_pos(*n, mark);
    // Registered as "in progress" so that an alias to it from inside is caught.
    if (anchor) anchors_[anchor] = nullptr;
    stack_.push_back(Frame{std::move(n), anchor});
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    std::size_t w = 1;
    for (const auto& i : f.node->items) w += i->weight;
    for (const auto& e : f.node->entries) w += e.value->weight;
    f.node->weight = w;
    if (f.anchor) anchors_[f.anchor] = f.node;
    add_value(std::move(f.node));
  }

  std::string_view text_;
  const std::string& source_;
  const TreeLimits& limits_;
  std::vector<Error>& problems_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, NodePtr> anchors_;
  NodePtr root_;
  std::size_t total_ = 0;
  int documents_ = 0;
};

// yaml-cpp accepts any bytes; SWML text must be UTF-8 (values end up in JSON).
std::optional<Error> check_utf8(std::string_view text, const std::string& source) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t len = utf8_sequence_at(text, i);
    const bool ok = len > 0;
    if (!ok)
      return make_error(ErrorCode::parse_error, "the text is not valid UTF-8",
                        SourcePos{source, line, column});
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return std::nullopt;
}

// A second look at a text that failed to parse: an unclosed quote makes yaml-cpp fail later
// and elsewhere (at the end of the text, or on what it read as a mapping key), so when the
// text has one, that is the error to report. Only scalars are looked at; nothing is built.
class QuoteFinder : public YAML::EventHandler {
 public:
  QuoteFinder(std::string_view text, const std::string& source) : text_(text), source_(source) {}
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                const std::string&) override {
    if (auto unclosed = unclosed_quote(text_, mark, tag, source_)) throw Fatal{*unclosed};
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::string_view text_;
  const std::string& source_;
};

std::optional<Error> find_unclosed_quote(std::string_view text, const std::string& source) {
  // Without a final line break yaml-cpp stops at "illegal EOF in scalar", past the quote;
  // with one it hands the scalar over and the quote is found. Positions do not move.
  std::string padded(text);
  if (!padded.ends_with('\n')) padded += '\n';
  std::istringstream in{padded};
  QuoteFinder finder(padded, source);
  try {
    // As parse_tree, two documents at most: past the first, the text is refused anyway, and
    // yaml-cpp 0.7 can hand out empty documents forever after some errors (`"",`).
    YAML::Parser parser(in);
    if (parser.HandleNextDocument(finder)) parser.HandleNextDocument(finder);
  } catch (const Fatal& f) {
    return f.error;
  } catch (const std::exception&) {
    // Another syntax error first: the caller reports its own.
  }
  return std::nullopt;
}

}  // namespace

Result<NodePtr> parse_tree(std::string_view text, const std::string& source_name,
                           const TreeLimits& limits, std::vector<Error>& problems) {
  if (auto bad = check_utf8(text, source_name)) return *bad;
  std::istringstream in{std::string(text)};
  TreeBuilder builder(text, source_name, limits, problems);
  try {
    YAML::Parser parser(in);
    if (parser.HandleNextDocument(builder)) parser.HandleNextDocument(builder);
  } catch (const Fatal& f) {
    if (auto unclosed = find_unclosed_quote(text, source_name)) return *unclosed;
    return f.error;
  } catch (const YAML::ParserException& e) {
    if (auto unclosed = find_unclosed_quote(text, source_name)) return *unclosed;
    // yaml-cpp's own depth guard reports "bad file"; say what it means.
    std::string msg = e.msg == "bad file" ? "the document nests too deeply" : "syntax error: " + printable(e.msg);
    return make_error(ErrorCode::parse_error, msg,
                      SourcePos{source_name, e.mark.line + 1, e.mark.column + 1});
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse_internal_error,
                      std::string("could not parse the document: ") + e.what(),
                      SourcePos{source_name, 0, 0});
  }
  NodePtr root = builder.root();
  if (!root) root = std::make_shared<Node>();
  return root;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

void append_member(Value& object, std::string key, Value value) {
  object.get_ref<Value::object_t&>().emplace_back(std::move(key), std::move(value));
}

Value to_value(const Node& node) {
  switch (node.kind) {
    case Node::Kind::sequence: {
      Value v = Value::array();
      for (const auto& i : node.items) v.push_back(to_value(*i));
      return v;
    }
    case Node::Kind::mapping: {
      Value v = Value::object();
      v.get_ref<Value::object_t&>().reserve(node.entries.size());
      for (const auto& e : node.entries) append_member(v, e.key, to_value(*e.value));
      return v;
    }
    default:
      return node.scalar;
  }
}

}  // namespace swmld::swml::detail
