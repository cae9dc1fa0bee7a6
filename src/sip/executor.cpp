// SipExecutor: eventfd + queue posting into the SIP thread, timerfd-driven timers.
#include "executor.hpp"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace swmld::sip {
namespace {
constexpr int kDrainRounds = 8;  // rounds of tasks-posting-tasks before Sofia gets its turn

void signal(int fd) {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}
}  // namespace

SipExecutor::SipExecutor()
    : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      timer_fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {}

SipExecutor::~SipExecutor() {
  close();
  if (fd_ >= 0) ::close(fd_);
  if (timer_fd_ >= 0) ::close(timer_fd_);
}

bool SipExecutor::post(Task fn) {
  bool wake;
  bool local;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    local = on_sip_thread();
    wake = queue_.empty() && !(local && draining_);
    queue_.push_back(std::move(fn));
  }
  if (wake) wake_loop(local);
  return true;
}

void SipExecutor::run(Task fn) {
  if (on_sip_thread())
    fn();
  else
    post(std::move(fn));
}

std::size_t SipExecutor::on_eventfd() {
  std::uint64_t count;
  [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
  return drain();
}

std::size_t SipExecutor::drain() {
  std::size_t ran = 0;
  for (int round = 0; round < kDrainRounds; ++round) {
    {
      std::lock_guard lock(mutex_);
      draining_ = true;
      batch_.swap(queue_);
      if (batch_.empty()) break;
    }
    for (auto& fn : batch_) fn();
    ran += batch_.size();
    batch_.clear();
  }
  bool more;
  {
    std::lock_guard lock(mutex_);
    draining_ = false;
    more = !queue_.empty();
  }
  if (more) wake_loop(true);  // a task chain is still going: continue after Sofia's turn
  return ran;
}

void SipExecutor::wake_loop(bool on_sip_thread) {
  if (on_sip_thread && local_wakeup_)
    local_wakeup_();
  else
    signal(fd_);
}

SipExecutor::TimerId SipExecutor::arm(Clock::time_point deadline, Task fn) {
  std::lock_guard lock(mutex_);
  if (closed_) return 0;
  TimerId id = next_timer_++;
  timers_.emplace(std::make_pair(deadline, id), std::move(fn));
  deadlines_.emplace(id, deadline);
  if (deadline < timerfd_at_) set_timerfd(deadline);
  return id;
}

void SipExecutor::cancel(TimerId id) {
  Task dropped;  // destroyed outside the lock: it may own anything
  std::lock_guard lock(mutex_);
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  auto node = timers_.find({it->second, id});
  if (node != timers_.end()) {
    dropped = std::move(node->second);
    timers_.erase(node);
  }
  deadlines_.erase(it);
}

std::size_t SipExecutor::pending_timers() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

std::size_t SipExecutor::fire_due() {
  std::uint64_t expirations;
  [[maybe_unused]] auto n = ::read(timer_fd_, &expirations, sizeof expirations);
  std::vector<Task> due;
  {
    std::lock_guard lock(mutex_);
    timerfd_at_ = Clock::time_point::max();
    auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
      auto node = timers_.begin();
      deadlines_.erase(node->first.second);
      due.push_back(std::move(node->second));
      timers_.erase(node);
    }
    if (!timers_.empty()) set_timerfd(timers_.begin()->first.first);
  }
  for (auto& fn : due) fn();
  return due.size();
}

void SipExecutor::set_timerfd(Clock::time_point at) {
  timerfd_at_ = at;
  auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch());
  itimerspec spec{};
  // 0 would disarm the timerfd: a deadline at or before the clock's epoch fires at once.
  long long ns = std::max<long long>(since_epoch.count(), 1);
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void SipExecutor::close() {
  std::vector<Task> dropped;
  std::map<std::pair<Clock::time_point, TimerId>, Task> dropped_timers;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(queue_);
    dropped_timers.swap(timers_);
    deadlines_.clear();
  }
  sip_thread_ = std::thread::id();  // a later thread may reuse the id
}

}  // namespace swmld::sip
