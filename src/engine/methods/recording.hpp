// Shared by record and record_call: reading a step's recording settings, where the file
// goes and what its URL is, and the calling.call.record callbacks.
#pragma once

#include <string>

#include "methods.hpp"

namespace swmld::engine::methods {

struct RecordSettings {
  call::RecordRequest request;
  std::string control_id;
  std::string url;         // record_url / record_call_url
  std::string upload_url;  // empty: no upload
  std::string status_url;
  std::string unsupported;  // a format or direction that cannot be recorded: why
};

// The step's settings with the method's defaults (`background`: record_call's). An Error for
// arguments of the wrong type; a format or direction swmld cannot record is `unsupported`.
Result<RecordSettings> record_settings(Call& c, const Value& args, bool background);

// "finished", "no_input" or "error": the callback state of a finished recording.
const char* record_state(const call::RecordResult& r);

std::string direction_name(call::RecordRequest::Direction d);

// `finish` once the recording is complete: after its upload when one is configured (a
// failed upload turns the result into an error; the local file is then kept).
std::function<void(call::RecordResult)> after_upload(
    Call& c, const RecordSettings& s, std::function<void(call::RecordResult)> finish);

}  // namespace swmld::engine::methods
