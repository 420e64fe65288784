#include "server/audit_checkpointer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit_tree.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "engine/base/file_util.h"

namespace lethe {
namespace {

// pg_advisory_xact_lock key serialising checkpoint signing across servers ("lethe-ckpt"):
// the tree size is read after the lock, so it is never below a checkpoint committed
// before (which would look like a truncation).
constexpr int64_t kCheckpointLockKey = 0x6c657468652d636b;

// Requests in these states get a checkpoint that covers their last record.
constexpr char kFinalActions[] =
    "'request.completed', 'request.failed', 'request.cancelled', 'request.escalated'";

absl::StatusOr<StoredCheckpoint> FromRow(const pqxx::row& row) {
  StoredCheckpoint out;
  out.id = row[0].as<int64_t>();
  out.note = row[1].as<std::string>();
  out.key_name = row[2].as<std::string>();
  out.key_id = row[3].as<std::string>();
  ASSIGN_OR_RETURN(SignedNote note, ParseSignedNote(out.note));
  ASSIGN_OR_RETURN(out.checkpoint, ParseCheckpointText(note.text));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<NoteVerifier>> LoadVerifierKeys(const std::string& path,
                                                           const std::string& name) {
  std::string text;
  try {
    text = ReadFile(path);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path, ": ", e.what()));
  }
  absl::StatusOr<std::vector<NoteVerifier>> keys = ParseVerifierKeys(text, name);
  if (!keys.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", keys.status().message()));
  }
  return keys;
}

absl::StatusOr<std::unique_ptr<AuditCheckpointer>> AuditCheckpointer::Create(DbPool* db,
                                                                             Options options,
                                                                             ServerMetrics* metrics,
                                                                             Logger* log) {
  std::unique_ptr<AuditCheckpointer> c(new AuditCheckpointer(db, std::move(options), metrics, log));
  if (!c->options_.signing_key_path.empty()) {
    ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::FromPrivateKeyFile(
                                            c->options_.origin, c->options_.signing_key_path));
    c->signer_ = std::make_unique<NoteSigner>(std::move(signer));
    c->verifiers_.push_back(c->signer_->verifier());
  }
  for (const std::string& path : c->options_.verify_key_paths) {
    ASSIGN_OR_RETURN(std::vector<NoteVerifier> keys, LoadVerifierKeys(path, c->options_.origin));
    for (NoteVerifier& k : keys) {
      bool dup = false;
      for (const NoteVerifier& have : c->verifiers_) {
        dup = dup || (have.name() == k.name() && have.public_key() == k.public_key());
      }
      if (!dup) c->verifiers_.push_back(std::move(k));
    }
  }
  if (c->signer_) {
    log->Info("audit checkpoints are signed",
              {{"origin", c->options_.origin},
               {"verifier_key", c->signer_->verifier().VerifierKey()},
               {"extra_keys", int64_t(c->verifiers_.size() - 1)}});
  } else {
    log->Warn(
        "no --audit-signing-key: audit checkpoints are not signed and GetAuditCheckpoint "
        "fails; the hash chain alone cannot show that the newest records were not removed");
  }
  return c;
}

AuditCheckpointer::~AuditCheckpointer() { Stop(); }

absl::StatusOr<StoredCheckpoint> AuditCheckpointer::Current(
    bool force, std::optional<std::chrono::system_clock::time_point> deadline) {
  if (!signer_) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "AUDIT_SIGNING_DISABLED",
                     "this server has no audit signing key (--audit-signing-key), so it makes "
                     "no checkpoints");
  }
  StoredCheckpoint out;
  bool refused = false, made = false;
  DbPool::TxnOptions txn;
  txn.deadline = deadline;
  absl::Status status = db_->Transact(txn, [&](pqxx::work& tx) -> absl::Status {
    refused = false;
    made = false;
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kCheckpointLockKey);
    const int64_t size = AuditTreeSize(tx);
    pqxx::result newest = tx.exec(
        "SELECT id, note, key_name, key_id FROM audit_checkpoints ORDER BY id DESC LIMIT 1");
    if (!force && !newest.empty()) {
      ASSIGN_OR_RETURN(out, FromRow(newest[0]));
      if (out.checkpoint.size == size && out.checkpoint.origin == options_.origin) {
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(merkle::Hash root, AuditTreeRoot(tx, size));
    // The largest checkpoint signed so far must be a prefix of what is signed now.
    pqxx::result largest = tx.exec(
        "SELECT id, tree_size, root_hash FROM audit_checkpoints ORDER BY tree_size DESC, id DESC "
        "LIMIT 1");
    if (!largest.empty()) {
      const int64_t id = largest[0][0].as<int64_t>();
      const int64_t prev_size = largest[0][1].as<int64_t>();
      const std::string prev_root = pqxx::binarystring(largest[0][2]).str();
      if (prev_size > size) {
        refused = true;
        return MakeError(absl::StatusCode::kDataLoss, "AUDIT_LOG_TRUNCATED",
                         absl::StrCat("refusing to sign: checkpoint ", id, " covers ", prev_size,
                                      " records but the audit log now has ", size,
                                      " (records were removed from its end)"));
      }
      ASSIGN_OR_RETURN(merkle::Hash then, AuditTreeRoot(tx, prev_size));
      if (then != prev_root) {
        refused = true;
        return MakeError(absl::StatusCode::kDataLoss, "AUDIT_LOG_REWRITTEN",
                         absl::StrCat("refusing to sign: the first ", prev_size,
                                      " records no longer hash to the root of checkpoint ", id,
                                      " (the log was rewritten)"));
      }
    }
    TlogCheckpoint cp;
    cp.origin = options_.origin;
    cp.size = size;
    cp.root = root;
    cp.time = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
    ASSIGN_OR_RETURN(std::string note, signer_->Sign(FormatCheckpointText(cp)));
    pqxx::row row = tx.exec_params1(
        "INSERT INTO audit_checkpoints (tree_size, root_hash, made_at, key_name, key_id, note)"
        " VALUES ($1, decode($2, 'hex'), $3::timestamptz, $4, $5, $6) RETURNING id",
        size, merkle::ToHex(root), cp.time, signer_->verifier().name(),
        signer_->verifier().key_id_hex(), note);
    out.id = row[0].as<int64_t>();
    out.checkpoint = cp;
    out.note = note;
    out.key_name = signer_->verifier().name();
    out.key_id = signer_->verifier().key_id_hex();
    made = true;
    return absl::OkStatus();
  });
  if (!status.ok()) {
    metrics_->CountAuditCheckpoint(refused ? "refused" : "error");
    return status;
  }
  if (made) metrics_->CountAuditCheckpoint("signed");
  return out;
}

void AuditCheckpointer::Tick() {
  bool due = false;
  try {
    auto lease = db_->Acquire();
    if (!lease.ok()) return;
    pqxx::nontransaction tx(lease->conn());
    pqxx::row r = tx.exec1(absl::StrCat(
        "WITH newest AS (SELECT tree_size, made_at FROM audit_checkpoints ORDER BY id DESC "
        "LIMIT 1) SELECT (SELECT tree_size FROM newest), "
        "EXTRACT(EPOCH FROM now() - (SELECT made_at FROM newest))::float8, "
        "EXISTS (SELECT 1 FROM audit_log WHERE seq > COALESCE((SELECT tree_size FROM newest), 0)"
        " AND action IN (",
        kFinalActions, "))"));
    if (r[0].is_null()) {
      due = true;
    } else {
      const double age = r[1].as<double>();
      metrics_->SetAuditCheckpoint(age, r[0].as<int64_t>());
      due = age >= double(options_.interval_s) || r[2].as<bool>();
    }
  } catch (const std::exception& e) {
    log_->Warn("audit checkpoint check failed", {{"error", std::string(e.what())}});
    return;
  }
  if (!due) return;
  absl::StatusOr<StoredCheckpoint> cp = Current(/*force=*/true);
  if (!cp.ok()) {
    log_->Error("audit checkpoint not signed", {{"error", std::string(cp.status().message())}});
    return;
  }
  metrics_->SetAuditCheckpoint(0, cp->checkpoint.size);
  log_->Info("audit checkpoint signed",
             {{"tree_size", cp->checkpoint.size}, {"root", merkle::ToHex(cp->checkpoint.root)}});
}

void AuditCheckpointer::Loop() {
  while (!stopping_.load()) {
    Tick();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(options_.poll_s), [this] { return stopping_.load(); });
  }
}

void AuditCheckpointer::Start() {
  if (!signer_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void AuditCheckpointer::Stop() {
  stopping_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lethe
