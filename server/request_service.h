// Forget requests: the logic behind the Unlearning service, free of gRPC. Each method
// authorises the caller, validates, and reads or writes in one transaction; a submit is
// answered only after its commit (see SubmitWriter).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db.h"
#include "common/logging.h"
#include "lethe/v1/unlearning.pb.h"
#include "server/call_context.h"
#include "server/model_catalog.h"
#include "server/server_config.h"
#include "server/submit_items.h"
#include "server/submit_validator.h"
#include "server/submit_writer.h"

namespace lethe {

class RequestService {
 public:
  RequestService(DbPool* db, ModelCatalog* models, SubmitWriter* writer, Logger* log,
                 RequestLimits limits, std::string subject_salt);

  absl::StatusOr<lethe::v1::ForgetRequest> Submit(const CallContext& call,
                                                  const lethe::v1::SubmitForgetRequestRequest& req);
  absl::StatusOr<lethe::v1::ForgetRequest> Get(const CallContext& call,
                                               const lethe::v1::GetForgetRequestRequest& req);
  absl::StatusOr<lethe::v1::ListForgetRequestsResponse> List(
      const CallContext& call, const lethe::v1::ListForgetRequestsRequest& req);
  absl::StatusOr<lethe::v1::ForgetRequest> Cancel(const CallContext& call,
                                                  const lethe::v1::CancelForgetRequestRequest& req);
  absl::StatusOr<lethe::v1::ForgetRequest> ExtendDeadline(
      const CallContext& call, const lethe::v1::ExtendDeadlineRequest& req);

  // The request without its items, for WatchForgetRequest (same authorisation as Get).
  absl::StatusOr<lethe::v1::ForgetRequest> Snapshot(const CallContext& call, const std::string& id);

 private:
  absl::StatusOr<lethe::v1::ForgetRequest> Load(const CallContext& call, const std::string& id,
                                                bool with_items, Permission read_all);
  absl::StatusOr<lethe::v1::ForgetRequest> ExistingForKey(const CallContext& call,
                                                          const std::string& key,
                                                          const std::string& body_sha256,
                                                          bool* found);
  // Class requests: the number of training items of the class not yet forgotten
  // (OUT_OF_RANGE, EMPTY_CLASS or ALREADY_FORGOTTEN when there is nothing to forget).
  absl::StatusOr<int64_t> CountClassItems(const CallContext& call, const ModelInfo& model,
                                          int label);
  // Item requests: one round trip for the named ids, the uploads' pixel hashes and the
  // idempotency key (*key_taken); MatchSubmitItems decides what the rows mean.
  absl::StatusOr<ItemLookup> LookupItems(const CallContext& call, const ValidatedSubmit& v,
                                         const std::string& model,
                                         const std::vector<std::string>& pixel_hashes,
                                         bool* key_taken);

  DbPool* db_;
  ModelCatalog* models_;
  SubmitWriter* writer_;
  Logger* log_;
  RequestLimits limits_;
  std::string subject_salt_;
};

// Declares the prepared statements RequestService uses on a new pool connection.
void PrepareRequestStatements(pqxx::connection& conn);
extern const char kSubmitLookupStatement[];

// Column list and row conversion shared by the readers of forget_requests.
extern const char kForgetRequestColumns[];
lethe::v1::ForgetRequest ForgetRequestFromRow(const pqxx::row& row);

}  // namespace lethe
