// One leg's media as the engine sees it (call::MediaControl): the SDP offer/answer state and
// the leg's Stream, which lives on a media thread; every command is posted there. Lives on
// the call's strand.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sdp.hpp"
#include "swmld/call/contract.hpp"
#include "swmld/media/service.hpp"

namespace swmld::media {

class Core;
class RelayLink;
class Stream;
class Recording;

class Session final : public call::MediaControl {
 public:
  // `offer`/`choice`: the INVITE's offer and what we chose from it; nullopt: a late offer.
  // `placement`: shared with the call's other legs (or null).
  Session(std::shared_ptr<Core> core, std::optional<SdpOffer> offer,
          std::optional<MediaChoice> choice, std::string local_address,
          std::shared_ptr<Placement> placement = nullptr);
  ~Session() override;

  void attach(std::shared_ptr<call::Events> events) override;
  Result<std::string> local_sdp() override;
  Result<std::string> remote_sdp(const call::RemoteSdp& sdp) override;
  bool telephone_event() const override;
  void play(const call::PlayRequest& request, std::function<void(std::string)> done) override;
  void stop() override;
  void send_digits(const std::string& digits, std::function<void(std::string)> done) override;
  void close() override;
  // Both sessions of a bridge belong to one call: they are used on its strand only.
  Status bridge(call::MediaControl& other) override;
  void unbridge() override;
  std::uint64_t record(const call::RecordRequest& request,
                       std::function<void(call::RecordResult)> done) override;
  void stop_record(std::uint64_t id) override;

 private:
  Status open_stream();
  void push_params();  // the negotiated choice -> the stream

  std::shared_ptr<Core> core_;
  std::optional<SdpOffer> offer_;      // the last offer we answered
  std::optional<MediaChoice> choice_;  // what is negotiated (from an offer, or from an answer)
  LocalMedia local_;
  std::string sdp_;  // our last description
  std::shared_ptr<Stream> stream_;
  std::shared_ptr<Placement> placement_;
  MediaThread* thread_ = nullptr;
  std::shared_ptr<call::Events> events_;
  bool closed_ = false;
  Session* bridged_ = nullptr;  // the other leg while bridged (it points back here)
  std::shared_ptr<RelayLink> relay_out_, relay_in_;  // what we receive -> it; it -> us
  std::map<std::uint64_t, std::weak_ptr<Recording>> recordings_;
  std::uint64_t next_recording_ = 1;
};

}  // namespace swmld::media
