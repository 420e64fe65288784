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

JobListener::JobListener(DbOptions options, std::string channel, Logger* log,
                         double heartbeat_seconds)
    : options_(std::move(options)),
      heartbeat_seconds_(heartbeat_seconds),
      channel_(std::move(channel)),
      log_(log) {
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
    backend_pid_ = conn_->backendpid();
    last_heard_ = std::chrono::steady_clock::now();
  } catch (const std::exception& e) {
    receiver_.reset();
    conn_.reset();
    return StatusFromDbException(e, "listen");
  }
  return absl::OkStatus();
}

void JobListener::Lost(const std::string& why) {
  ++losses_;
  log_->Warn("notification connection lost; polling until it is back",
             {{"channel", channel_}, {"error", why}});
  receiver_.reset();
  conn_.reset();
}

bool JobListener::Alive() {
  try {
    pqxx::nontransaction tx(*conn_);
    tx.exec("SELECT 1");
    tx.commit();
  } catch (const std::exception& e) {
    Lost(e.what());
    return false;
  }
  if (conn_->backendpid() != backend_pid_) {
    Lost("the connection was re-established behind the listener");
    return false;
  }
  last_heard_ = std::chrono::steady_clock::now();
  return true;
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
      if (conn_->await_notification(slice / 1000000, slice % 1000000) > 0) {
        last_heard_ = Clock::now();
      }
    } catch (const std::exception& e) {
      Lost(e.what());
      continue;
    }
    if (!conn_->is_open()) {
      Lost("the connection is closed");
      continue;
    }
    if (Clock::now() - last_heard_ >= std::chrono::duration<double>(heartbeat_seconds_)) {
      Alive();
    }
  }
  return false;
}

}  // namespace lethe::worker
