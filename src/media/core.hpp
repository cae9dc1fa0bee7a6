// What every session of a Service shares: the configuration, the port pool, the media
// threads and the audio loader. Sessions hold it (shared) so it outlives the last of them.
// Members are destroyed in reverse order: the loader's workers are joined first, then the
// media threads (their streams give ports back to the pool, which is still there).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "media_thread.hpp"
#include "port_pool.hpp"
#include "recorder.hpp"
#include "sounds.hpp"
#include "swmld/media/service.hpp"

namespace swmld::media {

class Core {
 public:
  Core(MediaConfig c, Fetcher fetcher);
  // Stops the media threads, then closes the ports' kept sockets while the threads'
  // io_contexts still exist, before the members go.
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  MediaThread& pick_thread() { return *threads[next_thread++ % threads.size()]; }

  const MediaConfig config;
  PortPool ports;
  MediaCounters counters;
  std::vector<std::unique_ptr<MediaThread>> threads;
  AudioLoader loader;
  // Recordings' writers: destroyed (after running what is queued) before the loader.
  std::unique_ptr<RecordWriter> recorder;
  std::atomic<std::uint64_t> next_session_id;
  std::atomic<std::int64_t> recordings_active{0};

 private:
  std::atomic<std::size_t> next_thread{0};
};

}  // namespace swmld::media
