#include "server/request_service.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/errors.h"
#include "common/page_token.h"
#include "common/pg_array.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "engine/base/sha256.h"
#include "server/proto_convert.h"
#include "server/submit_items.h"
#include "server/submit_validator.h"
#include "server/upload_image.h"

namespace lethe {

namespace pb = ::lethe::v1;

const char kSubmitLookupStatement[] = "lethe_submit_lookup";

void PrepareRequestStatements(pqxx::connection& conn) {
  // One round trip per item submit: the idempotency key ($1, $2) and every named item
  // ($4) or uploaded pixel hash ($5) of model $3, with tombstones. The last column marks
  // the idempotency row (id, body_sha256 in the first two columns).
  conn.prepare(kSubmitLookupStatement,
               "SELECT id::text, body_sha256, NULL::text, false, false, true "
               "FROM forget_requests WHERE requester_token_id = $1 AND idempotency_key = $2::uuid "
               "UNION ALL "
               "SELECT d.item_id, d.sha256, d.split, t.id IS NOT NULL, q.by_hash, false "
               "FROM ("
               "  SELECT d.item_id, false AS by_hash FROM dataset_items d"
               "  WHERE d.model = $3 AND d.item_id = ANY($4::text[])"
               "  UNION"
               "  SELECT d.item_id, true FROM dataset_items d"
               "  WHERE d.model = $3 AND d.split = 'train' AND d.sha256 = ANY($5::text[])"
               ") q "
               "JOIN dataset_items d ON d.model = $3 AND d.item_id = q.item_id "
               "LEFT JOIN tombstones t ON t.model = $3 AND t.item_id = d.item_id");
}

const char kForgetRequestColumns[] =
    "id::text, idempotency_key::text, model, kind, class_label, mode, substitute, params::text,"
    " state, COALESCE(phase, ''), progress::text, cancel_requested, requester_name,"
    " requester_token_id, legal_ground, COALESCE(legal_ground_text, ''),"
    " COALESCE(subject_hash, ''),"
    " (extract(epoch FROM received_at) * 1000000)::bigint,"
    " (extract(epoch FROM due_at) * 1000000)::bigint,"
    " (extract(epoch FROM completed_at) * 1000000)::bigint,"
    " COALESCE(extended_reason, ''), item_count, image_count, unmatched_image_count,"
    " COALESCE(result::text, ''), forget_unmatched_images";

pb::ForgetRequest ForgetRequestFromRow(const pqxx::row& row) {
  pb::ForgetRequest r;
  r.set_id(row[0].as<std::string>());
  r.set_request_id(row[1].as<std::string>());
  r.set_model(row[2].as<std::string>());
  std::string kind = row[3].as<std::string>();
  r.set_kind(kind == "class" ? pb::FORGET_KIND_CLASS : pb::FORGET_KIND_ITEMS);
  if (!row[4].is_null()) r.set_class_label(row[4].as<int>());
  r.set_mode(ModeFromDb(row[5].as<std::string>()));
  r.set_substitute(SubstituteFromDb(row[6].as<std::string>()));
  try {
    *r.mutable_hyperparameters() = HyperparametersFromJson(Json::Parse(row[7].as<std::string>()));
  } catch (const std::exception&) {
  }
  r.set_state(StateFromDb(row[8].as<std::string>()));
  try {
    *r.mutable_progress() = ProgressFromJson(Json::Parse(row[10].as<std::string>()));
  } catch (const std::exception&) {
  }
  if (r.progress().phase() == pb::PHASE_UNSPECIFIED) {
    r.mutable_progress()->set_phase(PhaseFromDb(row[9].as<std::string>()));
  }
  r.set_cancel_requested(row[11].as<bool>());
  r.set_requester(row[12].as<std::string>());
  r.set_requester_id(row[13].as<int64_t>());
  r.set_legal_ground(LegalGroundFromDb(row[14].as<std::string>()));
  r.set_legal_ground_text(row[15].as<std::string>());
  r.set_subject_hash(row[16].as<std::string>());
  SetTimestamp(row[17].as<int64_t>(), r.mutable_received_at());
  SetTimestamp(row[18].as<int64_t>(), r.mutable_due_at());
  if (!row[19].is_null()) SetTimestamp(row[19].as<int64_t>(), r.mutable_completed_at());
  r.set_deadline_extension_reason(row[20].as<std::string>());
  r.set_item_count(row[21].as<int>());
  r.set_image_count(row[22].as<int>());
  r.set_unmatched_image_count(row[23].as<int>());
  std::string result = row[24].as<std::string>();
  if (!result.empty()) {
    try {
      Json j = Json::Parse(result);
      pb::ForgetResult* out = r.mutable_result();
      out->set_model_version_id(j.GetInt("model_version", 0));
      out->set_model_version_sha256(j.GetString("model_version_sha256", ""));
      if (j.Has("report")) out->set_report_json(j.at("report").Dump());
      out->set_error(j.GetString("error", ""));
    } catch (const std::exception&) {
    }
  }
  r.set_forget_unmatched_images(row[25].as<bool>());
  return r;
}

namespace {

absl::Status CheckRequestId(const std::string& field, const std::string& id) {
  if (id.empty()) return InvalidField(field, "is required", "MISSING_FIELD");
  if (!IsUuid(id)) return InvalidField(field, "is not a UUID", "INVALID_UUID");
  return absl::OkStatus();
}

// A submit as it will be stored, before its items are resolved.
PreparedSubmit PrepareSubmit(const ValidatedSubmit& v, const Principal& requester,
                             int64_t due_days) {
  PreparedSubmit s;
  s.id = NewUuid();
  s.idempotency_key = v.idempotency_key;
  s.body_sha256 = v.body_sha256;
  s.requester = requester;
  s.model = v.model;
  s.kind = v.kind;
  s.class_label = v.class_label;
  s.mode = v.mode;
  s.substitute = v.substitute;
  s.params_json = v.params.Dump();
  s.subject_hash = v.subject_hash;
  s.legal_ground = v.legal_ground;
  s.legal_ground_text = v.legal_ground_text;
  s.forget_unmatched_images = v.forget_unmatched_images;
  s.due_days = due_days;
  s.image_count = int(v.uploads.size());
  return s;
}

// The pixel hash of each upload (CPU only), checked against the model's item shape.
absl::StatusOr<std::vector<std::string>> HashUploads(const ValidatedSubmit& v,
                                                     const ItemShape& shape) {
  std::vector<std::string> pixel_hashes;
  for (size_t i = 0; i < v.uploads.size(); ++i) {
    ASSIGN_OR_RETURN(std::string h, HashUploadedImage(absl::StrCat("items.images[", i, "].png"),
                                                      *v.uploads[i].png, shape));
    pixel_hashes.push_back(std::move(h));
  }
  return pixel_hashes;
}

// The audit record commits to the items by hash; no ids of people, no image bytes.
Json SubmitAuditPayload(const PreparedSubmit& s, const Json& params) {
  Sha256 items_hash;
  for (const PreparedItem& item : s.items) {
    items_hash.Update(item.item_id.value_or(""));
    items_hash.Update("\t");
    items_hash.Update(item.sha256);
    items_hash.Update("\n");
  }
  Json payload = Json::Object();
  payload["model"] = s.model;
  payload["kind"] = s.kind;
  if (s.class_label) payload["class_label"] = *s.class_label;
  payload["mode"] = s.mode;
  payload["substitute"] = s.substitute;
  payload["params"] = params;
  payload["legal_ground"] = s.legal_ground;
  payload["subject_hash"] = s.subject_hash;
  payload["item_count"] = s.item_count;
  payload["image_count"] = s.image_count;
  payload["unmatched_image_count"] = s.unmatched_image_count;
  payload["items_sha256"] = items_hash.FinishHex();
  payload["body_sha256"] = s.body_sha256;
  payload["idempotency_key"] = s.idempotency_key;
  payload["state"] = "queued";
  return payload;
}

// The reply to a submit that was just written, built from what was written (no read
// back). The request's enums are echoed as sent.
pb::ForgetRequest SubmittedRequest(const PreparedSubmit& s, const WriteResult& w,
                                   const pb::SubmitForgetRequestRequest& req) {
  pb::ForgetRequest out;
  out.set_id(s.id);
  out.set_request_id(s.idempotency_key);
  out.set_model(s.model);
  out.set_kind(s.class_label ? pb::FORGET_KIND_CLASS : pb::FORGET_KIND_ITEMS);
  if (s.class_label) out.set_class_label(*s.class_label);
  out.set_mode(ModeFromDb(s.mode));
  out.set_substitute(SubstituteFromDb(s.substitute));
  *out.mutable_hyperparameters() = req.hyperparameters();
  out.set_state(pb::REQUEST_STATE_QUEUED);
  out.set_requester(s.requester.name);
  out.set_requester_id(s.requester.token_id);
  out.set_legal_ground(req.legal_ground());
  out.set_legal_ground_text(s.legal_ground_text);
  out.set_subject_hash(s.subject_hash);
  SetTimestamp(w.received_us, out.mutable_received_at());
  SetTimestamp(w.due_us, out.mutable_due_at());
  out.set_item_count(s.item_count);
  out.set_image_count(s.image_count);
  out.set_unmatched_image_count(s.unmatched_image_count);
  out.set_forget_unmatched_images(s.forget_unmatched_images);
  for (const PreparedItem& item : s.items) {
    pb::RequestItem* ri = out.add_items();
    ri->set_item_id(item.item_id.value_or(""));
    ri->set_sha256(item.sha256);
    ri->set_uploaded(item.image != nullptr || item.upload_name.has_value());
    ri->set_upload_name(item.upload_name.value_or(""));
  }
  return out;
}

absl::Status NotOwner(const Principal& p) {
  return MakeError(
      absl::StatusCode::kPermissionDenied, "NOT_REQUEST_OWNER",
      absl::StrCat("token \"", p.name, "\" may only access forget requests it submitted"),
      {{"role", RoleName(p.role)}});
}

absl::Status RequestNotFound(const std::string& id) {
  return MakeError(absl::StatusCode::kNotFound, "REQUEST_NOT_FOUND",
                   absl::StrCat("forget request ", id, " does not exist"), {{"id", id}});
}

}  // namespace

RequestService::RequestService(DbPool* db, ModelCatalog* models, SubmitWriter* writer, Logger* log,
                               RequestLimits limits, std::string subject_salt)
    : db_(db),
      models_(models),
      writer_(writer),
      log_(log),
      limits_(limits),
      subject_salt_(std::move(subject_salt)) {}

absl::StatusOr<pb::ForgetRequest> RequestService::ExistingForKey(const CallContext& call,
                                                                 const std::string& key,
                                                                 const std::string& body_sha256,
                                                                 bool* found) {
  *found = false;
  std::string id, stored_body;
  {
    ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
    try {
      pqxx::nontransaction tx(lease.conn());
      pqxx::result r = tx.exec_params(
          "SELECT id::text, body_sha256 FROM forget_requests "
          "WHERE requester_token_id = $1 AND idempotency_key = $2::uuid",
          call.principal.token_id, key);
      if (r.empty()) return pb::ForgetRequest{};
      id = r[0][0].as<std::string>();
      stored_body = r[0][1].as<std::string>();
    } catch (const std::exception& e) {
      return StatusFromDbException(e, "look up idempotency key");
    }
  }
  *found = true;
  if (stored_body != body_sha256) {
    return MakeError(
        absl::StatusCode::kAlreadyExists, "IDEMPOTENCY_KEY_REUSED",
        absl::StrCat("request_id ", key, " was already used for a different forget request (", id,
                     "); send the identical request to retry it, or use a new "
                     "request_id"),
        {{"field", "request_id"}, {"existing_id", id}});
  }
  return Load(call, id, true, Permission::kReadAllRequests);
}

absl::StatusOr<int64_t> RequestService::CountClassItems(const CallContext& call,
                                                        const ModelInfo& model, int label) {
  if (label >= model.num_classes) {
    return InvalidField("class_target.label",
                        absl::StrCat(label, " is outside [0, ", model.num_classes, ") for model \"",
                                     model.name, "\""),
                        "OUT_OF_RANGE");
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  int64_t total = 0, remaining = 0;
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::row r = tx.exec_params1(
        "SELECT count(*), count(*) FILTER (WHERE t.id IS NULL) FROM dataset_items d "
        "LEFT JOIN tombstones t ON t.model = d.model AND t.item_id = d.item_id "
        "WHERE d.model = $1 AND d.label = $2 AND d.split = 'train'",
        model.name, label);
    total = r[0].as<int64_t>();
    remaining = r[1].as<int64_t>();
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "count class items");
  }
  if (total == 0) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "EMPTY_CLASS",
        absl::StrCat("model \"", model.name, "\" has no training items of class ", label),
        {{"field", "class_target.label"}});
  }
  if (remaining == 0) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "ALREADY_FORGOTTEN",
                     absl::StrCat("every training item of class ", label, " of model \"",
                                  model.name, "\" is already forgotten"),
                     {{"field", "class_target.label"}});
  }
  return remaining;
}

absl::StatusOr<ItemLookup> RequestService::LookupItems(const CallContext& call,
                                                       const ValidatedSubmit& v,
                                                       const std::string& model,
                                                       const std::vector<std::string>& pixel_hashes,
                                                       bool* key_taken) {
  *key_taken = false;
  ItemLookup lookup;
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r =
        tx.exec_prepared(kSubmitLookupStatement, call.principal.token_id, v.idempotency_key, model,
                         PgTextArray(v.item_ids), PgTextArray(pixel_hashes));
    for (const auto& row : r) {
      if (row[5].as<bool>()) {  // the idempotency key is taken
        *key_taken = true;
        continue;
      }
      std::string id = row[0].as<std::string>();
      ManifestItem item{row[1].as<std::string>(), row[2].as<std::string>()};
      if (row[3].as<bool>()) lookup.tombstoned_ids.insert(id);
      if (row[4].as<bool>()) {
        lookup.by_hash[item.sha256].push_back(id);
      } else {
        lookup.by_id[id] = item;
      }
    }
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "look up items");
  }
  return lookup;
}

absl::StatusOr<pb::ForgetRequest> RequestService::Submit(
    const CallContext& call, const pb::SubmitForgetRequestRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kSubmitRequest));
  ASSIGN_OR_RETURN(ValidatedSubmit v, ValidateSubmit(req, limits_, subject_salt_));

  // AIP-155: a retry with the same key and body returns the stored request. Item requests
  // look the key up in the same round trip as their items (below).
  bool found = false;
  if (v.class_label) {
    auto existing = ExistingForKey(call, v.idempotency_key, v.body_sha256, &found);
    if (found || !existing.ok()) return existing;
  }

  ASSIGN_OR_RETURN(ModelInfo model, models_->Get(v.model, call.deadline));
  PreparedSubmit s = PrepareSubmit(v, call.principal, limits_.due_days);
  if (v.class_label) {
    ASSIGN_OR_RETURN(int64_t remaining, CountClassItems(call, model, *v.class_label));
    s.item_count = int(remaining);
  } else {
    // Hash the uploads first (CPU only), then resolve ids and hashes in one round trip.
    ASSIGN_OR_RETURN(std::vector<std::string> pixel_hashes, HashUploads(v, model.item));
    bool key_taken = false;
    ASSIGN_OR_RETURN(ItemLookup lookup, LookupItems(call, v, model.name, pixel_hashes, &key_taken));
    if (key_taken) {
      auto existing = ExistingForKey(call, v.idempotency_key, v.body_sha256, &found);
      if (found || !existing.ok()) return existing;
    }
    RETURN_IF_ERROR(MatchSubmitItems(lookup, v, pixel_hashes, model.name, &s));
  }
  s.audit_payload = SubmitAuditPayload(s, v.params);

  ASSIGN_OR_RETURN(WriteResult w, writer_->Write(s, call.deadline));
  if (!w.inserted) {
    // The key was taken between our check and the insert (a concurrent retry).
    auto existing = ExistingForKey(call, v.idempotency_key, v.body_sha256, &found);
    if (!found && existing.ok()) {
      return absl::AbortedError("request_id conflicted but the stored request vanished; retry");
    }
    return existing;
  }
  log_->Info("request.received", {{"request_id", s.id},
                                  {"model", s.model},
                                  {"kind", s.kind},
                                  {"items", s.item_count},
                                  {"actor", call.principal.Actor()}});
  return SubmittedRequest(s, w, req);
}

absl::StatusOr<pb::ForgetRequest> RequestService::Load(const CallContext& call,
                                                       const std::string& id, bool with_items,
                                                       Permission read_all) {
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kForgetRequestColumns, " FROM forget_requests WHERE id = $1::uuid"),
        id);
    if (r.empty()) {
      // A common mistake: passing the client's idempotency key instead of the server's id.
      pqxx::result by_key = tx.exec_params(
          "SELECT id::text FROM forget_requests WHERE idempotency_key = $1::uuid AND "
          "requester_token_id = $2",
          id, call.principal.token_id);
      if (!by_key.empty()) {
        std::string server_id = by_key[0][0].as<std::string>();
        return MakeError(absl::StatusCode::kNotFound, "REQUEST_NOT_FOUND",
                         absl::StrCat("forget request ", id,
                                      " does not exist; that is the request_id (idempotency "
                                      "key) you submitted with, and `id` takes the server's id: ",
                                      server_id),
                         {{"id", id}, {"server_id", server_id}});
      }
      return RequestNotFound(id);
    }
    pb::ForgetRequest out = ForgetRequestFromRow(r[0]);
    if (out.requester_id() != call.principal.token_id && !RoleHas(call.principal.role, read_all)) {
      return NotOwner(call.principal);
    }
    if (with_items) {
      pqxx::result items = tx.exec_params(
          "SELECT COALESCE(item_id, ''), sha256, upload_name IS NOT NULL OR image IS NOT NULL, "
          "COALESCE(upload_name, '') FROM request_items WHERE request_id = $1::uuid "
          "ORDER BY ordinal",
          id);
      for (const auto& row : items) {
        pb::RequestItem* ri = out.add_items();
        ri->set_item_id(row[0].as<std::string>());
        ri->set_sha256(row[1].as<std::string>());
        ri->set_uploaded(row[2].as<bool>());
        ri->set_upload_name(row[3].as<std::string>());
      }
    }
    return out;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "read forget request");
  }
}

absl::StatusOr<pb::ForgetRequest> RequestService::Get(const CallContext& call,
                                                      const pb::GetForgetRequestRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnRequests));
  RETURN_IF_ERROR(CheckRequestId("id", req.id()));
  return Load(call, LowercaseUuid(req.id()), true, Permission::kReadAllRequests);
}

absl::StatusOr<pb::ForgetRequest> RequestService::Snapshot(const CallContext& call,
                                                           const std::string& id) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnRequests));
  RETURN_IF_ERROR(CheckRequestId("id", id));
  return Load(call, LowercaseUuid(id), false, Permission::kReadAllRequests);
}

absl::StatusOr<pb::ListForgetRequestsResponse> RequestService::List(
    const CallContext& call, const pb::ListForgetRequestsRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadOwnRequests));
  ASSIGN_OR_RETURN(int page_size, ResolvePageSize(req.page_size(), 50, 500));
  if (!pb::RequestState_IsValid(req.state())) {
    return InvalidField("state", absl::StrCat("unknown value ", req.state()), "UNKNOWN_ENUM");
  }
  if (!req.model().empty()) RETURN_IF_ERROR(CheckModelName("model", req.model()));
  RETURN_IF_ERROR(CheckText("requester", req.requester(), TextRule{100, false, false}));
  bool all = RoleHas(call.principal.role, Permission::kReadAllRequests);
  std::optional<int64_t> owner;
  if (!all) owner = call.principal.token_id;
  std::string state = StateToDb(req.state());
  std::string fingerprint = absl::StrCat("forget_requests|", state, "|", req.model(), "|",
                                         req.requester(), "|", owner.value_or(0));
  std::optional<int64_t> after_us;
  std::string after_id;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(Json pos, DecodePageToken(req.page_token(), fingerprint));
    try {
      after_us = pos.at("t").AsInt();
      after_id = pos.at("id").AsString();
    } catch (const std::exception&) {
      return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_PAGE_TOKEN",
                       "page_token: is not a token issued by this server");
    }
    if (!IsUuid(after_id)) {
      return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_PAGE_TOKEN",
                       "page_token: is not a token issued by this server");
    }
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  pb::ListForgetRequestsResponse out;
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kForgetRequestColumns, " FROM forget_requests WHERE ",
                     "($1 = '' OR state = $1) AND ($2 = '' OR model = $2) AND "
                     "($3 = '' OR requester_name = $3) AND "
                     "($4::bigint IS NULL OR requester_token_id = $4::bigint) AND "
                     "($5::bigint IS NULL OR (received_at, id) < "
                     "  (timestamptz 'epoch' + $5::bigint * interval '1 microsecond', $6::uuid)) "
                     "ORDER BY received_at DESC, id DESC LIMIT $7"),
        state, req.model(), req.requester(), owner, after_us,
        after_id.empty() ? std::optional<std::string>() : std::optional<std::string>(after_id),
        page_size + 1);
    for (size_t i = 0; i < r.size() && int(i) < page_size; ++i) {
      *out.add_forget_requests() = ForgetRequestFromRow(r[i]);
    }
    if (int(r.size()) > page_size) {
      const pb::ForgetRequest& last = out.forget_requests(page_size - 1);
      Json pos = Json::Object();
      pos["t"] =
          int64_t(last.received_at().seconds()) * 1000000 + last.received_at().nanos() / 1000;
      pos["id"] = last.id();
      out.set_next_page_token(EncodePageToken(pos, fingerprint));
    }
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "list forget requests");
  }
  return out;
}

absl::StatusOr<pb::ForgetRequest> RequestService::Cancel(
    const CallContext& call, const pb::CancelForgetRequestRequest& req) {
  if (!RoleHas(call.principal.role, Permission::kCancelOwnRequests) &&
      !RoleHas(call.principal.role, Permission::kCancelAllRequests)) {
    return MakeError(
        absl::StatusCode::kPermissionDenied, "ROLE_NOT_ALLOWED",
        absl::StrCat("token \"", call.principal.name, "\" has role ", RoleName(call.principal.role),
                     ", which may not cancel forget requests (DPO tokens cancel "
                     "their own, ADMIN tokens any)"),
        {{"role", RoleName(call.principal.role)}});
  }
  RETURN_IF_ERROR(CheckRequestId("id", req.id()));
  RETURN_IF_ERROR(
      CheckText("reason", req.reason(), TextRule{size_t(limits_.max_text_bytes), false, true}));
  std::string id = LowercaseUuid(req.id());
  DbPool::TxnOptions opts;
  opts.deadline = call.deadline;
  std::string previous;
  absl::Status st = db_->Transact(opts, [&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = tx.exec_params(
        "SELECT state, requester_token_id FROM forget_requests WHERE id = $1::uuid FOR UPDATE", id);
    if (r.empty()) return RequestNotFound(id);
    previous = r[0][0].as<std::string>();
    if (r[0][1].as<int64_t>() != call.principal.token_id &&
        !RoleHas(call.principal.role, Permission::kCancelAllRequests)) {
      return NotOwner(call.principal);
    }
    if (IsTerminalState(previous)) {
      return MakeError(
          absl::StatusCode::kFailedPrecondition, "REQUEST_FINISHED",
          absl::StrCat("forget request ", id, " is already ", previous, " and cannot be cancelled"),
          {{"state", previous}});
    }
    bool immediate = previous == "received" || previous == "queued";
    if (immediate) {
      tx.exec_params(
          "UPDATE forget_requests SET state = 'cancelled', cancel_requested = true, "
          "cancel_reason = NULLIF($2, ''), completed_at = now(), updated_at = now() "
          "WHERE id = $1::uuid",
          id, req.reason());
      // Uploaded images are kept only until the request is finished.
      tx.exec_params("UPDATE request_items SET image = NULL WHERE request_id = $1::uuid", id);
    } else {
      tx.exec_params(
          "UPDATE forget_requests SET cancel_requested = true, cancel_reason = NULLIF($2, ''), "
          "updated_at = now() WHERE id = $1::uuid",
          id, req.reason());
    }
    Json payload = Json::Object();
    payload["previous_state"] = previous;
    payload["immediate"] = immediate;
    payload["reason_sha256"] = Sha256Hex(req.reason());
    AppendAudit(tx, call.principal.Actor(),
                immediate ? "request.cancelled" : "request.cancel_requested", id, payload);
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(st);
  log_->Info("request.cancel",
             {{"request_id", id}, {"previous_state", previous}, {"actor", call.principal.Actor()}});
  return Load(call, id, true, Permission::kReadAllRequests);
}

absl::StatusOr<pb::ForgetRequest> RequestService::ExtendDeadline(
    const CallContext& call, const pb::ExtendDeadlineRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kExtendDeadline));
  RETURN_IF_ERROR(CheckRequestId("id", req.id()));
  if (req.extra_days() < 1 || req.extra_days() > limits_.max_extension_days) {
    return InvalidField(
        "extra_days",
        absl::StrCat(req.extra_days(), " is outside [1, ", limits_.max_extension_days, "]"),
        "OUT_OF_RANGE");
  }
  RETURN_IF_ERROR(
      CheckText("reason", req.reason(), TextRule{size_t(limits_.max_text_bytes), true, true}));
  std::string id = LowercaseUuid(req.id());
  DbPool::TxnOptions opts;
  opts.deadline = call.deadline;
  absl::Status st = db_->Transact(opts, [&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = tx.exec_params(
        "SELECT state, extension_days FROM forget_requests WHERE id = $1::uuid FOR UPDATE", id);
    if (r.empty()) return RequestNotFound(id);
    std::string state = r[0][0].as<std::string>();
    int64_t used = r[0][1].as<int64_t>();
    if (IsTerminalState(state)) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "REQUEST_FINISHED",
                       absl::StrCat("forget request ", id, " is already ", state,
                                    "; its deadline no longer applies"),
                       {{"state", state}});
    }
    if (used + req.extra_days() > limits_.max_extension_days) {
      return MakeError(
          absl::StatusCode::kFailedPrecondition, "EXTENSION_LIMIT",
          absl::StrCat("forget request ", id, " was already extended by ", used, " days; at most ",
                       limits_.max_extension_days, " days in total are allowed"),
          {{"field", "extra_days"}});
    }
    pqxx::row due = tx.exec_params1(
        "UPDATE forget_requests SET due_at = due_at + make_interval(days => $2), "
        "extension_days = extension_days + $2, extended_reason = $3, extended_at = now(), "
        "updated_at = now() WHERE id = $1::uuid "
        "RETURNING (extract(epoch FROM due_at) * 1000000)::bigint",
        id, req.extra_days(), req.reason());
    Json payload = Json::Object();
    payload["extra_days"] = req.extra_days();
    payload["total_extension_days"] = used + req.extra_days();
    payload["due_at_us"] = due[0].as<int64_t>();
    payload["reason_sha256"] = Sha256Hex(req.reason());
    AppendAudit(tx, call.principal.Actor(), "deadline.extended", id, payload);
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(st);
  log_->Info("deadline.extended", {{"request_id", id},
                                   {"extra_days", int64_t(req.extra_days())},
                                   {"actor", call.principal.Actor()}});
  return Load(call, id, true, Permission::kReadAllRequests);
}

}  // namespace lethe
