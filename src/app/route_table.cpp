// Building and matching the route table (see route_table.hpp).
#include "route_table.hpp"

#include <regex>

#include "swmld/core/url.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::app {

Result<std::shared_ptr<const RouteTable>> RouteTable::build(const Config& config,
                                                            std::vector<Error>* document_errors) {
  auto table = std::make_shared<RouteTable>();
  table->routes_ = config.routes;
  std::optional<Error> first;
  for (const auto& route : table->routes_) {
    if (is_http_url(route.swml) || table->documents_.count(route.swml)) continue;
    std::vector<Error> errors;
    auto doc = swml::load_file(route.swml, &errors);
    if (doc) {
      table->documents_[route.swml] = *doc;
      continue;
    }
    if (document_errors) {
      if (errors.empty()) errors.push_back(doc.error());
      document_errors->insert(document_errors->end(), errors.begin(), errors.end());
    }
    if (!first) first = make_error(doc.error().code, route.name + ": " + doc.error().str());
    // A failed path is not loaded twice (its errors would be reported twice).
    table->documents_[route.swml] = nullptr;
  }
  if (first) return *first;
  std::string err;
  table->sources_ = http::HostPolicy::make(config.allow_sources, false, &err);
  if (!err.empty())
    return make_error(ErrorCode::element_invalid_value,
                      "config key 'limits.allow_sources': " + err);
  for (const auto& route : table->routes_) {
    table->route_sources_.push_back(http::HostPolicy::make(route.match.source, false, &err));
    if (!err.empty())
      return make_error(ErrorCode::element_invalid_value,
                        "config key '" + route.name + ".match.source': " + err);
  }
  for (const auto& route : table->routes_) {
    std::shared_ptr<sip::DigestAuth> auth;
    if (route.auth.required()) {
      std::vector<sip::DigestUser> users;
      for (const auto& u : route.auth.users) users.push_back({u.username, u.password});
      auto made = sip::DigestAuth::create(route.auth.realm, std::move(users));
      if (!made)
        return make_error(ErrorCode::element_invalid_value,
                          "config key '" + route.name + ".auth': " + made.error().message);
      auth = std::move(*made);
    }
    table->route_auth_.push_back(std::move(auth));
  }
  return std::shared_ptr<const RouteTable>(std::move(table));
}

const Route* RouteTable::match(std::string_view user_view, std::string_view to_user_view,
                               const std::string& source_ip) const {
  std::string user(user_view);
  std::string to_user(to_user_view);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    const RouteMatch& m = r.match;
    if (m.user && *m.user != user) continue;
    if (m.user_regex && !std::regex_match(user, *m.user_regex)) continue;
    if (m.to_user && *m.to_user != to_user) continue;
    if (m.to_user_regex && !std::regex_match(to_user, *m.to_user_regex)) continue;
    if (route_sources_[i].restricts() && !route_sources_[i].check(source_ip, source_ip).empty())
      continue;
    return &r;
  }
  return nullptr;
}

bool RouteTable::admits(const std::string& source_ip) const {
  return !sources_.restricts() || sources_.check(source_ip, source_ip).empty();
}

sip::DigestAuth* RouteTable::auth(const Route& route) const {
  auto i = static_cast<std::size_t>(&route - routes_.data());
  return i < route_auth_.size() ? route_auth_[i].get() : nullptr;
}

swml::DocumentPtr RouteTable::document(const Route& route) const {
  auto it = documents_.find(route.swml);
  return it == documents_.end() ? nullptr : it->second;
}

}  // namespace swmld::app
