// Sofia-SIP's own logs (su_log: nua, nta, tport, soa, ...) into spdlog's default logger at
// debug level, one record per line, with credentials removed.
#pragma once

#include <string>
#include <string_view>

namespace swmld::sip {

// Points every Sofia log at spdlog and sets its level (0..9). Process-wide: Sofia's logs are
// globals. Call from the SIP thread before nua_create.
void redirect_sofia_logs(int level);

// Blanks the value of Authorization/Proxy-Authorization headers and NUTAG_AUTH credentials.
std::string redact_sofia_line(std::string_view line);

}  // namespace swmld::sip
