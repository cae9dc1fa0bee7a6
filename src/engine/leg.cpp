// engine::Leg: a leg's state, its answer and end, and the events it reports (see leg.hpp).
#include "leg.hpp"

#include <spdlog/spdlog.h>

#include <type_traits>
#include <variant>

namespace swmld::engine {
namespace {

// A key reported by both RFC 4733 and SIP INFO (some phones send both) within this window
// counts once.
constexpr auto kDuplicateWindow = std::chrono::milliseconds(250);
constexpr std::size_t kMaxDigits = 128;  // type-ahead buffer

}  // namespace

Leg::Leg(std::size_t index, std::shared_ptr<call::CallControl> control,
         std::unique_ptr<call::MediaControl> media, const std::string& log_context)
    : index_(index),
      control_(std::move(control)),
      media_(std::move(media)),
      log_context_(log_context) {}

Result<std::string> Leg::local_sdp() {
  Result<std::string> sdp = media_
                                ? media_->local_sdp()
                                : Result<std::string>(make_error(ErrorCode::method_execute_failed,
                                                                 "this leg has no media"));
  if (!sdp) end(503, 5);  // no RTP port: refused, the caller may retry elsewhere
  return sdp;
}

Status Leg::answer() {
  if (answer_sent_ || end_sent_ || gone()) return Ok{};
  auto sdp = local_sdp();
  if (!sdp) return sdp.error();
  answer_sent_ = true;
  control_->answer(std::move(*sdp));
  return Ok{};
}

Status Leg::early_media() {
  if (early_media_sent_ || answer_sent_ || end_sent_ || gone()) return Ok{};
  auto sdp = local_sdp();
  if (!sdp) return sdp.error();
  early_media_sent_ = true;
  control_->progress(std::move(*sdp));
  return Ok{};
}

void Leg::end(int code, int retry_after_s) {
  if (end_sent_ || gone()) return;
  end_sent_ = true;
  if (media_) media_->stop();
  if (outbound()) {
    control_->bye();  // CANCEL while it rings, BYE once answered
  } else if (answer_sent_) {
    control_->bye();
  } else {
    control_->reject(code, retry_after_s);
  }
}

bool Leg::apply(const call::Event& event) {
  if (gone()) return false;
  std::visit(
      [this](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, call::Answered>) {
          answered_ = true;
        } else if constexpr (std::is_same_v<E, call::Ended>) {
          ended_ = e;
          if (media_) media_->close();
        } else if constexpr (std::is_same_v<E, call::RemoteSdp>) {
          if (!media_) {
            if (e.kind == call::RemoteSdp::Kind::offer) control_->answer_offer({});
            return;
          }
          auto answer = media_->remote_sdp(e);
          if (!answer)
            spdlog::info("{} SDP {} not accepted: {}", log_context_,
                         e.kind == call::RemoteSdp::Kind::offer ? "offer" : "answer",
                         answer.error().message);
          if (e.kind == call::RemoteSdp::Kind::offer)
            control_->answer_offer(answer ? std::move(*answer) : std::string());
        } else if constexpr (std::is_same_v<E, call::Dtmf>) {
          on_dtmf(e);
        }
        // ReferResponse / ReferNotify: state of the sip_refer step, not of the leg.
      },
      event);
  return true;
}

void Leg::on_dtmf(const call::Dtmf& dtmf) {
  auto now = std::chrono::steady_clock::now();
  bool duplicate = dtmf.digit == last_digit_ && dtmf.source != last_source_ &&
                   now - last_digit_at_ < kDuplicateWindow;
  last_digit_ = dtmf.digit;
  last_source_ = dtmf.source;
  last_digit_at_ = now;
  if (duplicate) return;
  if (digits_.size() >= kMaxDigits) digits_.pop_front();
  digits_.push_back(dtmf.digit);
}

}  // namespace swmld::engine
