// The table of executable SWML methods. A method the validator knows but this table lacks
// is reported at run time as relay_script_method_execute_failed (docs/swml-coverage.md).
#include <array>
#include <utility>

#include "methods.hpp"

namespace swmld::engine::methods {
namespace {

constexpr std::array<std::pair<std::string_view, MethodFn>, 21> kMethods{{
    {"answer", answer},            // answer the call (200 OK), wait for the ACK
    {"hangup", hangup},            // end the call: reject before answer, BYE after
    {"set", set},                  // write vars, key by key in document order
    {"unset", unset},              // remove vars
    {"label", label},              // a goto target; does nothing when run
    {"goto", goto_},               // jump to a label of the current section (max, when)
    {"cond", cond},                // first truthy `when` runs its `then`, else `else`
    {"switch", switch_},           // run the case equal to a variable's string form
    {"execute", execute},          // subroutine call: section, URL or inline document
    {"return", return_},           // leave the section with a value (return_value)
    {"transfer", transfer},        // tail call: replace the current section
    {"sleep", sleep},              // wait (ms; -1 until hangup)
    {"play", play},                // play sounds (media port)
    {"prompt", prompt},            // play and collect digits
    {"sip_refer", sip_refer},      // REFER the far end, follow the sipfrag NOTIFYs
    {"request", request},          // HTTP request, response into variables
    {"send_digits", send_digits},  // send DTMF
    {"connect", connect},          // dial outbound legs, bridge the caller to who answers
    {"record", record},            // record the caller (foreground)
    {"record_call", record_call},  // record the call in the background
    {"stop_record_call", stop_record_call},  // end a record_call
}};

}  // namespace

MethodFn find(std::string_view method) {
  for (const auto& [name, fn] : kMethods)
    if (name == method) return fn;
  return nullptr;
}

}  // namespace swmld::engine::methods
