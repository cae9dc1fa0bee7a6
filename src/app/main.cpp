// swmld's entry point: the command line (design.md §7) dispatching to serve, check and
// simulate.
#include <iostream>

#include <CLI/CLI.hpp>

#include "check.hpp"
#include "simulator.hpp"
#include "swmld/core/log.hpp"

int main(int argc, char** argv) {
  CLI::App app{"swmld: a standalone SWML execution server"};
  app.set_version_flag("--version", std::string("swmld ") + SWMLD_VERSION);
  app.require_subcommand(1);

  auto* check_cmd = app.add_subcommand("check", "Validate SWML documents (YAML or JSON)");
  std::vector<std::string> check_files;
  bool check_verbose = false;
  check_cmd->add_option("FILE", check_files, "documents to check")->required();
  check_cmd->add_flag("-v,--verbose", check_verbose, "print 'FILE: ok' for valid documents");

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
                      "far end's answer to each REFER: 202:200, 202:486, 603, 202:timeout, "
                      "202:100,180,200, 202:terminated, 407, timeout (repeatable; last repeats)");
  sim_cmd->add_option("--http-fixture", sim.http_fixture,
                      "folder of HTTP answers: DIR/<host>/<path> (+ optional .status file)");
  sim_cmd->add_flag("--realtime", sim.realtime, "wait real time (default: simulated time)");
  sim_cmd->add_option("--log-level", sim_log_level, "log level on stderr (default off)");

  auto* serve_cmd = app.add_subcommand("serve", "Run the SIP server");
  serve_cmd->allow_extras();

  CLI11_PARSE(app, argc, argv);

  if (check_cmd->parsed()) {
    swmld::log::setup(swmld::log::Format::text, spdlog::level::warn);
    return swmld::app::check(check_files, std::cout, std::cerr, !check_verbose);
  }
  if (sim_cmd->parsed()) {
    swmld::log::setup(swmld::log::Format::text, spdlog::level::from_str(sim_log_level));
    return swmld::app::simulate(sim, std::cout, std::cerr);
  }
  if (serve_cmd->parsed()) {
    std::cerr << "swmld serve: not available yet\n";
    return 2;
  }
  return 0;
}
