// MediaThread: the io_context thread and its paced tick.
#include "media_thread.hpp"

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

void MediaThread::add(std::shared_ptr<Stream> stream) {
  stream->slot = streams_.size();
  streams_.push_back(std::move(stream));
  if (!ticking_) {
    ticking_ = true;
    next_ = Clock::now() + kTick;
    arm();
  }
}

void MediaThread::remove(Stream* stream) {
  std::size_t i = stream->slot;
  if (i >= streams_.size() || streams_[i].get() != stream) return;
  if (i + 1 != streams_.size()) {
    streams_[i] = std::move(streams_.back());
    streams_[i]->slot = i;
  }
  streams_.pop_back();  // may destroy `stream`
  if (streams_.empty() && ticking_) {
    ticking_ = false;
    timer_.cancel();
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
  // Streams never leave the list from inside on_tick (they close on commands only). They
  // count their slots on the tick's own deadline, not on when it woke: their packet clocks
  // stay in phase with the grid however late a single wake-up is.
  for (const auto& stream : streams_) stream->on_tick(next_, now);
  next_ += kTick;
  if (now - next_ > kResync) next_ = now + kTick;  // stalled far behind: a new grid
  arm();
}

}  // namespace swmld::media
