// The calling process's CPU time so far (user + system), for the benchmark programs' reports.
#pragma once

#include <sys/resource.h>

namespace swmld::bench {

inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace swmld::bench
