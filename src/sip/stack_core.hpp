// The SIP thread's world: su_root, the nua instance and the live legs.
// Everything here runs on the SIP thread except the constructor and the atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "executor.hpp"
#include "listen.hpp"
#include "sofia.hpp"
#include "tcp_guard.hpp"
#include "swmld/sip/stack.hpp"
#include "tls.hpp"

namespace swmld::sip {

class StackCore {
 public:
  // `tls_dir`: Sofia's TLS files when a listener is tls: (removed once nua has bound).
  StackCore(StackConfig config, Stack::InviteHandler on_invite, std::vector<ListenAddress> listen,
            std::unique_ptr<TlsDirectory> tls_dir, std::shared_ptr<SipExecutor> executor,
            class SipContext* context);
  StackCore(const StackCore&) = delete;
  StackCore& operator=(const StackCore&) = delete;

  // SIP thread body: creates root and nua, reports the start-up outcome through `started`
  // (empty string: running), runs the loop until shutdown, then destroys everything.
  void run(std::promise<std::string> started);

  // SIP thread.
  void begin_drain();
  void begin_shutdown();
  void shutdown_timed_out();
  void leg_finished(LegImpl* leg);  // the leg's handle is destroyed; forget it
  // An outbound leg made by Stack::dial: registered and its INVITE sent, or ended at once
  // (failure, 503) when the stack is draining or shutting down.
  void start_outbound(std::shared_ptr<LegImpl> leg);
  // Our Contact for an outbound INVITE to `target` (through `proxy` when not empty), and the
  // default From URI; empty Contact: Sofia's own (a wildcard listener without public_address).
  std::string outbound_contact(const std::string& target, const std::string& proxy) const;
  std::string default_from() const;
  nua_t* nua() const { return nua_; }
  bool shutting_down() const { return shutting_down_; }

  const StackConfig& config() const { return config_; }
  const std::shared_ptr<SipExecutor>& executor() const { return executor_; }
  std::size_t active_legs() const { return active_.load(); }
  TcpGuardStats tcp_guard_stats() const;  // any thread
  void guard_tcp();                       // the TCP guard's tick

  // The nua event callback (C linkage type via nua.h); never lets an exception escape.
  static void on_nua_event(nua_event_t event, int status, char const* phrase, nua_t* nua,
                           StackCore* core, nua_handle_t* nh, LegImpl* leg, sip_t const* sip,
                           tagi_t tags[]) noexcept;

 private:
  std::string create_nua();
  void start_tcp_guard();
  void dispatch(nua_event_t event, int status, char const* phrase, nua_handle_t* nh,
                LegImpl* leg, sip_t const* sip, tagi_t tags[]);
  void on_new_invite(nua_handle_t* nh, sip_t const* sip);
  void respond_out_of_dialog(nua_event_t event, nua_handle_t* nh, sip_t const* sip);
  static const char* malformed_request(sip_t const* sip);
  // Host for Contact / SDP and the Contact header for a request that came over `transport`.
  std::string local_host(const ListenAddress& via, sip_t const* sip) const;
  const ListenAddress& listen_for(const std::string& transport, bool ipv6) const;

  StackConfig config_;
  Stack::InviteHandler on_invite_;
  std::vector<ListenAddress> listen_;
  std::unique_ptr<TlsDirectory> tls_dir_;
  std::shared_ptr<SipExecutor> executor_;
  class SipContext* context_;  // shut down here when the loop has ended

  su_root_t* root_ = nullptr;
  nua_t* nua_ = nullptr;
  su_timer_t* shutdown_timer_ = nullptr;
  su_timer_t* wakeup_timer_ = nullptr;  // the executor's local wake-up
  bool draining_ = false;
  bool shutting_down_ = false;
  std::unordered_map<LegImpl*, std::shared_ptr<LegImpl>> legs_;
  std::atomic<std::size_t> active_{0};
  // SIP over TCP: what Sofia does not bound (tcp_guard.hpp); null without a TCP listener.
  std::unique_ptr<TcpGuard> tcp_guard_;
  su_timer_t* tcp_guard_timer_ = nullptr;
  std::atomic<std::uint64_t> tcp_closed_[TcpGuard::kReasons] = {};
  std::chrono::steady_clock::time_point tcp_guard_logged_{};
  std::uint64_t tcp_guard_unlogged_[TcpGuard::kReasons] = {};
  std::string tcp_guard_last_peer_;
};

}  // namespace swmld::sip
