// Logging on top of spdlog: text for people or JSON lines for machines, and structured
// event records such as `refer_result` (design.md §6, §7).
#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "swmld/core/value.hpp"

namespace swmld::log {

enum class Format { text, json };

// Installs the default logger with the given format and level, writing to `sink` (default:
// stderr). Call once, early.
void setup(Format format, spdlog::level::level_enum level, spdlog::sink_ptr sink = nullptr);

Format format();

// Logs one structured record: `event` names it, `context` is the per-call prefix
// ("call=… sip_call_id=…", may be empty), `fields` a JSON object of its values.
// Text: `refer_result call=… to_uri=sip:a@b result=success duration_ms=35`.
// JSON: {"ts":…,"level":"info","event":"refer_result","call":…,"to_uri":…,…}.
void event(spdlog::level::level_enum level, std::string_view event, std::string_view context,
           const Value& fields);

}  // namespace swmld::log
