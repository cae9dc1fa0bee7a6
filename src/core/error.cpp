// Names of SWML error codes and the text form of errors.
#include "swmld/core/error.hpp"

namespace swmld {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::parse_error: return "relay_script_parse_error";
    case ErrorCode::parse_internal_error: return "relay_script_parse_internal_error";
    case ErrorCode::version_invalid: return "relay_script_version_invalid";
    case ErrorCode::sections_missing: return "relay_script_sections_missing";
    case ErrorCode::main_section_missing: return "relay_script_main_section_missing";
    case ErrorCode::section_code_missing: return "relay_script_section_code_missing";
    case ErrorCode::section_parameter_undefined: return "relay_script_section_parameter_undefined";
    case ErrorCode::element_undefined: return "relay_script_element_undefined";
    case ErrorCode::element_wrong_type: return "relay_script_element_wrong_type";
    case ErrorCode::element_invalid_value: return "relay_script_element_invalid_value";
    case ErrorCode::element_duplicated: return "relay_script_element_duplicated";
    case ErrorCode::method_missing_name: return "relay_script_method_missing_name";
    case ErrorCode::method_undefined: return "relay_script_method_undefined";
    case ErrorCode::method_parameter_missing: return "relay_script_method_parameter_missing";
    case ErrorCode::method_parameter_invalid_value: return "relay_script_method_parameter_invalid_value";
    case ErrorCode::method_parameter_undefined: return "relay_script_method_parameter_undefined";
    case ErrorCode::method_parameter_conflict: return "relay_script_method_parameter_conflict";
    case ErrorCode::method_no_matching_condition: return "relay_script_method_no_matching_condition";
    case ErrorCode::method_execute_failed: return "relay_script_method_execute_failed";
    case ErrorCode::js_eval_error: return "relay_script_js_eval_error";
    case ErrorCode::nested_too_deep: return "relay_script_nested_too_deep";
    case ErrorCode::too_many_transfers: return "relay_script_too_many_transfers";
    case ErrorCode::internal_error: return "relay_script_internal_error";
  }
  return "relay_script_internal_error";
}

std::string SourcePos::str() const {
  std::string s = file;
  if (line > 0) {
    if (!s.empty()) s.push_back(':');
    s.append(std::to_string(line));
    if (column > 0) {
      s.push_back(':');
      s.append(std::to_string(column));
    }
  }
  return s;
}

std::string Error::str() const {
  std::string s = pos.str();
  if (!s.empty()) s += ": ";
  s += to_string(code);
  s += ": ";
  s += message;
  return s;
}

}  // namespace swmld
