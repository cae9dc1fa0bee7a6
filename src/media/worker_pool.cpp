// WorkerPool: a mutex, a condition variable and a bounded deque of jobs.
#include "worker_pool.hpp"

#include <spdlog/spdlog.h>

#include "swmld/core/thread_name.hpp"

namespace swmld::media {

WorkerPool::WorkerPool(int threads, std::size_t max_queue, std::string name)
    : max_queue_(max_queue) {
  for (int i = 0; i < std::max(1, threads); ++i)
    threads_.emplace_back([this, name, i] {
      name_this_thread(name + "-" + std::to_string(i));
      run();
    });
}

WorkerPool::~WorkerPool() {
  std::deque<Task> dropped;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    dropped.swap(jobs_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::post(Task job) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || jobs_.size() >= max_queue_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

void WorkerPool::run() {
  for (;;) {
    Task job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("media: a worker job threw: {}", e.what());
    }
  }
}

}  // namespace swmld::media
