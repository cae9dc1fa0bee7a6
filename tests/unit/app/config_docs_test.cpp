// docs/configuration.md's key table against the code: every key the parser accepts has one row
// and every row names such a key; the types, defaults, SWMLD_* variables and reload column
// written there are what the parser, Config, config_env_vars() and the reload plan do; and
// config/swmld.yaml shows the defaults. Each failure says what to write where.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config.hpp"
#include "reload.hpp"
#include "temp_files.hpp"

namespace swmld::app {
namespace {

const std::string kDoc = "docs/configuration.md";
const std::string kHeader = "| key | type | default | env | reload | meaning |";

struct Row {
  int line = 0;
  std::string key, type, default_cell, env, reload;
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(' ');
  auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The text between the first pair of backticks when `cell` starts with one; else nothing.
std::optional<std::string> leading_code(const std::string& cell) {
  if (cell.empty() || cell.front() != '`') return std::nullopt;
  auto end = cell.find('`', 1);
  if (end == std::string::npos) return std::nullopt;
  return cell.substr(1, end - 1);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct KeyTable {
  std::map<std::string, Row> rows;
  std::vector<std::string> problems;  // malformed or repeated rows
};

// The rows of the table under kHeader, by key.
KeyTable read_key_table() {
  KeyTable table;
  std::istringstream in(read_text(std::string(SWMLD_SOURCE_DIR) + "/" + kDoc));
  std::string line;
  int n = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++n;
    if (!inside) {
      inside = line == kHeader;
      if (inside) std::getline(in, line), ++n;  // the |---| line
      continue;
    }
    if (line.empty() || line.front() != '|') break;
    std::vector<std::string> cells;
    std::stringstream cs(line.substr(1));
    std::string cell;
    while (std::getline(cs, cell, '|')) cells.push_back(trim(cell));
    auto key = cells.empty() ? std::nullopt : leading_code(cells[0]);
    if (cells.size() != 6 || !key) {
      table.problems.push_back(kDoc + ":" + std::to_string(n) +
                               ": a row of the key table needs 6 cells, the first a `key`");
      continue;
    }
    Row row{n, *key, cells[1], cells[2], cells[3], cells[4]};
    if (!table.rows.emplace(row.key, row).second)
      table.problems.push_back(kDoc + ":" + std::to_string(n) + ": `" + row.key +
                               "` has a row already");
  }
  if (!inside) table.problems.push_back(kDoc + ": no table with the header " + kHeader);
  return table;
}

const KeyTable& doc() {
  static const KeyTable table = read_key_table();
  return table;
}

bool is_route_key(const std::string& key) {
  return key.rfind("routes[].", 0) == 0;
}

// The name the reload plan gives a key: its own, or "routes" for each route's keys.
std::string reload_name(const std::string& key) {
  return is_route_key(key) ? "routes" : key;
}

bool reloads(const std::string& key) {
  const auto& r = reloadable_keys();
  return std::find(r.begin(), r.end(), reload_name(key)) != r.end();
}

std::string env_of(const std::string& key) {
  for (const auto& [env, k] : config_env_vars())
    if (k == key) return env;
  return {};
}

// A configuration file setting `key` to `value` (YAML), the rest absent. A route's key goes
// into a route that has the `swml` every route needs.
std::string yaml_for(const std::string& key, const std::string& value) {
  std::vector<std::string> parts;
  std::stringstream ks(key);
  for (std::string p; std::getline(ks, p, '.');) parts.push_back(p);
  std::string out, indent;
  if (parts.front() == "routes[]") {
    parts.erase(parts.begin());
    if (parts == std::vector<std::string>{"swml"}) return "routes:\n  - swml: " + value + "\n";
    out = "routes:\n  - swml: doc.yaml\n";
    indent = "    ";
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += indent + parts[i] + ":" + (i + 1 == parts.size() ? " " + value : "") + "\n";
    indent += "  ";
  }
  return out;
}

Result<Config> load_text(const std::string& text) {
  return load_config(testing_files::write("config_docs_test.yaml", text));
}

// The keys a reload plan sees differ between `a` and `b` (every key but the routes' own is
// in one of its two tables: see EveryKeyIsReloadableOrNamedAsNeedingARestart).
std::vector<std::string> differences(const Config& a, const Config& b) {
  ReloadPlan plan = plan_reload(a, b);
  std::vector<std::string> keys = plan.changed;
  keys.insert(keys.end(), plan.needs_restart.begin(), plan.needs_restart.end());
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(ConfigDocs, TheKeyTableIsWellFormed) {
  EXPECT_EQ(doc().problems, std::vector<std::string>{});
  EXPECT_GE(doc().rows.size(), 10u);
}

TEST(ConfigDocs, EveryKeyTheParserAcceptsHasARow) {
  for (const auto& key : config_keys()) {
    if (doc().rows.count(key)) continue;
    const std::string env = env_of(key);
    ADD_FAILURE() << "config key '" << key << "' is accepted by the parser (kKeys, "
                  << "src/app/config.cpp) but " << kDoc << " has no row for it. Add to the "
                  << "table under '## Keys', in its section's place:\n"
                  << "| `" << key << "` | TYPE | `DEFAULT` | "
                  << (env.empty() ? "—" : "`" + env + "`") << " | "
                  << (reloads(key) ? "yes" : "restart") << " | MEANING |\n"
                  << "(TYPE: string, bool, integer, number, list or mapping; DEFAULT in YAML, "
                  << "`\"\"` for empty)";
  }
}

TEST(ConfigDocs, EveryRowNamesAKeyTheParserAccepts) {
  const auto& keys = config_keys();
  for (const auto& [key, row] : doc().rows) {
    EXPECT_TRUE(std::find(keys.begin(), keys.end(), key) != keys.end())
        << kDoc << ":" << row.line << ": `" << key << "` is not a key the parser accepts (kKeys, "
        << "src/app/config.cpp): remove the row, or add the key to kKeys and parse it";
    // And the parser agrees: a file with just this key loads.
    if (auto d = leading_code(row.default_cell); d && !is_route_key(key)) {
      auto loaded = load_text(yaml_for(key, *d));
      EXPECT_TRUE(loaded.ok()) << kDoc << ":" << row.line << ": `" << key << ": " << *d
                               << "` does not load: " << (loaded ? "" : loaded.error().str());
    }
  }
}

TEST(ConfigDocs, EveryKeyIsReloadableOrNamedAsNeedingARestart) {
  std::set<std::string> keys;
  for (const auto& key : config_keys()) keys.insert(reload_name(key));
  std::set<std::string> reload(reloadable_keys().begin(), reloadable_keys().end());
  std::set<std::string> restart(restart_only_keys().begin(), restart_only_keys().end());
  for (const auto& key : keys)
    EXPECT_TRUE(reload.count(key) + restart.count(key) == 1)
        << "config key '" << key << "' must be in exactly one of reloadable() and restart_only() "
        << "(src/app/reload.cpp): a reload compares every key";
  for (const auto& key : reload)
    EXPECT_TRUE(keys.count(key)) << "reloadable() names '" << key << "', not a config key";
  for (const auto& key : restart)
    EXPECT_TRUE(keys.count(key)) << "restart_only() names '" << key << "', not a config key";
}

TEST(ConfigDocs, TheReloadColumnIsWhatAReloadApplies) {
  for (const auto& [key, row] : doc().rows) {
    const std::string want = reloads(key) ? "yes" : "restart";
    EXPECT_EQ(row.reload, want) << kDoc << ":" << row.line << ": `" << key << "`: write " << want
                                << " in the reload column (src/app/reload.cpp)";
  }
}

TEST(ConfigDocs, TheEnvColumnNamesEachKeysVariable) {
  for (const auto& [key, row] : doc().rows) {
    const std::string env = env_of(key);
    EXPECT_EQ(row.env, env.empty() ? "—" : "`" + env + "`")
        << kDoc << ":" << row.line << ": `" << key << "`: the env column must say "
        << (env.empty() ? "— (no SWMLD_* variable sets it: kEnv, src/app/config.cpp)"
                        : "`" + env + "`");
  }
  const std::string text = read_text(std::string(SWMLD_SOURCE_DIR) + "/" + kDoc);
  for (const auto& [env, key] : config_env_vars()) {
    if (key != "swml") continue;  // not a key of the file: a route of its own
    EXPECT_NE(text.find("`" + env + "`"), std::string::npos)
        << kDoc << " must describe `" << env << "` (a catch-all route, as --swml)";
  }
}

TEST(ConfigDocs, TheManualAndTheKeyTableNameExactlyTheVariables) {
  // docs/man/swmld.8 (ENVIRONMENT) lists every variable; neither it nor configuration.md
  // names one swmld does not read.
  std::set<std::string> known;
  for (const auto& [env, key] : config_env_vars()) known.insert(env);
  for (const std::string& doc : {std::string("docs/man/swmld.8"), kDoc}) {
    const std::string text = read_text(std::string(SWMLD_SOURCE_DIR) + "/" + doc);
    std::set<std::string> named;
    const std::regex var("SWMLD_[A-Z][A-Z_]*");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), var);
         it != std::sregex_iterator(); ++it)
      named.insert(it->str());
    for (const auto& env : named)
      EXPECT_TRUE(known.count(env)) << doc << " names " << env << ", which swmld does not read "
                                    << "(kEnv, src/app/config.cpp)";
    if (doc == kDoc) continue;  // the table's env column is checked above
    for (const auto& env : known)
      EXPECT_TRUE(named.count(env)) << doc << " does not describe " << env;
  }
}

TEST(ConfigDocs, EachDocumentedDefaultIsSwmldsDefault) {
  auto defaults = load_text("");
  ASSERT_TRUE(defaults.ok()) << defaults.error().str();
  for (const auto& [key, row] : doc().rows) {
    if (is_route_key(key)) continue;  // a route has no default; `swml` is required
    auto literal = leading_code(row.default_cell);
    if (!literal) {
      ADD_FAILURE() << kDoc << ":" << row.line << ": `" << key << "`: the default cell must "
                    << "start with the default as YAML in backticks, e.g. `10` or `\"\"`";
      continue;
    }
    auto loaded = load_text(yaml_for(key, *literal));
    if (!loaded) continue;  // reported by EveryRowNamesAKeyTheParserAccepts
    EXPECT_EQ(differences(*defaults, *loaded), std::vector<std::string>{})
        << kDoc << ":" << row.line << ": `" << key << "` documented default `" << *literal
        << "` is not swmld's default (src/app/config.hpp)";
  }
}

TEST(ConfigDocs, EachDocumentedTypeIsWhatTheParserReads) {
  // A value of the documented type loads; one of another type is refused, naming the key.
  struct Samples {
    std::string right, wrong;
  };
  const std::map<std::string, Samples> samples = {
      {"string", {"abc", "[a]"}}, {"bool", {"true", "maybe"}},    {"integer", {"7", "1.5"}},
      {"number", {"1.5", "abc"}}, {"list", {"[a, b]", "{a: b}"}}, {"mapping", {"{a: b}", "[a]"}}};
  const std::map<std::string, std::string> right_for = {
      {"routes[].fallback", "https://example.com/doc"},  // checked as a URL when read
      {"routes[].auth.users", "[{username: a, password: b}]"}};  // mappings of their own
  for (const auto& [key, row] : doc().rows) {
    auto it = samples.find(row.type);
    if (it == samples.end()) {
      ADD_FAILURE() << kDoc << ":" << row.line << ": `" << key << "`: type '" << row.type
                    << "' is not one of string, bool, integer, number, list, mapping";
      continue;
    }
    const std::string right = right_for.count(key) ? right_for.at(key) : it->second.right;
    auto taken = load_text(yaml_for(key, right));
    EXPECT_TRUE(taken.ok()) << kDoc << ":" << row.line << ": `" << key << "` is documented as "
                            << row.type << " but the parser refuses `" << right
                            << "`: " << (taken ? "" : taken.error().str());
    std::string shown = key;
    if (is_route_key(key)) shown.replace(0, 8, "routes[0]");
    auto refused = load_text(yaml_for(key, it->second.wrong));
    EXPECT_FALSE(refused.ok()) << kDoc << ":" << row.line << ": `" << key << "` is documented as "
                               << row.type << " but the parser takes `" << it->second.wrong << "`";
    if (!refused.ok()) {
      EXPECT_NE(refused.error().message.find("'" + shown + "'"), std::string::npos)
          << "the error names the key: " << refused.error().str();
    }
  }
}

TEST(ConfigDocs, TheExampleConfigurationShowsTheDefaults) {
  // config/swmld.yaml writes out every default; it differs only where an example must.
  auto defaults = load_text("");
  auto example = load_config(std::string(SWMLD_SOURCE_DIR) + "/config/swmld.yaml");
  ASSERT_TRUE(defaults.ok() && example.ok()) << (example ? "" : example.error().str());
  EXPECT_EQ(differences(*defaults, *example),
            (std::vector<std::string>{"callbacks.project_id", "callbacks.space_id", "envs",
                                      "media.root", "outbound.country", "outbound.gateway.uri",
                                      "routes"}));
}

}  // namespace
}  // namespace swmld::app
