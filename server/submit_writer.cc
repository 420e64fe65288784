#include "server/submit_writer.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/pg_array.h"

namespace lethe {

const char kSubmitBatchStatement[] = "lethe_submit_batch";

void PrepareSubmitWriterStatements(pqxx::connection& conn) {
  // The requests of one batch ($1..$19, one array per column) and their items ($20..$25)
  // in one statement; conflicting idempotency keys are skipped and not returned.
  conn.prepare(
      kSubmitBatchStatement,
      "WITH r AS ("
      "  INSERT INTO forget_requests (id, idempotency_key, body_sha256, requester_token_id,"
      "    requester_name, model, kind, class_label, mode, substitute, params, state,"
      "    subject_hash, legal_ground, legal_ground_text, forget_unmatched_images,"
      "    item_count, image_count, unmatched_image_count, due_at)"
      "  SELECT u.id::uuid, u.k::uuid, u.b, u.t::bigint, u.tn, u.m, u.kind, u.c::integer,"
      "    u.mode, u.sub, u.p::jsonb, 'queued', u.sh, u.lg, u.lgt, u.f::boolean,"
      "    u.ic::integer, u.imc::integer, u.uc::integer,"
      "    now() + make_interval(days => u.dd::integer)"
      "  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
      "    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],"
      "    $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],"
      "    $19::text[])"
      "    AS u(id, k, b, t, tn, m, kind, c, mode, sub, p, sh, lg, lgt, f, ic, imc, uc, dd)"
      "  ON CONFLICT (requester_token_id, idempotency_key) DO NOTHING"
      "  RETURNING id, model, received_at, due_at"
      "), i AS ("
      "  INSERT INTO request_items (request_id, ordinal, item_id, sha256, upload_name, image)"
      "  SELECT v.rid::uuid, v.ord::integer, v.item, v.sha, v.name, v.img::bytea"
      "  FROM unnest($20::text[], $21::text[], $22::text[], $23::text[], $24::text[],"
      "    $25::bytea[]) AS v(rid, ord, item, sha, name, img)"
      "  WHERE v.rid::uuid IN (SELECT id FROM r)"
      ")"
      "SELECT id::text, (extract(epoch FROM received_at) * 1000000)::bigint,"
      "  (extract(epoch FROM due_at) * 1000000)::bigint, pg_notify('lethe_jobs', model)"
      "  FROM r");
}

SubmitWriter::SubmitWriter(DbPool* db, Logger* log, ServerMetrics* metrics, int max_batch,
                           int64_t max_batch_items)
    : db_(db),
      log_(log),
      metrics_(metrics),
      max_batch_(max_batch),
      max_batch_items_(max_batch_items) {
  thread_ = std::thread([this] { Loop(); });
}

SubmitWriter::~SubmitWriter() { Stop(); }

void SubmitWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SubmitWriter::Stats SubmitWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::StatusOr<WriteResult> SubmitWriter::Write(
    const PreparedSubmit& submit, std::optional<std::chrono::system_clock::time_point> deadline) {
  Pending pending{&submit, deadline, {}};
  std::future<absl::StatusOr<WriteResult>> result = pending.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("server is shutting down");
    queue_.push_back(&pending);
  }
  cv_.notify_one();
  // Always wait: `pending` lives on this stack until the writer is done with it. The
  // wait is bounded by the database statement timeout.
  return result.get();
}

void SubmitWriter::Loop() {
  while (true) {
    std::vector<Pending*> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      int64_t items = 0;
      while (!queue_.empty() && int(batch.size()) < max_batch_) {
        int64_t n = int64_t(queue_.front()->submit->items.size());
        if (!batch.empty() && items + n > max_batch_items_) break;
        items += n;
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
  }
}

void SubmitWriter::WriteBatch(std::vector<Pending*>& batch) {
  auto now = std::chrono::system_clock::now();
  std::vector<Pending*> live;
  for (Pending* p : batch) {
    if (p->deadline && *p->deadline <= now) {
      p->done.set_value(absl::DeadlineExceededError(
          "deadline passed while the request waited to be written; it was not stored"));
    } else {
      live.push_back(p);
    }
  }
  if (live.empty()) return;

  // Column arrays for the requests and their items.
  std::vector<std::string> ids, keys, bodies, tokens, token_names, models, kinds, modes, subs,
      params, grounds, fuis, item_counts, image_counts, unmatched_counts, due_days;
  std::vector<std::optional<std::string>> classes, subjects, ground_texts;
  std::vector<std::string> it_req, it_ord;
  std::vector<std::optional<std::string>> it_item, it_sha, it_name, it_img;
  for (Pending* p : live) {
    const PreparedSubmit& s = *p->submit;
    ids.push_back(s.id);
    keys.push_back(s.idempotency_key);
    bodies.push_back(s.body_sha256);
    tokens.push_back(std::to_string(s.requester.token_id));
    token_names.push_back(s.requester.name);
    models.push_back(s.model);
    kinds.push_back(s.kind);
    classes.push_back(s.class_label ? std::optional<std::string>(std::to_string(*s.class_label))
                                    : std::nullopt);
    modes.push_back(s.mode);
    subs.push_back(s.substitute);
    params.push_back(s.params_json);
    subjects.push_back(s.subject_hash.empty() ? std::nullopt
                                              : std::optional<std::string>(s.subject_hash));
    grounds.push_back(s.legal_ground);
    ground_texts.push_back(s.legal_ground_text.empty()
                               ? std::nullopt
                               : std::optional<std::string>(s.legal_ground_text));
    fuis.push_back(s.forget_unmatched_images ? "true" : "false");
    item_counts.push_back(std::to_string(s.item_count));
    image_counts.push_back(std::to_string(s.image_count));
    unmatched_counts.push_back(std::to_string(s.unmatched_image_count));
    due_days.push_back(std::to_string(s.due_days));
    for (size_t i = 0; i < s.items.size(); ++i) {
      const PreparedItem& item = s.items[i];
      it_req.push_back(s.id);
      it_ord.push_back(std::to_string(i));
      it_item.push_back(item.item_id);
      it_sha.push_back(item.sha256);
      it_name.push_back(item.upload_name);
      it_img.push_back(item.image ? std::optional<std::string>(*item.image) : std::nullopt);
    }
  }

  std::map<std::string, WriteResult> inserted;
  auto started = std::chrono::steady_clock::now();
  absl::Status status = db_->Transact([&](pqxx::work& tx) -> absl::Status {
    inserted.clear();
    pqxx::result rows = tx.exec_prepared(
        kSubmitBatchStatement, PgTextArray(ids), PgTextArray(keys), PgTextArray(bodies),
        PgTextArray(tokens), PgTextArray(token_names), PgTextArray(models), PgTextArray(kinds),
        PgTextArray(classes), PgTextArray(modes), PgTextArray(subs), PgTextArray(params),
        PgTextArray(subjects), PgTextArray(grounds), PgTextArray(ground_texts), PgTextArray(fuis),
        PgTextArray(item_counts), PgTextArray(image_counts), PgTextArray(unmatched_counts),
        PgTextArray(due_days), PgTextArray(it_req), PgTextArray(it_ord), PgTextArray(it_item),
        PgTextArray(it_sha), PgTextArray(it_name), PgByteaArray(it_img));
    for (const auto& row : rows) {
      WriteResult w;
      w.inserted = true;
      w.received_us = row[1].as<int64_t>();
      w.due_us = row[2].as<int64_t>();
      inserted[row[0].as<std::string>()] = w;
    }
    std::vector<AuditEntry> entries;
    for (Pending* p : live) {
      const PreparedSubmit& s = *p->submit;
      auto it = inserted.find(s.id);
      if (it == inserted.end()) continue;
      Json payload = s.audit_payload;
      payload["due_at_us"] = it->second.due_us;
      entries.push_back({s.requester.Actor(), "request.received", s.id, payload});
    }
    AppendAuditBatch(tx, entries);
    return absl::OkStatus();
  });

  if (metrics_ != nullptr) {
    metrics_->RecordSubmitBatch(
        int64_t(live.size()),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.batches += 1;
    stats_.submits += int64_t(live.size());
  }
  if (!status.ok()) {
    log_->Error("submit batch failed",
                {{"error", std::string(status.message())}, {"batch", int64_t(live.size())}});
  }
  for (Pending* p : live) {
    if (!status.ok()) {
      p->done.set_value(status);
      continue;
    }
    auto it = inserted.find(p->submit->id);
    p->done.set_value(it == inserted.end() ? WriteResult{} : it->second);
  }
}

}  // namespace lethe
