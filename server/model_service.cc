#include "server/model_service.h"

#include <sys/stat.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/audit.h"
#include "common/checkpoint_manifest.h"
#include "common/dataset_manifest.h"
#include "common/errors.h"
#include "common/page_token.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"
#include "server/proto_convert.h"
#include "server/verified_file.h"

namespace lethe {

namespace pb = ::lethe::v1;

namespace {

constexpr char kModelColumns[] =
    "m.name, m.num_classes, m.resolution, m.img_channels, m.preset, m.dataset_name,"
    " m.dataset_fingerprint, m.item_width, m.item_height, m.item_channels,"
    " (SELECT count(*) FROM dataset_items d WHERE d.model = m.name),"
    " COALESCE(m.production_version, 0), (extract(epoch FROM m.created_at) * 1000000)::bigint";

pb::Model ModelFromRow(const pqxx::row& row) {
  pb::Model m;
  m.set_name(row[0].as<std::string>());
  m.set_num_classes(row[1].as<int>());
  m.set_resolution(row[2].as<int>());
  m.set_img_channels(row[3].as<int>());
  m.set_preset(row[4].as<std::string>());
  m.set_dataset_name(row[5].as<std::string>());
  m.set_dataset_fingerprint(row[6].as<std::string>());
  m.set_item_width(row[7].as<int>());
  m.set_item_height(row[8].as<int>());
  m.set_item_channels(row[9].as<int>());
  m.set_item_count(row[10].as<int64_t>());
  m.set_production_version_id(row[11].as<int64_t>());
  SetTimestamp(row[12].as<int64_t>(), m.mutable_created_at());
  return m;
}

constexpr char kVersionColumns[] =
    "id, model, COALESCE(parent, 0), sha256, state, metrics::text, COALESCE(job::text, ''),"
    " (extract(epoch FROM created_at) * 1000000)::bigint, files::text, uri";

pb::ModelVersion VersionFromRow(const pqxx::row& row, const ModelStore* store) {
  pb::ModelVersion v;
  v.set_id(row[0].as<int64_t>());
  v.set_model(row[1].as<std::string>());
  v.set_parent_id(row[2].as<int64_t>());
  v.set_sha256(row[3].as<std::string>());
  v.set_state(VersionStateFromDb(row[4].as<std::string>()));
  v.set_metrics_json(row[5].as<std::string>());
  try {
    Json metrics = Json::Parse(v.metrics_json());
    if (metrics.is_object()) {
      for (const auto& [k, val] : metrics.items()) {
        if (val.is_number()) (*v.mutable_metrics())[k] = val.AsDouble();
      }
    }
    Json files = Json::Parse(row[8].as<std::string>());
    for (const auto& [k, val] : files.items()) (*v.mutable_files())[k] = val.AsString();
  } catch (const std::exception&) {
  }
  v.set_job_id(row[6].as<std::string>());
  SetTimestamp(row[7].as<int64_t>(), v.mutable_created_at());
  v.set_uri(row[9].as<std::string>());
  v.set_has_sample(v.state() != pb::VERSION_STATE_PURGED && v.files().count("sample.png") &&
                   store->HasFile(v.uri(), "sample.png"));
  return v;
}

absl::Status ModelNotFound(const std::string& name) {
  return MakeError(absl::StatusCode::kNotFound, "UNKNOWN_MODEL",
                   absl::StrCat("model \"", name, "\" is not registered"), {{"model", name}});
}

// Reads a server-side file named in a request, refusing relative paths and huge files.
absl::StatusOr<std::string> ReadServerFile(const std::string& field, const std::string& path,
                                           int64_t max_bytes) {
  if (path.empty() || path[0] != '/') {
    return InvalidField(field, absl::StrCat("\"", path, "\" is not an absolute path"),
                        "INVALID_PATH");
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return MakeError(absl::StatusCode::kNotFound, "FILE_NOT_FOUND",
                     absl::StrCat(field, ": ", path, " does not exist or is not a file"),
                     {{"field", field}});
  }
  if (st.st_size > max_bytes) {
    return InvalidField(field,
                        absl::StrCat(path, " is ", st.st_size, " bytes; the limit is ", max_bytes),
                        "FILE_TOO_LARGE");
  }
  try {
    // The limit holds for the content too: a small gzip file may inflate to gigabytes.
    return ReadMaybeGzip(path, size_t(max_bytes));
  } catch (const std::exception& e) {
    return InvalidField(field, e.what(), "UNREADABLE_FILE");
  }
}

}  // namespace

absl::StatusOr<pb::ListModelsResponse> ModelService::List(const CallContext& call,
                                                          const pb::ListModelsRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadModels));
  ASSIGN_OR_RETURN(int page_size, ResolvePageSize(req.page_size(), 50, 500));
  std::string after;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(Json pos, DecodePageToken(req.page_token(), "models"));
    if (!pos.is_string()) {
      return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_PAGE_TOKEN",
                       "page_token: is not a token issued by this server");
    }
    after = pos.AsString();
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  pb::ListModelsResponse out;
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r =
        tx.exec_params(absl::StrCat("SELECT ", kModelColumns,
                                    " FROM models m WHERE m.name > $1 ORDER BY m.name LIMIT $2"),
                       after, page_size + 1);
    for (size_t i = 0; i < r.size() && int(i) < page_size; ++i)
      *out.add_models() = ModelFromRow(r[i]);
    if (int(r.size()) > page_size) {
      out.set_next_page_token(EncodePageToken(Json(out.models(page_size - 1).name()), "models"));
    }
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "list models");
  }
  return out;
}

absl::StatusOr<pb::Model> ModelService::Get(const CallContext& call,
                                            const pb::GetModelRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadModels));
  RETURN_IF_ERROR(CheckModelName("name", req.name()));
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kModelColumns, " FROM models m WHERE m.name = $1"), req.name());
    if (r.empty()) return ModelNotFound(req.name());
    pb::Model m = ModelFromRow(r[0]);
    pqxx::result versions =
        tx.exec_params(absl::StrCat("SELECT ", kVersionColumns,
                                    " FROM model_versions WHERE model = $1 ORDER BY id DESC"),
                       req.name());
    for (const auto& row : versions) *m.add_versions() = VersionFromRow(row, store_);
    return m;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "read model");
  }
}

absl::StatusOr<VersionFiles> ModelService::Resolve(const CallContext& call,
                                                   const std::string& model, int64_t version_id) {
  RETURN_IF_ERROR(CheckModelName("model", model));
  if (version_id < 0) {
    return InvalidField("version_id", absl::StrCat(version_id, " is negative"), "OUT_OF_RANGE");
  }
  ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
  try {
    pqxx::nontransaction tx(lease.conn());
    pqxx::result m =
        tx.exec_params("SELECT COALESCE(production_version, 0) FROM models WHERE name = $1", model);
    if (m.empty()) return ModelNotFound(model);
    int64_t id = version_id == 0 ? m[0][0].as<int64_t>() : version_id;
    pqxx::result r = tx.exec_params(
        "SELECT id, sha256, uri, state, files::text FROM model_versions "
        "WHERE model = $1 AND id = $2",
        model, id);
    if (r.empty()) {
      return MakeError(absl::StatusCode::kNotFound, "UNKNOWN_VERSION",
                       absl::StrCat("model \"", model, "\" has no version ", id),
                       {{"model", model}, {"version_id", std::to_string(id)}});
    }
    if (r[0][3].as<std::string>() == "purged") {
      return MakeError(absl::StatusCode::kFailedPrecondition, "VERSION_PURGED",
                       absl::StrCat("version ", id, " of model \"", model,
                                    "\" was purged (it held forgotten data)"),
                       {{"version_id", std::to_string(id)}});
    }
    VersionFiles out;
    out.id = r[0][0].as<int64_t>();
    out.sha256 = r[0][1].as<std::string>();
    out.uri = r[0][2].as<std::string>();
    Json files = Json::Parse(r[0][4].as<std::string>());
    for (const auto& [k, v] : files.items()) out.files[k] = v.AsString();
    out.files[kCheckpointManifestName] = out.sha256;
    return out;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "resolve model version");
  }
}

absl::StatusOr<VersionFiles> ModelService::ResolveForDownload(
    const CallContext& call, const pb::DownloadModelVersionRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadModels));
  ASSIGN_OR_RETURN(VersionFiles v, Resolve(call, req.model(), req.version_id()));
  if (!req.file().empty()) {
    auto it = v.files.find(req.file());
    if (it == v.files.end()) {
      return MakeError(absl::StatusCode::kNotFound, "UNKNOWN_FILE",
                       absl::StrCat("version ", v.id, " has no file \"", req.file(), "\""),
                       {{"field", "file"}});
    }
    v.files = {{it->first, it->second}};
  }
  return v;
}

absl::StatusOr<pb::SampleResponse> ModelService::Sample(const CallContext& call,
                                                        const pb::SampleRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kReadModels));
  ASSIGN_OR_RETURN(VersionFiles v, Resolve(call, req.model(), req.version_id()));
  auto recorded = v.files.find("sample.png");
  if (recorded == v.files.end() || !store_->HasFile(v.uri, "sample.png")) {
    return MakeError(absl::StatusCode::kNotFound, "NO_SAMPLE",
                     absl::StrCat("version ", v.id, " of model \"", req.model(),
                                  "\" has no stored sample grid (sample.png); the server does "
                                  "not run the engine"),
                     {{"version_id", std::to_string(v.id)}});
  }
  ASSIGN_OR_RETURN(std::string png,
                   ReadVerifiedFile(*store_, v.uri, "sample.png", recorded->second));
  pb::SampleResponse out;
  out.set_version_id(v.id);
  out.set_sha256(recorded->second);
  out.set_png(std::move(png));
  return out;
}

absl::Status ModelService::StreamFiles(const VersionFiles& v, int64_t chunk_bytes,
                                       const std::function<absl::Status(pb::DownloadChunk)>& emit) {
  for (const auto& [name, sha] : v.files) {
    RETURN_IF_ERROR(StreamVerifiedFile(*store_, v.uri, name, sha, chunk_bytes,
                                       [&](FileChunk piece) -> absl::Status {
                                         pb::DownloadChunk chunk;
                                         chunk.set_version_id(v.id);
                                         chunk.set_version_sha256(v.sha256);
                                         chunk.set_file_name(name);
                                         chunk.set_file_size(piece.size);
                                         chunk.set_file_sha256(sha);
                                         chunk.set_offset(piece.offset);
                                         chunk.set_last(piece.last);
                                         *chunk.mutable_data() = std::move(piece.data);
                                         return emit(std::move(chunk));
                                       }));
  }
  return absl::OkStatus();
}

absl::StatusOr<pb::Model> ModelService::Register(const CallContext& call,
                                                 const pb::RegisterModelRequest& req) {
  RETURN_IF_ERROR(Require(call.principal, Permission::kRegisterModel));
  RETURN_IF_ERROR(CheckModelName("name", req.name()));
  RETURN_IF_ERROR(CheckText("checkpoint_dir", req.checkpoint_dir(), TextRule{4096, true, false}));
  RETURN_IF_ERROR(
      CheckText("dataset_items_file", req.dataset_items_file(), TextRule{4096, true, false}));
  struct Dim {
    const char* field;
    int value;
    int max;
  };
  for (const Dim& d :
       {Dim{"item_width", req.item_width(), 8192}, Dim{"item_height", req.item_height(), 8192},
        Dim{"item_channels", req.item_channels(), 3}}) {
    if (d.value < 0 || d.value > d.max) {
      return InvalidField(d.field, absl::StrCat(d.value, " is outside [0, ", d.max, "]"),
                          "OUT_OF_RANGE");
    }
  }
  if (req.item_channels() == 2) {
    return InvalidField("item_channels", "must be 1 (gray) or 3 (RGB)", "OUT_OF_RANGE");
  }
  auto start = std::chrono::steady_clock::now();
  std::string manifest_path = JoinPath(req.checkpoint_dir(), kCheckpointManifestName);
  ASSIGN_OR_RETURN(std::string manifest_text,
                   ReadServerFile("checkpoint_dir", manifest_path, 16 << 20));
  ASSIGN_OR_RETURN(CheckpointManifest manifest,
                   ParseCheckpointManifest(manifest_text, manifest_path));
  ASSIGN_OR_RETURN(
      std::string items_text,
      ReadServerFile("dataset_items_file", req.dataset_items_file(), int64_t(4) << 30));
  ASSIGN_OR_RETURN(
      std::vector<DatasetItem> items,
      ParseDatasetManifest(items_text, req.dataset_items_file(), manifest.num_classes));
  items_text.clear();
  items_text.shrink_to_fit();

  std::string digest = Sha256Hex(manifest_text);
  std::map<std::string, std::string> files = manifest.files;
  std::string sample = JoinPath(req.checkpoint_dir(), "sample.png");
  if (PathExists(sample) && !files.count("sample.png")) {
    try {
      files["sample.png"] = Sha256FileHex(sample);
    } catch (const std::exception& e) {
      return InvalidField("checkpoint_dir", e.what(), "UNREADABLE_FILE");
    }
  }
  {
    // Refuse early (before copying files) when the name is taken.
    ASSIGN_OR_RETURN(auto lease, db_->Acquire(call.deadline));
    try {
      pqxx::nontransaction tx(lease.conn());
      if (!tx.exec_params("SELECT 1 FROM models WHERE name = $1", req.name()).empty()) {
        return MakeError(absl::StatusCode::kAlreadyExists, "MODEL_EXISTS",
                         absl::StrCat("model \"", req.name(), "\" is already registered"),
                         {{"field", "name"}});
      }
    } catch (const std::exception& e) {
      return StatusFromDbException(e, "check model name");
    }
  }
  ASSIGN_OR_RETURN(std::string uri,
                   store_->PutVersion(req.name(), digest, req.checkpoint_dir(), files));

  int item_w = req.item_width() ? req.item_width() : int(manifest.resolution);
  int item_h = req.item_height() ? req.item_height() : int(manifest.resolution);
  int item_c = req.item_channels() ? req.item_channels() : int(manifest.img_channels);
  int64_t train_items = 0;
  for (const DatasetItem& item : items) train_items += item.split == "train" ? 1 : 0;
  Json files_json = Json::Object();
  for (const auto& [k, v] : files) files_json[k] = v;

  DbPool::TxnOptions opts;
  opts.deadline = call.deadline;
  opts.max_retries = 0;
  int64_t version_id = 0;
  absl::Status st = db_->Transact(opts, [&](pqxx::work& tx) -> absl::Status {
    pqxx::result exists = tx.exec_params("SELECT 1 FROM models WHERE name = $1", req.name());
    if (!exists.empty()) {
      return MakeError(absl::StatusCode::kAlreadyExists, "MODEL_EXISTS",
                       absl::StrCat("model \"", req.name(), "\" is already registered"),
                       {{"field", "name"}});
    }
    tx.exec_params(
        "INSERT INTO models (name, num_classes, resolution, img_channels, preset, item_width,"
        " item_height, item_channels, dataset_name, dataset_fingerprint, config)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)",
        req.name(), manifest.num_classes, manifest.resolution, manifest.img_channels,
        manifest.preset, item_w, item_h, item_c, manifest.dataset_name,
        manifest.dataset_fingerprint, manifest.config.Dump());
    version_id = tx.exec_params1(
                       "INSERT INTO model_versions (model, sha256, uri, state, files)"
                       " VALUES ($1, $2, $3, 'active', $4::jsonb) RETURNING id",
                       req.name(), digest, uri, files_json.Dump())[0]
                     .as<int64_t>();
    tx.exec_params("UPDATE models SET production_version = $2 WHERE name = $1", req.name(),
                   version_id);
    {
      pqxx::stream_to copy(
          tx, "dataset_items",
          std::vector<std::string>{"model", "item_id", "sha256", "label", "split"});
      for (const DatasetItem& item : items) {
        copy << std::make_tuple(req.name(), item.id, item.sha256, item.label, item.split);
      }
      copy.complete();
    }
    // Fresh statistics now: until autovacuum gets to it the planner would guess, and a
    // guess can turn every submit's item lookup into a scan of the whole manifest.
    tx.exec("ANALYZE dataset_items");
    Json payload = Json::Object();
    payload["model"] = req.name();
    payload["version_id"] = version_id;
    payload["version_sha256"] = digest;
    payload["item_count"] = int64_t(items.size());
    payload["train_item_count"] = train_items;
    payload["dataset_name"] = manifest.dataset_name;
    payload["dataset_fingerprint"] = manifest.dataset_fingerprint;
    AppendAudit(tx, call.principal.Actor(), "model.registered", "", payload);
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(st);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log_->Info("model.registered", {{"model", req.name()},
                                  {"version_id", version_id},
                                  {"items", int64_t(items.size())},
                                  {"seconds", secs},
                                  {"actor", call.principal.Actor()}});
  pb::GetModelRequest get;
  get.set_name(req.name());
  return Get(call, get);
}

}  // namespace lethe
