// SWML error codes (swml-reference.md §7), the Error value that carries them, and Result<T>.
// Expected failures travel as values; exceptions never cross module or thread boundaries.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace swmld {

enum class ErrorCode {
  parse_error,                    // relay_script_parse_error
  parse_internal_error,           // relay_script_parse_internal_error
  version_invalid,                // relay_script_version_invalid
  sections_missing,               // relay_script_sections_missing
  main_section_missing,           // relay_script_main_section_missing
  section_code_missing,           // relay_script_section_code_missing
  section_parameter_undefined,    // relay_script_section_parameter_undefined
  element_undefined,              // relay_script_element_undefined
  element_wrong_type,             // relay_script_element_wrong_type
  element_invalid_value,          // relay_script_element_invalid_value
  element_duplicated,             // relay_script_element_duplicated
  method_missing_name,            // relay_script_method_missing_name
  method_undefined,               // relay_script_method_undefined
  method_parameter_missing,       // relay_script_method_parameter_missing
  method_parameter_invalid_value, // relay_script_method_parameter_invalid_value
  method_parameter_undefined,     // relay_script_method_parameter_undefined
  method_parameter_conflict,      // relay_script_method_parameter_conflict
  method_no_matching_condition,   // relay_script_method_no_matching_condition
  method_execute_failed,          // relay_script_method_execute_failed
  js_eval_error,                  // relay_script_js_eval_error
  nested_too_deep,                // relay_script_nested_too_deep
  too_many_transfers,             // relay_script_too_many_transfers
  internal_error,                 // relay_script_internal_error
};

// The wire name of a code, e.g. "relay_script_method_undefined".
std::string_view to_string(ErrorCode code);

// Where something sits in a source document. line/column are 1-based; 0 means unknown.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column" (parts that are unknown are left out).
  std::string str() const;
};

struct Error {
  ErrorCode code = ErrorCode::internal_error;
  std::string message;
  SourcePos pos;

  // "file:line:col: relay_script_xxx: message"
  std::string str() const;
};

// A value or an Error. Small on purpose: std::expected is C++23.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(ErrorCode code, std::string message, SourcePos pos = {}) {
  return Error{code, std::move(message), std::move(pos)};
}

}  // namespace swmld
