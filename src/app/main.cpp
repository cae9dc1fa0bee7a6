// swmld's entry point: the command line (design.md §7) dispatching to serve, check and
// simulate.
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "check.hpp"
#include "config.hpp"
#include "server.hpp"
#include "simulator.hpp"
#include "swmld/core/log.hpp"

int main(int argc, char** argv) {
  CLI::App app{"swmld: a standalone SWML execution server"};
  app.set_version_flag("--version", std::string("swmld ") + SWMLD_VERSION);
  app.require_subcommand(1);

  auto* check_cmd = app.add_subcommand(
      "check", "Validate SWML documents (YAML or JSON), or with --config a configuration file");
  std::vector<std::string> check_files;
  std::string check_config;
  bool check_verbose = false;
  auto* check_files_opt = check_cmd->add_option("FILE", check_files, "documents to check");
  auto* check_config_opt = check_cmd->add_option(
      "-c,--config", check_config,
      "configuration file to check as `serve` would read it (with SWMLD_* variables), and the "
      "documents of its file routes; nothing starts");
  check_cmd->add_flag("-v,--verbose", check_verbose, "print 'FILE: ok' for valid documents");
  check_files_opt->excludes(check_config_opt);

  auto* sim_cmd = app.add_subcommand(
      "simulate", "Run a document on a simulated call; print one JSON line per action");
  swmld::app::SimulateOptions sim;
  std::string sim_log_level = "off";
  sim_cmd->add_option("FILE", sim.file, "the document to run")->required();
  sim_cmd->add_option("--var", sim.vars, "initial variable NAME=VALUE (repeatable)");
  sim_cmd->add_option("--param", sim.params, "initial params NAME=VALUE (repeatable)");
  sim_cmd->add_option("--env", sim.envs, "envs NAME=VALUE (repeatable)");
  sim_cmd->add_option("--from", sim.from, "caller URI (call.from)")->capture_default_str();
  sim_cmd->add_option("--to", sim.to, "called URI (call.to)")->capture_default_str();
  sim_cmd->add_option("--call-id", sim.call_id, "call.call_id")->capture_default_str();
  sim_cmd->add_option("--dtmf", sim.dtmf, "digits the caller presses, in order");
  sim_cmd->add_option("--refer-outcome", sim.refer_outcomes,
                      "far end's answer to each REFER (the caller's or a callee's leg): 202:200, "
                      "202:486, 603, 202:timeout, 202:100,180,200, 202:terminated, 407, timeout "
                      "(repeatable; last repeats)");
  sim_cmd->add_option("--connect-outcome", sim.connect_outcomes,
                      "what each destination a connect dials does, in dialling order: answered, "
                      "early (183 with SDP, then 200), busy, declined, no_answer, error, or a "
                      "status 300..699; answered:DIGITS / early:DIGITS: the callee then presses "
                      "keys (confirm) (repeatable; last repeats)");
  sim_cmd->add_option("--http-fixture", sim.http_fixture,
                      "folder of HTTP answers: DIR/<host>/<path>, with optional siblings "
                      "<path>.status (the status code) and <path>.headers ('Name: value' lines; "
                      "its Content-Type replaces the one guessed from the extension)");
  sim_cmd->add_flag("--realtime", sim.realtime, "wait real time (default: simulated time)");
  sim_cmd->add_option("--log-level", sim_log_level, "log level on stderr (default off)");

  auto* serve_cmd = app.add_subcommand("serve", "Run the SIP server");
  std::string config_file;
  std::vector<std::string> serve_sip;
  std::string serve_swml, serve_log_format, serve_log_level, serve_metrics;
  serve_cmd->add_option("-c,--config", config_file, "configuration file (YAML)");
  serve_cmd->add_option("--sip", serve_sip,
                        "listen address, e.g. udp:127.0.0.1:5060 (repeatable; replaces sip.listen)");
  serve_cmd->add_option("--swml", serve_swml, "document for every call (a catch-all route)");
  serve_cmd->add_option("--log-format", serve_log_format, "text or json");
  serve_cmd->add_option("--log-level", serve_log_level, "trace, debug, info, warn, error, off");
  serve_cmd->add_option("--metrics", serve_metrics, "metrics listen address host:port");

  CLI11_PARSE(app, argc, argv);

  if (check_cmd->parsed()) {
    swmld::log::setup(swmld::log::Format::text, spdlog::level::warn);
    if (!check_config.empty())
      return swmld::app::check_config(check_config, std::cout, std::cerr, !check_verbose);
    if (check_files.empty()) {
      std::cerr << "swmld check: give documents to check, or --config FILE\n";
      return 2;
    }
    return swmld::app::check(check_files, std::cout, std::cerr, !check_verbose);
  }
  if (sim_cmd->parsed()) {
    swmld::log::setup(swmld::log::Format::text, spdlog::level::from_str(sim_log_level));
    return swmld::app::simulate(sim, std::cout, std::cerr);
  }
  if (serve_cmd->parsed()) {
    std::vector<std::pair<std::string, std::string>> overrides;
    if (!serve_sip.empty()) {
      std::string joined;
      for (const auto& s : serve_sip) joined += (joined.empty() ? "" : ",") + s;
      overrides.emplace_back("sip.listen", joined);
    }
    if (!serve_swml.empty()) overrides.emplace_back("swml", serve_swml);
    if (!serve_log_format.empty()) overrides.emplace_back("logging.format", serve_log_format);
    if (!serve_log_level.empty()) overrides.emplace_back("logging.level", serve_log_level);
    if (!serve_metrics.empty()) overrides.emplace_back("metrics.listen", serve_metrics);
    // The file, then SWMLD_* variables, then the command line; again at each SIGHUP.
    swmld::app::Server::ConfigSource read_config =
        [config_file, overrides]() -> swmld::Result<swmld::app::Config> {
      auto config = swmld::app::load_config(config_file);
      if (!config) return config;
      for (const auto& [key, value] : overrides)
        if (auto s = swmld::app::apply_override(*config, key, value); !s) return s.error();
      if (auto s = swmld::app::validate(*config); !s) return s.error();
      return config;
    };
    auto config = read_config();
    if (!config) {
      std::cerr << "swmld: " << config.error().str() << '\n';
      return 2;
    }
    // Before any thread starts: every thread inherits the blocked signals, which only the
    // main thread takes (Server::run_until_signal).
    swmld::app::Server::block_signals();
    // The daemon logs through a background writer: no thread waits for stderr.
    swmld::log::setup(config->log_format == "json" ? swmld::log::Format::json
                                                   : swmld::log::Format::text,
                      spdlog::level::from_str(config->log_level),
                      swmld::log::background_sink(STDERR_FILENO));
    struct LogFlush {
      ~LogFlush() { swmld::log::shutdown(); }
    } flush_logs_at_exit;
    int rc = 1;
    {
      auto server = swmld::app::Server::start(std::move(*config), read_config);
      if (!server) {
        spdlog::critical("cannot start: {}", server.error().str());
        return 1;
      }
      rc = (*server)->run_until_signal();
    }  // the server and its threads are gone before the log writer stops
    return rc;
  }
  return 0;
}
