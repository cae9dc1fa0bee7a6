// MediaThread: the io_context thread and its paced tick.
#include "media_thread.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "stream.hpp"
#include "swmld/core/thread_name.hpp"

namespace swmld::media {
namespace {

constexpr auto kLate = std::chrono::milliseconds(5);      // a tick this late is counted
constexpr auto kResync = std::chrono::milliseconds(200);  // this late: start the grid anew

}  // namespace

MediaThread::MediaThread(int index, MediaCounters& counters) : counters_(counters) {
  thread_ = std::thread([this, index] {
    name_this_thread("swmld-media-" + std::to_string(index));
    io_.run();
  });
}

MediaThread::~MediaThread() {
  stop();
}

void MediaThread::stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  io_.stop();
  thread_.join();
}

void MediaThread::run(Task command) {
  bool post = false;
  {
    std::lock_guard lock(commands_mu_);
    commands_.push_back(std::move(command));
    if (!ticking_shared_ && !wake_posted_) post = wake_posted_ = true;
  }
  if (post) boost::asio::post(io_, [this] { drain(); });
}

void MediaThread::drain() {
  std::vector<Task> batch;
  {
    std::lock_guard lock(commands_mu_);
    batch.swap(commands_);
    wake_posted_ = false;
  }
  for (auto& command : batch) command();
}

void MediaThread::add(std::shared_ptr<Stream> stream) {
  // Few streams share one wake-up per 20 ms (it is short, and a wake-up has a fixed cost);
  // more are spread over the phases, to the least busy one.
  auto least = streams_ < kSpreadAt
                   ? phases_.begin()
                   : std::min_element(phases_.begin(), phases_.end(),
                                      [](const auto& a, const auto& b) { return a.size() < b.size(); });
  stream->phase = static_cast<std::size_t>(least - phases_.begin());
  stream->slot = least->size();
  least->push_back(std::move(stream));
  if (++streams_ == 1 && !ticking_) {
    ticking_ = true;
    {
      std::lock_guard lock(commands_mu_);
      ticking_shared_ = true;
    }
    next_ = Clock::now() + kTick / kPhases;
    phase_ = static_cast<std::size_t>(least - phases_.begin());  // its first wake-up: this one
    arm();
  }
}

void MediaThread::remove(Stream* stream) {
  auto& list = phases_[stream->phase];
  std::size_t i = stream->slot;
  if (i >= list.size() || list[i].get() != stream) return;
  if (i + 1 != list.size()) {
    list[i] = std::move(list.back());
    list[i]->slot = i;
  }
  list.pop_back();  // may destroy `stream`
  if (--streams_ == 0 && ticking_) {
    ticking_ = false;
    timer_.cancel();
    // No tick will drain commands queued meanwhile: post a drain for them.
    std::lock_guard lock(commands_mu_);
    ticking_shared_ = false;
    if (!commands_.empty() && !wake_posted_) {
      wake_posted_ = true;
      boost::asio::post(io_, [this] { drain(); });
    }
  }
}

void MediaThread::arm() {
  timer_.expires_at(next_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && ticking_) on_tick();
  });
}

void MediaThread::on_tick() {
  const auto now = Clock::now();
  if (now - next_ > kLate) ++counters_.late_ticks;
  drain();  // commands first: a play asked for since the last wake-up starts now
  if (!ticking_) return;  // the commands closed the last stream
  // Streams never leave the list from inside on_tick (they close on commands only). They
  // count their slots on the wake-up's own deadline, not on when it woke: their packet
  // clocks stay in phase with the grid however late a single wake-up is.
  std::size_t sent = 0;
  for (const auto& stream : phases_[phase_]) sent += stream->on_tick(next_, now);
  counters_.packets_sent += sent;
  // On to the next phase that has streams (an empty one needs no wake-up).
  for (std::size_t i = 0; i < kPhases; ++i) {
    phase_ = (phase_ + 1) % kPhases;
    next_ += kTick / kPhases;
    if (!phases_[phase_].empty()) break;
  }
  if (now - next_ > kResync) next_ = now + kTick / kPhases;  // stalled far behind: a new grid
  arm();
}

}  // namespace swmld::media
