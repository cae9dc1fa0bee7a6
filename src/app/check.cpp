// `swmld check`: the loader's errors for each file, nothing for a valid one.
#include "check.hpp"

#include "swmld/swml/loader.hpp"

namespace swmld::app {

int check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err,
          bool quiet) {
  int rc = 0;
  for (const auto& file : files) {
    std::vector<Error> errors;
    auto doc = swml::load_file(file, &errors);
    if (doc) {
      if (!quiet) out << file << ": ok\n";
      continue;
    }
    rc = 1;
    if (errors.empty()) errors.push_back(doc.error());
    for (const auto& e : errors) err << e.str() << '\n';
  }
  return rc;
}

}  // namespace swmld::app
