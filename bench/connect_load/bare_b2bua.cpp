// Baseline for bench/connect_load: a bare, single-threaded Sofia-SIP NUA back-to-back user
// agent with no interpreter and no media. Answers every INVITE with a fixed SDP; when the
// caller's ACK arrives, INVITEs the callee (a fixed URI, the same fixed SDP offer); when
// either leg ends (BYE), sends BYE on the other. It opens no RTP port and relays nothing:
// it is the SIP half of what swmld's answer + connect + hangup does.
//   bare_b2bua sip:127.0.0.1:5170 sip:callee@127.0.0.1:5190   (SIGINT/SIGTERM to stop)
// Prints READY when listening and calls/CPU at exit.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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
  const char* callee = nullptr;
  long invites = 0, dialled = 0, bridged = 0, ended = 0, failed_legs = 0, live = 0;
};

// One call: the caller's (incoming) handle and the callee's (outgoing) one.
struct Pair {
  nua_handle_t* caller = nullptr;
  nua_handle_t* callee = nullptr;
  bool caller_done = false;
  bool callee_done = false;
};

volatile std::sig_atomic_t g_stop = 0;

void finish_leg(Counters* c, Pair* p, nua_handle_t* nh) {
  const bool is_caller = nh == p->caller;
  (is_caller ? p->caller_done : p->callee_done) = true;
  nua_handle_destroy(nh);
  nua_handle_t* other = is_caller ? p->callee : p->caller;
  const bool other_done = is_caller ? (p->callee == nullptr || p->callee_done) : p->caller_done;
  if (!other_done) {
    nua_bye(other, TAG_END());  // a callee still ringing gets CANCEL from nua_bye
    return;
  }
  ++c->ended;
  --c->live;
  delete p;
}

void on_event(nua_event_t event, int status, char const* /*phrase*/, nua_t* nua, nua_magic_t* magic,
              nua_handle_t* nh, nua_hmagic_t* hmagic, sip_t const* /*sip*/, tagi_t tags[]) {
  auto* c = static_cast<Counters*>(magic);
  auto* p = reinterpret_cast<Pair*>(hmagic);
  switch (event) {
    case nua_i_invite: {
      ++c->invites;
      ++c->live;
      p = new Pair;
      p->caller = nh;
      nua_handle_bind(nh, reinterpret_cast<nua_hmagic_t*>(p));
      nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(kSdp),
                  TAG_END());
      break;
    }
    case nua_r_invite:
      if (status >= 300) ++c->failed_legs;  // the callee refused: its state goes terminated
      break;
    case nua_i_state: {
      if (!p) break;
      int state = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
      if (state == nua_callstate_ready && nh == p->caller && p->callee == nullptr) {
        ++c->dialled;
        p->callee = nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(p), NUTAG_URL(c->callee),
                               SIPTAG_TO_STR(c->callee), TAG_END());
        nua_invite(p->callee, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(kSdp),
                   TAG_END());
      } else if (state == nua_callstate_ready && nh == p->callee) {
        ++c->bridged;
      } else if (state == nua_callstate_terminated) {
        finish_leg(c, p, nh);
      }
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
  if (argc < 3) {
    std::fprintf(stderr, "usage: bare_b2bua LISTEN-URI CALLEE-URI\n");
    return 2;
  }
  Counters c;
  c.callee = argv[2];
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });

  su_init();
  su_log_set_level(nua_log, 0);
  c.root = su_root_create(reinterpret_cast<su_root_magic_t*>(&c));
  su_root_threading(c.root, 0);
  nua_t* nua = nua_create(c.root, on_event, &c, NUTAG_URL(argv[1]), NUTAG_MEDIA_ENABLE(0),
                          NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_SESSION_TIMER(0),
                          SIPTAG_FROM_STR("<sip:bare@127.0.0.1>"), SIPTAG_SUPPORTED_STR(""), TAG_END());
  if (!nua) {
    std::fprintf(stderr, "bare_b2bua: cannot bind %s\n", argv[1]);
    return 1;
  }
  su_timer_t* poll = su_timer_create(su_root_task(c.root), 100);
  su_timer_set_for_ever(poll, check_stop, nullptr);
  std::printf("READY %s\n", argv[1]);
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
  std::printf("calls=%ld dialled=%ld bridged=%ld failed_legs=%ld live=%ld cpu_s=%.3f\n", c.ended, c.dialled,
              c.bridged, c.failed_legs, c.live, cpu);
  return 0;
}
