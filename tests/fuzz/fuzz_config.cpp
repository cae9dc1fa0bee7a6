// libFuzzer target: swmld.yaml text through parse_config, validate and plan_reload, as
// `swmld --config` and a reload (SIGHUP) read it. Every error is a config error naming a
// key ("config key '...'") or a YAML syntax error ("config: ..."), never an escaping
// exception. The fuzzer's own environment must not leak in: parse_config reads no SWMLD_*
// variable, and they are cleared at start-up in case a later change makes it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config.hpp"
#include "reload.hpp"

extern char** environ;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "SWMLD_", 6) == 0) names.emplace_back(*e, std::strcspn(*e, "="));
  for (const auto& n : names) unsetenv(n.c_str());
  return 0;
}

namespace {

void check_error(const swmld::Error& e) {
  const std::string& m = e.message;
  bool names_key = m.rfind("config key '", 0) == 0 && m.find("': ", 12) != std::string::npos;
  bool syntax = e.code == swmld::ErrorCode::parse_error && m.rfind("config: ", 0) == 0;
  if (!names_key && !syntax) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = swmld::app::parse_config(text, "fuzz.yaml");
  if (!config) {
    check_error(config.error());
    return 0;
  }
  if (auto s = swmld::app::validate(*config); !s) {
    check_error(s.error());
    return 0;
  }
  // A SIGHUP compares the new file with the running configuration.
  static const swmld::app::Config defaults;
  (void)swmld::app::plan_reload(defaults, *config);
  (void)swmld::app::plan_reload(*config, *config);
  return 0;
}
