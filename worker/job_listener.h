// Wakes the worker when work may be available: LISTEN on the channel lethe-server notifies
// when it queues a request (and workers notify when they queue a job), on a connection of
// its own. Polling stays the fallback: Wait() returns after the timeout even if nothing
// arrived, and a lost connection degrades to polling until it is reopened.
//
// A LISTEN connection is silent while idle, so a dead one looks like a quiet one: the
// listener sends a trivial query every `heartbeat_seconds` of silence, and treats
// libpqxx's transparent reconnection (a new backend pid: it re-LISTENs but hides that
// notifications were lost) as a loss too, so a killed or restarted PostgreSQL is noticed
// within seconds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/db.h"
#include "common/logging.h"

namespace lethe::worker {

inline constexpr char kJobsChannel[] = "lethe_jobs";

class JobListener {
 public:
  JobListener(DbOptions options, std::string channel, Logger* log, double heartbeat_seconds = 2.0);
  ~JobListener();

  // Opens the connection and starts listening; call before the first claim so no
  // notification sent in between is missed. Failing here is not fatal (polling).
  absl::Status Connect();

  // Returns true when a notification arrived (or was already pending) or the connection was
  // lost and reopened (something may have been queued meanwhile), false after
  // `timeout_seconds` or Interrupt().
  bool Wait(double timeout_seconds);
  void Interrupt() { interrupted_ = true; }

  // How many times the connection was found lost (for tests and metrics).
  int64_t losses() const { return losses_.load(); }

 private:
  class Receiver;
  void Lost(const std::string& why);
  // Sends the heartbeat query; false when the connection is gone.
  bool Alive();

  DbOptions options_;
  double heartbeat_seconds_;
  std::string channel_;
  Logger* log_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Receiver> receiver_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> interrupted_{false};
  std::atomic<int64_t> losses_{0};
  int backend_pid_ = 0;
  std::chrono::steady_clock::time_point last_heard_;
};

}  // namespace lethe::worker
