// Recordings of a leg's audio (record, record_call). A Recording is a Stream's AudioTap: on
// the media thread it only copies each packet slot's PCM (what the leg received, what its
// stream sent) into 100 ms chunks and hands them to the RecordWriter; the writer's threads
// mix, run the voice-activity detector (speexdsp) for the timeouts, encode (libsndfile: WAV,
// or MP3 through LAME) and write to `path.part`, renamed to `path` when complete. No file
// I/O on a media tick, the SIP thread or a call's strand.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stream.hpp"
#include "swmld/call/contract.hpp"

namespace swmld::media {

// Threads that run recordings' write jobs. Unlike WorkerPool, stopping runs every queued job
// first: a recording that ended is always finished on disk and its callback runs.
class RecordWriter {
 public:
  explicit RecordWriter(int threads);
  ~RecordWriter();  // runs what is queued, then joins
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;
  void post(std::function<void()> job);  // any thread

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Checks a request before anything starts: the format, the numbers. Empty when usable.
std::string check_record_request(const call::RecordRequest& request);

class Recording final : public AudioTap, public std::enable_shared_from_this<Recording> {
 public:
  // Chunks waiting for the writer beyond this are dropped (counted in RecordResult::dropped).
  static constexpr std::size_t kMaxPendingChunks = 100;  // 10 s of audio

  // `active` counts recordings not finished yet (their `done` has not returned).
  Recording(RecordWriter& writer, call::RecordRequest request,
            std::function<void(call::RecordResult)> done, std::atomic<std::int64_t>& active);
  ~Recording() override;

  // Any thread, once: the writer opens the file (an unwritable folder fails at once).
  void open();

  // ---- media thread (AudioTap) ----
  bool on_sent(const std::uint8_t* payload, std::size_t samples, Law law) override;
  void on_received(std::span<const std::uint8_t> payload, Law law) override;
  void on_digit(char digit) override;
  void on_close() override;
  // Ends it (stop_record, a terminator): what is buffered is written, then the file closed.
  void stop(std::string end, char terminator = 0);

 private:
  struct Chunk {
    std::vector<std::int16_t> speak, listen;
    bool end = false;
    std::string end_reason;
    char terminator = 0;
    double elapsed_s = 0;
  };
  void flush(bool end, std::string reason, char terminator);
  void push(Chunk chunk);
  // ---- writer (one job of this recording at a time) ----
  void drain();
  void open_file();
  void write(Chunk& chunk);
  void finish(std::string end, std::string error, char terminator = 0);
  bool is_speech(const std::int16_t* frame);

  RecordWriter& writer_;
  const call::RecordRequest request_;
  std::atomic<std::int64_t>& active_;
  bool counted_ = true;  // writer: still counted in active_

  // Media thread.
  bool ended_ = false;
  bool primed_ = false;  // enough received audio buffered to play it out
  std::chrono::steady_clock::time_point first_slot_{};
  std::vector<std::int16_t> rx_;  // received samples not yet in a slot
  Chunk current_;

  // Shared: the media thread pushes, the writer drains.
  std::mutex mu_;
  std::deque<Chunk> pending_;
  bool scheduled_ = false;
  std::atomic<bool> done_flag_{false};  // the writer finished: the tap can go
  std::atomic<std::uint64_t> dropped_{0};

  // Writer.
  std::function<void(call::RecordResult)> done_;
  struct Writer;
  std::unique_ptr<Writer> w_;
};

}  // namespace swmld::media
