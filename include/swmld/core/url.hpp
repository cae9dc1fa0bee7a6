// URL helpers that keep passwords out of logs and signatures. Pure string code, any thread.
#pragma once

#include <string>
#include <string_view>

namespace swmld {

// True for "http://..." and "https://..." (documents, requests and callbacks use only these).
bool is_http_url(std::string_view s);

// "https://user:secret@host/x" -> "https://user:***@host/x" (for logs and error messages).
std::string mask_credentials(std::string_view url);

// "https://user:secret@host/x" -> "https://host/x" (what request signatures cover).
std::string strip_credentials(std::string_view url);

}  // namespace swmld
