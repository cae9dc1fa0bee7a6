// Typed reads of expanded step arguments.
#include "args.hpp"

#include <cmath>
#include <cstdlib>

namespace swmld::engine::methods {

std::string to_text(const Value& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
      return std::to_string(static_cast<long long>(d));
    return v.dump();
  }
  return v.dump(-1, ' ', false, Value::error_handler_t::replace);
}

std::string get_string(const Value& args, const char* key, std::string fallback) {
  if (!args.is_object()) return fallback;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return fallback;
  return to_text(*it);
}

Result<double> get_number(const Value& args, const char* key, double fallback,
                          const char* method) {
  if (!args.is_object()) return fallback;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return fallback;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return d;
  }
  return make_error(ErrorCode::method_parameter_invalid_value,
                    std::string(method) + ": '" + key + "' must be a number, got " +
                        it->dump(-1, ' ', false, Value::error_handler_t::replace));
}

Result<bool> get_bool(const Value& args, const char* key, bool fallback, const char* method) {
  if (!args.is_object()) return fallback;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    if (*it == "true") return true;
    if (*it == "false") return false;
  }
  return make_error(ErrorCode::method_parameter_invalid_value,
                    std::string(method) + ": '" + key + "' must be true or false, got " +
                        it->dump(-1, ' ', false, Value::error_handler_t::replace));
}

std::vector<std::string> get_strings(const Value& args, const char* key) {
  std::vector<std::string> out;
  if (!args.is_object()) return out;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return out;
  if (it->is_array()) {
    for (const auto& v : *it) out.push_back(to_text(v));
  } else {
    out.push_back(to_text(*it));
  }
  return out;
}

Value params_as_strings(Value params) {
  if (params.is_number() || params.is_boolean()) return to_text(params);
  if (params.is_object() || params.is_array()) {
    for (auto it = params.begin(); it != params.end(); ++it)
      it.value() = params_as_strings(std::move(it.value()));
  }
  return params;
}

}  // namespace swmld::engine::methods
