// SipExecutor: eventfd + deque posting into the SIP thread.
#include "executor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace swmld::sip {

SipExecutor::SipExecutor() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

SipExecutor::~SipExecutor() {
  close();
  if (fd_ >= 0) ::close(fd_);
}

bool SipExecutor::post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    wake = queue_.empty();
    queue_.push_back(std::move(fn));
  }
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  return true;
}

void SipExecutor::run(std::function<void()> fn) {
  if (on_sip_thread())
    fn();
  else
    post(std::move(fn));
}

std::size_t SipExecutor::drain() {
  std::uint64_t count;
  [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  // Closures posted while this batch runs land in queue_ and wrote the eventfd again.
  for (auto& fn : batch) fn();
  return batch.size();
}

void SipExecutor::close() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(queue_);
  }
  sip_thread_ = std::thread::id();  // a later thread may reuse the id
}

}  // namespace swmld::sip
