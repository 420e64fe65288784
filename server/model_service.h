// Models and versions: the logic behind the Models service, free of gRPC. Registration
// copies a checkpoint into the model store and loads its training manifest into
// dataset_items, all recorded in the audit log; the server never runs the engine.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/logging.h"
#include "common/model_store.h"
#include "lethe/v1/models.pb.h"
#include "server/call_context.h"

namespace lethe {

// A resolved version: what DownloadModelVersion streams.
struct VersionFiles {
  int64_t id = 0;
  std::string sha256;
  std::string uri;
  std::map<std::string, std::string> files;  // name -> sha256, manifest.json included
};

class ModelService {
 public:
  ModelService(DbPool* db, ModelStore* store, Logger* log) : db_(db), store_(store), log_(log) {}

  absl::StatusOr<lethe::v1::ListModelsResponse> List(const CallContext& call,
                                                     const lethe::v1::ListModelsRequest& req);
  absl::StatusOr<lethe::v1::Model> Get(const CallContext& call,
                                       const lethe::v1::GetModelRequest& req);
  // Version 0 = production. FAILED_PRECONDITION for purged versions.
  absl::StatusOr<VersionFiles> ResolveForDownload(
      const CallContext& call, const lethe::v1::DownloadModelVersionRequest& req);
  // Streams every file of `v` in chunks through `emit`, each verified against its recorded
  // SHA-256 (DATA_LOSS / STORED_FILE_CORRUPT otherwise; the corrupt file's final chunk is
  // never emitted). Stops at the first error `emit` returns.
  absl::Status StreamFiles(const VersionFiles& v, int64_t chunk_bytes,
                           const std::function<absl::Status(lethe::v1::DownloadChunk)>& emit);
  // The stored sample grid, verified against its recorded SHA-256.
  absl::StatusOr<lethe::v1::SampleResponse> Sample(const CallContext& call,
                                                   const lethe::v1::SampleRequest& req);
  absl::StatusOr<lethe::v1::Model> Register(const CallContext& call,
                                            const lethe::v1::RegisterModelRequest& req);

  ModelStore* store() const { return store_; }

 private:
  absl::StatusOr<VersionFiles> Resolve(const CallContext& call, const std::string& model,
                                       int64_t version_id);

  DbPool* db_;
  ModelStore* store_;
  Logger* log_;
};

}  // namespace lethe
