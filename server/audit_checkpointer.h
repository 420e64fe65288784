// Signed checkpoints of the audit log's Merkle tree. The operator's Ed25519 key signs the
// current tree head (size, root, time) and every checkpoint is kept in audit_checkpoints:
// on a schedule, soon after a forget request reached a final state, and when a caller asks
// for the current one. Before signing, the tree must still extend the newest stored
// checkpoint; a server never signs a truncated or rewritten log (it refuses and says so).
// Without a key the server runs, but has no checkpoints to give.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/signed_note.h"
#include "common/tlog_checkpoint.h"

namespace lethe {

struct StoredCheckpoint {
  int64_t id = 0;
  TlogCheckpoint checkpoint;
  std::string note;
  std::string key_name;
  std::string key_id;  // 8 hex digits
};

// Reads a key file of --audit-verify-keys: one PEM public key (named `name`) or verifier
// key lines ("NAME+KEYID+BASE64"; blank lines and # comments are skipped).
absl::StatusOr<std::vector<NoteVerifier>> LoadVerifierKeys(const std::string& path,
                                                           const std::string& name);

class AuditCheckpointer {
 public:
  struct Options {
    std::string origin;
    std::string signing_key_path;  // "" = no signing
    std::vector<std::string> verify_key_paths;
    int64_t interval_s = 3600;
    int64_t poll_s = 5;
  };
  static absl::StatusOr<std::unique_ptr<AuditCheckpointer>> Create(DbPool* db, Options options,
                                                                   ServerMetrics* metrics,
                                                                   Logger* log);
  ~AuditCheckpointer();

  bool can_sign() const { return signer_ != nullptr; }
  // The signing key's verifier first, then the extra keys.
  const std::vector<NoteVerifier>& verifiers() const { return verifiers_; }

  // The newest checkpoint, signing a new one first when the log grew since (or always,
  // with `force`). FAILED_PRECONDITION without a key; DATA_LOSS when the tree no longer
  // extends the newest stored checkpoint.
  absl::StatusOr<StoredCheckpoint> Current(
      bool force, std::optional<std::chrono::system_clock::time_point> deadline = std::nullopt);

  // The background loop (no-op without a key); Stop() is idempotent.
  void Start();
  void Stop();

 private:
  AuditCheckpointer(DbPool* db, Options options, ServerMetrics* metrics, Logger* log)
      : db_(db), options_(std::move(options)), metrics_(metrics), log_(log) {}
  void Loop();
  // One pass of the loop: signs when due; returns after updating the age gauge.
  void Tick();

  DbPool* db_;
  Options options_;
  ServerMetrics* metrics_;
  Logger* log_;
  std::unique_ptr<NoteSigner> signer_;
  std::vector<NoteVerifier> verifiers_;

  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace lethe
