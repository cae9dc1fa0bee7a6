// One leg of a call as the interpreter sees it: its signalling and media ports, what it has
// reported (answered, ended), and the keys pressed on it that no step has taken yet. The
// leg answers its own SDP offers (re-INVITEs) through its media session. Strand only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "swmld/call/contract.hpp"
#include "swmld/core/error.hpp"
#include "swmld/engine/ports.hpp"

namespace swmld::engine {

class Leg {
 public:
  Leg(std::size_t index, std::shared_ptr<call::CallControl> control,
      std::unique_ptr<call::MediaControl> media, const std::string& log_context);
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;

  std::size_t index() const { return index_; }  // 0: the inbound leg
  bool outbound() const { return index_ > 0; }   // dialled by connect
  call::CallControl& control() { return *control_; }
  call::MediaControl* media() { return media_.get(); }  // null: no media on this leg

  bool answered() const { return answered_; }
  bool answer_sent() const { return answer_sent_; }
  // The leg is gone (an Ended event arrived, whatever its cause).
  bool gone() const { return ended_.has_value(); }
  // The far end (or the network) ended it, not our own bye()/reject().
  bool ended_remotely() const { return ended_ && ended_->cause != call::EndCause::local; }
  const std::optional<call::Ended>& ended() const { return ended_; }
  bool end_sent() const { return end_sent_; }

  // 200 OK with the media session's SDP, once. An Error when media cannot start (no free
  // RTP port): the leg is then refused with 503 and Retry-After.
  Status answer();
  // 183 Session Progress with the SDP (early media), once, before answer. Errors as answer().
  Status early_media();
  // Ends the leg from our side, once: reject before answer (`code`), BYE after.
  void end(int code, int retry_after_s = 0);

  // Updates the leg's state for an event it reported; answers SDP offers. Returns false for
  // events that mean nothing any more (after the leg ended).
  bool apply(const call::Event& event);

  // Keys pressed on this leg that no step has consumed (bounded: the oldest are dropped).
  std::deque<char>& digits() { return digits_; }

 private:
  // The media's SDP; when it has none (no RTP port), the leg is refused with 503.
  Result<std::string> local_sdp();
  void on_dtmf(const call::Dtmf& dtmf);

  std::size_t index_;
  std::shared_ptr<call::CallControl> control_;
  std::unique_ptr<call::MediaControl> media_;
  const std::string& log_context_;  // the call's, which outlives its legs

  bool answered_ = false;
  bool answer_sent_ = false;
  bool early_media_sent_ = false;
  bool end_sent_ = false;
  std::optional<call::Ended> ended_;
  std::deque<char> digits_;
  // The last key and when it came, to fold a key a peer sends both as RFC 4733 and as INFO.
  char last_digit_ = 0;
  call::DtmfSource last_source_ = call::DtmfSource::rfc4733;
  std::chrono::steady_clock::time_point last_digit_at_{};
};

}  // namespace swmld::engine
