// Small readers of a parsed Sofia message the legs share (SIP thread).
#pragma once

#include <strings.h>

#include <string>

#include "sofia.hpp"

namespace swmld::sip {

inline std::string header_text(const char* s) {
  return s ? std::string(s) : std::string();
}

inline bool content_type_is(sip_t const* sip, const char* type) {
  return sip && sip->sip_content_type && sip->sip_content_type->c_type &&
         strcasecmp(sip->sip_content_type->c_type, type) == 0;
}

inline std::string payload_of(sip_t const* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return {};
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

}  // namespace swmld::sip
