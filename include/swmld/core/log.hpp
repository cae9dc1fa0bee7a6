// Logging on top of spdlog: text for people or JSON lines for machines, and structured
// event records such as `refer_result` (design.md §6, §7).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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

// The daemon's sink: a logging thread (the SIP thread, say) only appends the formatted line
// to a buffer; a writer thread of the sink's own writes the buffer to `fd` at most
// `interval` after its first line, at once for warnings and errors, and when 64 KiB are
// waiting. So a slow or stalled stderr (a full pipe, a stuck log shipper) never blocks
// signalling, and a busy server makes one write() per batch instead of one per line.
// At most `max_bytes` wait; lines past that are dropped, counted, and reported in a warning
// line once writing resumes. Destroying the sink (log::shutdown()) writes what is left,
// waiting at most `stop_timeout` for a stalled descriptor.
spdlog::sink_ptr background_sink(int fd, std::chrono::milliseconds interval = std::chrono::milliseconds(50),
                                 std::size_t max_bytes = 8u << 20,
                                 std::chrono::milliseconds stop_timeout = std::chrono::seconds(5));

// Writes what is buffered and stops the background writer: call before the process exits.
void shutdown();

// Lines background sinks have dropped since the process started (for metrics).
std::uint64_t dropped_lines();

// Logs one structured record: `event` names it, `context` is the per-call prefix
// ("call=… sip_call_id=…", may be empty), `fields` a JSON object of its values.
// Text: `refer_result call=… to_uri=sip:a@b result=success duration_ms=35`.
// JSON: {"ts":…,"level":"info","event":"refer_result","call":…,"to_uri":…,…}.
void event(spdlog::level::level_enum level, std::string_view event, std::string_view context,
           const Value& fields);

}  // namespace swmld::log
