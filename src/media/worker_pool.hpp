// The media workers: a few threads that decode files, resample and synthesise speech, so
// that none of it runs on a media tick, the SIP thread or an engine strand. Bounded queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "swmld/core/task.hpp"

namespace swmld::media {

class WorkerPool {
 public:
  WorkerPool(int threads, std::size_t max_queue, std::string name);
  ~WorkerPool();  // runs nothing more: queued jobs are dropped (destroyed unrun)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. False (and `job` dropped) when the queue is full or the pool stopped.
  bool post(Task job);
  std::size_t queued() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> jobs_;
  std::size_t max_queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace swmld::media
