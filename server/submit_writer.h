// Group commit for submits. A commit waits for the WAL to reach disk (synchronous_commit
// stays on: an acknowledged request must survive a crash), which costs milliseconds on
// real disks, and audit appends are serialised by the chain head lock. So one writer
// thread takes every submit queued meanwhile and writes them in ONE transaction (one
// statement for the requests and their items, one audit batch, one fsync); each caller
// is answered after that commit. Idempotency races resolve through
// ON CONFLICT DO NOTHING: a request whose key was taken meanwhile comes back as
// not inserted, and the caller compares bodies.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "common/db.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "engine/base/json.h"

namespace lethe {

struct PreparedItem {
  std::optional<std::string> item_id;  // nullopt: unmatched upload
  std::string sha256;
  std::optional<std::string> upload_name;
  const std::string* image = nullptr;  // uploaded PNG bytes, kept until completion
};

// One validated submit, ready to insert. Pointers refer to the caller's request, which
// outlives the write (the caller waits for it).
struct PreparedSubmit {
  std::string id;  // new request UUID
  std::string idempotency_key;
  std::string body_sha256;
  Principal requester;
  std::string model;
  std::string kind;
  std::optional<int> class_label;
  std::string mode;
  std::string substitute;
  std::string params_json;
  std::string subject_hash;
  std::string legal_ground;
  std::string legal_ground_text;
  bool forget_unmatched_images = false;
  int item_count = 0;
  int image_count = 0;
  int unmatched_image_count = 0;
  std::vector<PreparedItem> items;
  Json audit_payload;
  int64_t due_days = 30;
};

struct WriteResult {
  bool inserted = false;  // false: the idempotency key already exists
  int64_t received_us = 0;
  int64_t due_us = 0;
};

// Declares the writer's prepared statement on a new pool connection.
void PrepareSubmitWriterStatements(pqxx::connection& conn);
extern const char kSubmitBatchStatement[];

class SubmitWriter {
 public:
  // `metrics` may be null.
  SubmitWriter(DbPool* db, Logger* log, ServerMetrics* metrics, int max_batch,
               int64_t max_batch_items = 100000);
  ~SubmitWriter();  // Stop()s

  // Queues the submit and blocks until its transaction committed (or failed). A submit
  // whose deadline passes before its batch starts is not written (DEADLINE_EXCEEDED).
  absl::StatusOr<WriteResult> Write(const PreparedSubmit& submit,
                                    std::optional<std::chrono::system_clock::time_point> deadline);

  // Finishes the queued work, then stops the thread; later writes fail with UNAVAILABLE.
  void Stop();

  struct Stats {
    int64_t batches = 0;
    int64_t submits = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    const PreparedSubmit* submit;
    std::optional<std::chrono::system_clock::time_point> deadline;
    std::promise<absl::StatusOr<WriteResult>> done;
  };
  void Loop();
  void WriteBatch(std::vector<Pending*>& batch);

  DbPool* db_;
  Logger* log_;
  ServerMetrics* metrics_;
  const int max_batch_;
  const int64_t max_batch_items_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace lethe
