// How lethectl reports a failed call: one line with the gRPC code name, the server's
// message and the machine-readable reason (lethe.v1.ErrorDetail from the status's binary
// details), and an exit status a script can branch on.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "lethe/v1/common.pb.h"

namespace lethe::cli {

// Exit statuses of lethectl (docs/api.md lists them).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,            // anything else (I/O, INTERNAL, verification failures)
  kExitUsage = 2,              // bad command line, or INVALID_ARGUMENT / OUT_OF_RANGE
  kExitNotFound = 3,           // NOT_FOUND
  kExitPermission = 4,         // PERMISSION_DENIED, UNAUTHENTICATED
  kExitConflict = 5,           // ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED
  kExitUnavailable = 6,        // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED: retry later
  kExitAuditBroken = 7,        // audit verify found a bad record
  kExitRequestFailed = 10,     // watch: the request ended FAILED
  kExitRequestCancelled = 11,  // watch: the request ended CANCELLED
};

// "NOT_FOUND", "PERMISSION_DENIED", ...
std::string StatusCodeName(grpc::StatusCode code);
int ExitCodeForStatus(grpc::StatusCode code);

// The ErrorDetail carried in `details` (grpc::Status::error_details()): either the
// serialized ErrorDetail itself (what lethe-server sends) or a google.rpc.Status whose
// details hold one as an Any. nullopt when there is none.
std::optional<lethe::v1::ErrorDetail> ParseErrorDetail(const std::string& details);

// One line: "NOT_FOUND: unknown item ids: train/9 [reason=UNKNOWN_ITEMS item_ids=train/9]".
// Newlines in the message become spaces so the report stays one line.
std::string FormatRpcError(const grpc::Status& status);

}  // namespace lethe::cli
