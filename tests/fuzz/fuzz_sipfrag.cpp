// libFuzzer target: the bodies of in-dialog requests swmld reads itself (Sofia parses the
// messages and headers): message/sipfrag in a REFER's NOTIFY (parse_sipfrag_status) and
// dtmf INFO bodies (parse_dtmf_info). The first line of the input is the INFO's
// Content-Type, the rest its body; the whole input is also a sipfrag body.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "refer_tracker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int code = swmld::sip::parse_sipfrag_status(text);
  if (code != 0 && (code < 100 || code > 699)) __builtin_trap();

  auto nl = text.find('\n');
  std::string_view type = text.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  for (std::string_view t : {type, std::string_view("application/dtmf-relay"),
                             std::string_view("application/dtmf")}) {
    auto digit = swmld::sip::parse_dtmf_info(t, body);
    if (digit && !std::strchr("0123456789*#ABCD", *digit)) __builtin_trap();
    if (digit && *digit == '\0') __builtin_trap();
  }
  return 0;
}
