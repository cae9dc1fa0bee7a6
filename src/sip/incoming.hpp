// Copies what the rest of swmld needs out of an INVITE (sip_t is never kept).
#pragma once

#include "sofia.hpp"
#include "swmld/sip/stack.hpp"

namespace swmld::sip {

// SIP thread, inside the nua callback of the INVITE (uses nua_current_request()).
IncomingCall copy_incoming(nua_t* nua, sip_t const* sip);

}  // namespace swmld::sip
