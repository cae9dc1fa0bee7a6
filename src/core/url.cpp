// URL helpers that keep passwords out of logs and signatures. Pure string code, any thread.
#include <string>
#include <string_view>

#include "swmld/core/url.hpp"

namespace swmld {
namespace {

struct Userinfo {
  std::size_t begin = 0;  // first character of the userinfo
  std::size_t end = 0;    // the '@' that ends it
  bool found = false;
};

// The userinfo of "scheme://user:pass@host/..."; the authority ends at the first '/', '?'
// or '#', and its last '@' ends the userinfo (passwords may contain '@' only encoded, but
// be lenient).
Userinfo find_userinfo(std::string_view url) {
  Userinfo u;
  std::size_t scheme_end = url.find("://");
  u.begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::size_t authority_end = url.find_first_of("/?#", u.begin);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::size_t at = url.substr(0, authority_end).rfind('@');
  if (at != std::string_view::npos && at >= u.begin) {
    u.end = at;
    u.found = true;
  }
  return u;
}

}  // namespace

bool is_http_url(std::string_view s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

std::string mask_credentials(std::string_view url) {
  Userinfo u = find_userinfo(url);
  if (!u.found) return std::string(url);
  std::string_view userinfo = url.substr(u.begin, u.end - u.begin);
  std::size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(url);  // a user name, no password
  std::string out(url.substr(0, u.begin));
  out.append(userinfo.substr(0, colon)).append(":***");
  out.append(url.substr(u.end));
  return out;
}

std::string strip_credentials(std::string_view url) {
  Userinfo u = find_userinfo(url);
  if (!u.found) return std::string(url);
  std::string out(url.substr(0, u.begin));
  out.append(url.substr(u.end + 1));
  return out;
}

}  // namespace swmld
