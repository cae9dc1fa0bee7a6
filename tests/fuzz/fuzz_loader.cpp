// libFuzzer target: any bytes given to the loader must end in a Document or errors, never a
// crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "swmld/swml/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  swmld::swml::LoadOptions options;
  options.source_name = "fuzz.yaml";
  options.max_bytes = 256 * 1024;  // keeps each run short; the limit itself is tested elsewhere
  std::vector<swmld::Error> errors;
  auto result = swmld::swml::load_document(
      std::string_view(reinterpret_cast<const char*>(data), size), options, &errors);
  // The contract: the first collected error is the one returned.
  if (!result.ok() && (errors.empty() || errors.front().str() != result.error().str()))
    __builtin_trap();
  if (result.ok() && !errors.empty()) __builtin_trap();
  return 0;
}
