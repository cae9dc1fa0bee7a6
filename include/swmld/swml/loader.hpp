// Loading SWML text (YAML or JSON) into a validated Document.
// Pure: no I/O beyond load_file's read, no threads, safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "swmld/core/error.hpp"
#include "swmld/swml/document.hpp"

namespace swmld::swml {

struct LoadOptions {
  std::string source_name;  // used in error positions: a file path, URL or "<inline>"
  int max_nesting = 16;     // nested step lists (cond in switch in execute.on_return ...)
  std::size_t max_bytes = 4 * 1024 * 1024;
};

// Parses and validates `text`. On failure returns the first error; when `all_errors` is
// given, every error found is appended to it (for `swmld check`).
Result<DocumentPtr> load_document(std::string_view text, const LoadOptions& options,
                                  std::vector<Error>* all_errors = nullptr);

// Whether `text` has the shape of a SWML document, valid or not: YAML or JSON that parses to a
// mapping with `sections` (`version` optional) or to a list of steps (the short form). A
// fetched body whose Content-Type does not say SWML is judged by this.
bool has_document_shape(std::string_view text);

// Reads a file and loads it; a missing or unreadable file is a parse_error naming the path.
Result<DocumentPtr> load_file(const std::string& path, std::vector<Error>* all_errors = nullptr);

}  // namespace swmld::swml
