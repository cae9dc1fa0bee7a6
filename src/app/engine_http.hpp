// The engine's HttpClient port (the `request` method) over the libcurl worker.
#pragma once

#include <memory>

#include "swmld/engine/ports.hpp"
#include "swmld/http/client.hpp"

namespace swmld::app {

// `client` must outlive the returned object and every request it sends.
std::shared_ptr<engine::HttpClient> make_engine_http(http::Client& client);

}  // namespace swmld::app
