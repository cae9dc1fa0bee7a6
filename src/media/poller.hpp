// Poller: the RTP sockets of one media thread in an epoll set of their own, which the
// thread's io_context waits on as one descriptor.
//
// Why not an Asio socket per stream: Asio re-arms a descriptor with epoll_ctl(MOD) for every
// async_wait (it may not complete a wait speculatively), so a stream that waits, reads its
// one packet and waits again costs a system call per received packet beside the read
// (bench/relay_load: epoll_ctl was a third of the relay's system calls at 500 calls). Here
// each socket is added once (edge-triggered) when its stream starts and removed when it
// closes; one wake-up of the thread hands over every socket that became readable since the
// last, and the set is re-armed once per wake-up, not once per packet.
//
// Media thread only (the thread whose io_context it was made with). A reader is called
// with its socket readable (edge-triggered: it reads until the socket is drained, or
// arranges to come back itself); removing a reader, also from inside another reader's
// call, means it is not called again, not even for an event of the same wake-up.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <vector>

namespace swmld::media {

class Poller {
 public:
  class Reader {
   public:
    virtual void on_readable() = 0;

   protected:
    ~Reader() = default;
  };
  using Token = std::uint64_t;  // a registration: its slot and the slot's generation

  explicit Poller(boost::asio::io_context& io);  // throws std::system_error (epoll_create1)
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Watches `fd` for input until remove(). False (errno set) when epoll refuses it.
  bool add(int fd, Reader& reader, Token& token);
  void remove(int fd, Token token);
  std::size_t watched() const { return watched_; }

 private:
  void arm();
  void dispatch();

  struct Slot {
    Reader* reader = nullptr;
    std::uint32_t generation = 0;
  };
  boost::asio::posix::stream_descriptor set_;  // the epoll descriptor, in the io_context
  int epfd_ = -1;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;  // unused slots
  std::size_t watched_ = 0;
  bool armed_ = false;
};

}  // namespace swmld::media
