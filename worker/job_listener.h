// Wakes the worker when work may be available: LISTEN on the channel lethe-server notifies
// when it queues a request (and workers notify when they queue a job), on a connection of
// its own. Polling stays the fallback: Wait() returns after the timeout even if nothing
// arrived, and a lost connection degrades to polling until it is reopened.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/db.h"
#include "common/logging.h"

namespace lethe::worker {

inline constexpr char kJobsChannel[] = "lethe_jobs";

class JobListener {
 public:
  JobListener(DbOptions options, std::string channel, Logger* log);
  ~JobListener();

  // Opens the connection and starts listening; call before the first claim so no
  // notification sent in between is missed. Failing here is not fatal (polling).
  absl::Status Connect();

  // Returns true when a notification arrived (or was already pending), false after
  // `timeout_seconds` or Interrupt().
  bool Wait(double timeout_seconds);
  void Interrupt() { interrupted_ = true; }

 private:
  class Receiver;
  DbOptions options_;
  std::string channel_;
  Logger* log_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Receiver> receiver_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> interrupted_{false};
};

}  // namespace lethe::worker
