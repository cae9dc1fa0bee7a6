// Poller: see poller.hpp.
#include "poller.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <system_error>

namespace swmld::media {
namespace {

constexpr int kEvents = 128;  // sockets handed over per wake-up; more wait for the next

int make_epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}

Poller::Token token_of(std::uint32_t slot, std::uint32_t generation) {
  return static_cast<Poller::Token>(generation) << 32 | slot;
}

}  // namespace

Poller::Poller(boost::asio::io_context& io) : set_(io, make_epoll()) {
  epfd_ = set_.native_handle();
}

Poller::~Poller() {
  boost::system::error_code ec;
  set_.close(ec);
}

bool Poller::add(int fd, Reader& reader, Token& token) {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  token = token_of(slot, s.generation);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = token;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    free_.push_back(slot);
    return false;
  }
  s.reader = &reader;
  ++watched_;
  if (!armed_) arm();
  return true;
}

void Poller::remove(int fd, Token token) {
  const auto slot = static_cast<std::uint32_t>(token);
  if (slot >= slots_.size()) return;
  Slot& s = slots_[slot];
  if (s.generation != static_cast<std::uint32_t>(token >> 32) || !s.reader) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  s.reader = nullptr;
  ++s.generation;  // an event of this wake-up still naming the old registration is ignored
  free_.push_back(slot);
  --watched_;
}

void Poller::arm() {
  // Re-arming (Asio's epoll_ctl MOD) reports the set at once if sockets are still ready.
  armed_ = true;
  set_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [this](boost::system::error_code ec) {
                    armed_ = false;
                    if (ec) return;  // closed: the thread is stopping
                    dispatch();
                    if (watched_ > 0 && !armed_) arm();  // a reader may have added one
                  });
}

void Poller::dispatch() {
  std::array<epoll_event, kEvents> events;
  int n = ::epoll_wait(epfd_, events.data(), kEvents, 0);
  for (int i = 0; i < n; ++i) {
    const Token token = events[static_cast<std::size_t>(i)].data.u64;
    const Slot& s = slots_[static_cast<std::uint32_t>(token)];
    // (`s` is not used past the call: a reader may add a socket, growing slots_.)
    if (s.reader && s.generation == static_cast<std::uint32_t>(token >> 32))
      s.reader->on_readable();
  }
}

}  // namespace swmld::media
