#pragma once
// Names the calling thread, so `top -H`, `perf` and /proc/PID/task/*/comm tell swmld's
// threads apart. Linux keeps 15 bytes of it; longer names are cut, never refused.
#include <pthread.h>

#include <string>

namespace swmld {

inline void name_this_thread(std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace swmld
