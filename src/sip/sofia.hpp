// The one place Sofia-SIP headers are included: binds Sofia's magic pointer types to our
// classes (so callbacks get typed context) and silences the warnings its headers raise.
#pragma once

namespace swmld::sip {
class StackCore;
class LegImpl;
class SipExecutor;
}  // namespace swmld::sip

#define SU_ROOT_MAGIC_T swmld::sip::StackCore
#define SU_WAKEUP_ARG_T swmld::sip::SipExecutor
#define SU_TIMER_ARG_T swmld::sip::StackCore
#define NUA_MAGIC_T swmld::sip::StackCore
#define NUA_HMAGIC_T swmld::sip::LegImpl

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
#pragma GCC diagnostic pop
