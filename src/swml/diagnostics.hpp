// Collects the loader's errors with their positions, so one pass reports every problem.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "swmld/core/error.hpp"
#include "yaml_tree.hpp"

namespace swmld::swml::detail {

class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  SourcePos pos(int line, int column) const { return SourcePos{source_, line, column}; }
  SourcePos pos(const Node& n) const { return pos(n.line, n.column); }
  SourcePos pos(const MapEntry& e) const { return pos(e.line, e.column); }

  // Messages quote document text (keys, labels, values): control characters are escaped so
  // that every error stays on one line.
  void add(ErrorCode code, std::string_view message, SourcePos at) {
    errors_.push_back(Error{code, printable(message), std::move(at)});
  }
  void add(Error e) { errors_.push_back(std::move(e)); }
  void add(ErrorCode code, std::string_view message, const Node& at) { add(code, message, pos(at)); }
  void add(ErrorCode code, std::string_view message, const MapEntry& at) {
    add(code, message, pos(at));
  }

  bool empty() const { return errors_.empty(); }
  std::size_t count() const { return errors_.size(); }
  std::vector<Error>& errors() { return errors_; }

 private:
  std::string source_;
  std::vector<Error> errors_;
};

}  // namespace swmld::swml::detail
