// Baseline for swmld's CPU per call: a bare, single-threaded Sofia-SIP NUA loop with no
// interpreter. Answers every INVITE with a fixed SDP, REFERs to sip:target@example.com on ACK,
// sends BYE after the final NOTIFY (or a REFER failure), and prints CPU time per call at exit.
//   bare_nua [sip:127.0.0.1:5070] [max-calls]      (SIGINT/SIGTERM to stop)

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag.h>
#pragma GCC diagnostic pop

extern "C" su_log_t nua_log[];  // exported by libsofia-sip-ua, declared in no header

#include "common/cpu_seconds.hpp"

namespace {

constexpr const char* kSdp =
    "v=0\r\no=bare 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n";

struct Counters {
  su_root_t* root = nullptr;
  long max_calls = 0;
  long invites = 0, refers = 0, notifies = 0, ended = 0;
};

volatile std::sig_atomic_t g_stop = 0;

void on_event(nua_event_t event, int status, char const* /*phrase*/, nua_t* /*nua*/,
              nua_magic_t* magic, nua_handle_t* nh, nua_hmagic_t* /*hmagic*/, sip_t const* sip,
              tagi_t tags[]) {
  auto* c = static_cast<Counters*>(magic);
  switch (event) {
    case nua_i_invite:
      ++c->invites;
      nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                  SIPTAG_PAYLOAD_STR(kSdp), TAG_END());
      break;
    case nua_i_state: {
      int state = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
      if (state == nua_callstate_ready) {
        ++c->refers;
        nua_refer(nh, SIPTAG_REFER_TO_STR("<sip:target@example.com>"), TAG_END());
      } else if (state == nua_callstate_terminated) {
        ++c->ended;
        nua_handle_destroy(nh);
        if (c->max_calls && c->ended >= c->max_calls) su_root_break(c->root);
      }
      break;
    }
    case nua_r_refer:
      if (status >= 300) nua_bye(nh, TAG_END());
      break;
    case nua_i_notify: {
      ++c->notifies;
      bool terminated = sip && sip->sip_subscription_state &&
                        sip->sip_subscription_state->ss_substate &&
                        strcasecmp(sip->sip_subscription_state->ss_substate, "terminated") == 0;
      bool final_frag = sip && sip->sip_payload && sip->sip_payload->pl_len >= 9 &&
                        sip->sip_payload->pl_data[8] >= '2';  // "SIP/2.0 2xx"
      if (terminated || final_frag) nua_bye(nh, TAG_END());
      break;
    }
    case nua_r_shutdown:
      if (status >= 200) su_root_break(c->root);
      break;
    default:
      break;
  }
}

void check_stop(su_root_magic_t* magic, su_timer_t* /*t*/, su_timer_arg_t* /*arg*/) {
  if (g_stop) su_root_break(static_cast<Counters*>(static_cast<void*>(magic))->root);
}

using swmld::bench::cpu_seconds;

}  // namespace

int main(int argc, char** argv) {
  const char* url = argc > 1 ? argv[1] : "sip:127.0.0.1:5070;transport=udp";
  Counters c;
  c.max_calls = argc > 2 ? std::atol(argv[2]) : 0;
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });

  su_init();
  su_log_set_level(nua_log, 0);  // level 3 prints a line per destroyed handle
  c.root = su_root_create(reinterpret_cast<su_root_magic_t*>(&c));
  su_root_threading(c.root, 0);
  nua_t* nua = nua_create(c.root, on_event, &c, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                          NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_SESSION_TIMER(0),
                          SIPTAG_SUPPORTED_STR(""), TAG_END());
  if (!nua) {
    std::fprintf(stderr, "bare_nua: cannot bind %s\n", url);
    return 1;
  }
  su_timer_t* poll = su_timer_create(su_root_task(c.root), 100);
  su_timer_set_for_ever(poll, check_stop, nullptr);
  std::printf("READY %s\n", url);
  std::fflush(stdout);
  double cpu0 = cpu_seconds();
  su_root_run(c.root);
  double cpu = cpu_seconds() - cpu0;
  su_timer_destroy(poll);
  nua_shutdown(nua);
  su_root_run(c.root);  // until nua_r_shutdown
  nua_destroy(nua);
  su_root_destroy(c.root);
  su_deinit();
  std::printf("calls=%ld refers=%ld notifies=%ld cpu_s=%.3f cpu_ms_per_call=%.3f\n", c.ended, c.refers,
              c.notifies, cpu, c.ended ? cpu * 1000 / static_cast<double>(c.ended) : 0.0);
  return 0;
}
