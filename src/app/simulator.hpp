// `swmld simulate`: runs a document on the real interpreter against a simulated call and
// prints one JSON line per action the call would take (design.md §7).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace swmld::app {

struct SimulateOptions {
  std::string file;
  std::vector<std::string> vars;     // k=v
  std::vector<std::string> params;   // k=v
  std::vector<std::string> envs;     // k=v
  std::string from = "sip:+15550100@127.0.0.1";
  std::string to = "sip:swml@127.0.0.1";
  std::string call_id = "00000000-0000-4000-8000-000000000001";
  std::string dtmf;                  // digits the caller presses (type-ahead, in order)
  std::vector<std::string> refer_outcomes;  // one per sip_refer, the last repeats
  std::vector<std::string> connect_outcomes;  // one per dialled destination, the last repeats
  std::string http_fixture;          // folder answering HTTP requests and document fetches
  bool realtime = false;             // wait real time instead of simulated time
};

// Returns the process exit code: 0 when the document ran to its end (or hung up),
// 1 when loading failed or a runtime error ended the call, 2 for bad options.
int simulate(const SimulateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace swmld::app
