// `swmld check`: the loader's errors for each file, nothing for a valid one.
#include "check.hpp"

#include "config.hpp"
#include "route_table.hpp"
#include "swmld/sip/stack.hpp"
#include "swmld/swml/loader.hpp"

namespace swmld::app {

int check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err,
          bool quiet) {
  int rc = 0;
  for (const auto& file : files) {
    std::vector<Error> errors;
    auto doc = swml::load_file(file, &errors);
    if (doc) {
      if (!quiet) out << file << ": ok\n";
      continue;
    }
    rc = 1;
    if (errors.empty()) errors.push_back(doc.error());
    for (const auto& e : errors) err << e.str() << '\n';
  }
  return rc;
}

int check_config(const std::string& file, std::ostream& out, std::ostream& err, bool quiet) {
  // An error without a place is about this file (validate() knows keys, not lines).
  auto report = [&](Error e) {
    if (e.pos.file.empty()) e.pos.file = file;
    err << e.str() << '\n';
    return 1;
  };
  auto config = load_config(file);
  if (!config) return report(config.error());
  if (auto s = validate(*config); !s) return report(s.error());
  // The TLS files, as the SIP stack would read them at start.
  for (const auto& address : config->sip_listen) {
    if (address.rfind("tls:", 0) != 0) continue;
    sip::TlsConfig tls{config->sip_tls_cert_file, config->sip_tls_key_file,
                       config->sip_tls_ca_file, config->sip_tls_verify_peer};
    if (auto s = sip::check_tls_files(tls); !s) return report(s.error());
    break;
  }
  std::vector<Error> document_errors;
  auto routes = RouteTable::build(*config, &document_errors);
  if (!routes) {
    // Documents' own errors are located in their files, as `swmld check` prints them.
    if (document_errors.empty()) return report(routes.error());
    for (const auto& e : document_errors) err << e.str() << '\n';
    return 1;
  }
  if (!quiet)
    out << file << ": ok (" << (*routes)->size() << " route(s), " << (*routes)->documents()
        << " document(s))\n";
  return 0;
}

}  // namespace swmld::app
