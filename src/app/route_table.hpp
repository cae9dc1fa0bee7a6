// The routes of one configuration, ready for calls: file documents loaded and validated,
// source networks parsed. Built whole off the SIP thread (at start-up and at each reload),
// then only read: a call takes what it needs from it at INVITE time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "swmld/core/error.hpp"
#include "swmld/http/host_policy.hpp"
#include "swmld/sip/digest_auth.hpp"
#include "swmld/swml/document.hpp"

namespace swmld::app {

class RouteTable {
 public:
  // Loads the document of every file route (once per path) and parses limits.allow_sources
  // and each route's match.source. The first failure is the Error, prefixed with the route
  // or key it belongs to; every error of the documents (file:line:col) is also appended to
  // `document_errors` when given, so `swmld check --config` can show them all.
  static Result<std::shared_ptr<const RouteTable>> build(
      const Config& config, std::vector<Error>* document_errors = nullptr);

  // The first route whose conditions all hold for this INVITE, or null. Any thread.
  const Route* match(std::string_view user, std::string_view to_user,
                     const std::string& source_ip) const;
  // Whether limits.allow_sources lets `source_ip` call.
  bool admits(const std::string& source_ip) const;
  // The document of a file route (null for a URL route).
  swml::DocumentPtr document(const Route& route) const;
  // routes[].auth of a route this table returned: null when the route needs none. The
  // checker counts failures: use it on the SIP thread only.
  sip::DigestAuth* auth(const Route& route) const;

  std::size_t size() const { return routes_.size(); }
  std::size_t documents() const { return documents_.size(); }

 private:
  std::vector<Route> routes_;
  std::vector<http::HostPolicy> route_sources_;         // routes_[i].match.source
  std::vector<std::shared_ptr<sip::DigestAuth>> route_auth_;  // routes_[i].auth; null: none
  http::HostPolicy sources_;                            // limits.allow_sources
  std::map<std::string, swml::DocumentPtr> documents_;  // by path
};

}  // namespace swmld::app
