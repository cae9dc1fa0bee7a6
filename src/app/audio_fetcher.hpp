// The media module's HTTP(S) GET for audio files, over the same libcurl worker, timeouts and
// allowed hosts as every other request (http.*), with how long a file may be kept.
#pragma once

#include "swmld/http/client.hpp"
#include "swmld/media/service.hpp"

namespace swmld::app {

// `client` must outlive every request (the server shuts it down before the media service).
// max_age_s: Cache-Control's max-age when the response has the header (0 for no-store,
// no-cache, private), -1 without it (the media cache then applies its default).
media::Fetcher make_audio_fetcher(http::Client& client);

}  // namespace swmld::app
