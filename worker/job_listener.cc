#include "worker/job_listener.h"

#include <chrono>
#include <thread>

namespace lethe::worker {

class JobListener::Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& conn, const std::string& channel, std::atomic<bool>* flag)
      : pqxx::notification_receiver(conn, channel), flag_(flag) {}
  void operator()(const std::string&, int) override { *flag_ = true; }

 private:
  std::atomic<bool>* flag_;
};

JobListener::JobListener(DbOptions options, std::string channel, Logger* log)
    : options_(std::move(options)), channel_(std::move(channel)), log_(log) {
  options_.application_name = "lethe-worker-listen";
}

JobListener::~JobListener() {
  receiver_.reset();
  conn_.reset();
}

absl::Status JobListener::Connect() {
  receiver_.reset();
  conn_.reset();
  auto conn = OpenConnection(options_);
  if (!conn.ok()) return conn.status();
  try {
    conn_ = std::move(*conn);
    receiver_ = std::make_unique<Receiver>(*conn_, channel_, &notified_);
    conn_->get_notifs();  // issues LISTEN now
  } catch (const std::exception& e) {
    receiver_.reset();
    conn_.reset();
    return StatusFromDbException(e, "listen");
  }
  return absl::OkStatus();
}

bool JobListener::Wait(double timeout_seconds) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
  constexpr long kSliceMicros = 200000;  // Interrupt() is noticed within this
  while (!interrupted_) {
    if (notified_.exchange(false)) return true;
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    long slice = std::min<long>(kSliceMicros, long(left.count()));
    if (!conn_) {
      std::this_thread::sleep_for(std::chrono::microseconds(slice));
      if (!Connect().ok()) continue;
      log_->Info("listening for jobs again", {{"channel", channel_}});
      return true;  // something may have been queued while we were deaf
    }
    try {
      conn_->await_notification(slice / 1000000, slice % 1000000);
    } catch (const std::exception& e) {
      log_->Warn("notification connection lost; polling until it is back",
                 {{"error", std::string(e.what())}});
      receiver_.reset();
      conn_.reset();
    }
  }
  return false;
}

}  // namespace lethe::worker
