// How lethectl reports a failed call: one line with the gRPC code name, the server's
// message and the machine-readable reason (the google.rpc.ErrorInfo in the status's
// google.rpc.Status details), and an exit status a script can branch on.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "google/rpc/error_details.pb.h"

namespace lethe::cli {

// Exit statuses of lethectl (docs/api.md lists them).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,            // anything else (local I/O, INTERNAL, UNKNOWN)
  kExitUsage = 2,              // bad command line, or INVALID_ARGUMENT / OUT_OF_RANGE
  kExitNotFound = 3,           // NOT_FOUND
  kExitPermission = 4,         // PERMISSION_DENIED, UNAUTHENTICATED
  kExitConflict = 5,           // ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED
  kExitUnavailable = 6,        // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED: retry later
  kExitAuditBroken = 7,        // audit verify found a bad record
  kExitIntegrity = 8,          // DATA_LOSS, or a downloaded file failed its SHA-256 check
  kExitRequestFailed = 10,     // watch: the request ended FAILED
  kExitRequestCancelled = 11,  // watch: the request ended CANCELLED
};

// "NOT_FOUND", "PERMISSION_DENIED", ...
std::string StatusCodeName(grpc::StatusCode code);
int ExitCodeForStatus(grpc::StatusCode code);

// The ErrorInfo carried in `details` (grpc::Status::error_details()): a google.rpc.Status
// whose details hold a google.rpc.ErrorInfo (what lethe-server sends), or, from older
// servers, a bare lethe.v1.ErrorDetail, alone or packed in a google.rpc.Status. nullopt
// when there is none.
std::optional<google::rpc::ErrorInfo> ParseErrorDetail(const std::string& details);

// True when `status` says the call failed before any connection to a server existed
// (connection refused, no address resolved, TLS handshake failed): the request was then
// never sent. An UNAVAILABLE from a connection that broke during the call is not one of
// these: that request may have been received.
bool CallNeverReachedServer(const grpc::Status& status);

// One line: "NOT_FOUND: unknown item ids: train/9 [reason=UNKNOWN_ITEMS item_ids=train/9]".
// Newlines in the message become spaces so the report stays one line.
std::string FormatRpcError(const grpc::Status& status);

}  // namespace lethe::cli
