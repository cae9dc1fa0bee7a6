// Identifiers: random UUIDs (v4) for calls, controls and nodes.
#pragma once

#include <string>

namespace swmld {

// A random RFC 4122 version-4 UUID in lower-case text form. Thread-safe.
std::string new_uuid();

}  // namespace swmld
