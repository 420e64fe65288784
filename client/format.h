// What lethectl prints: aligned tables and key/value views for people, one JSON document
// (the proto3 JSON mapping, snake_case field names, every field present) for scripts.
// Pure functions from messages to text, so the layout is unit-tested.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lethe/v1/audit.pb.h"
#include "lethe/v1/models.pb.h"
#include "lethe/v1/tokens.pb.h"
#include "lethe/v1/unlearning.pb.h"

namespace lethe::cli {

// Columns padded to their widest cell (counted in UTF-8 code points), two spaces apart;
// the last column is not padded. Empty cells print as "-".
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the keys aligned; empty values print as "-".
std::string FormatKeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

// The proto3 JSON mapping of `message`, pretty-printed, field names as in the .proto,
// unset scalars included (so scripts see "state" even when it is the default).
std::string MessageToJson(const google::protobuf::Message& message);

// "2024-05-01T12:34:56Z"; "" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);
// "2024-05-01T12:34:56.123456Z": the form the audit chain hashes.
std::string FormatTimestampMicros(const google::protobuf::Timestamp& ts);
// "42s", "3m05s", "2h07m", "3d04h"; negative values print as "0s".
std::string FormatDuration(double seconds);
// First `n` characters of a hex digest ("" stays "").
std::string ShortHash(const std::string& hex, size_t n = 12);
// Shortest round-trip form of a metric value ("0.8123", "12.5", "nan").
std::string FormatNumber(double value);

// Enum values without their type prefix, lowercase, '-' separated:
// REQUEST_STATE_QUEUED -> "queued", LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN ->
// "art17-1b-consent-withdrawn". Unknown numbers print as the number.
std::string EnumName(const google::protobuf::EnumDescriptor* type, int value);
std::string StateName(lethe::v1::RequestState state);
std::string PhaseName(lethe::v1::Phase phase);
std::string RoleName(lethe::v1::Role role);

// "items (3)", "class 7".
std::string DescribeTarget(const lethe::v1::ForgetRequest& request);
// "auc_u=0.81 fd_l=3.2" in key order; "" when empty.
std::string FormatMetricMap(const google::protobuf::Map<std::string, double>& metrics);

// Human views.
std::string FormatRequestList(const std::vector<lethe::v1::ForgetRequest>& requests);
std::string FormatRequestDetail(const lethe::v1::ForgetRequest& request);
std::string FormatModelList(const std::vector<lethe::v1::Model>& models);
std::string FormatModelDetail(const lethe::v1::Model& model);
std::string FormatAuditList(const std::vector<lethe::v1::AuditRecord>& records);
std::string FormatAuditVerification(const lethe::v1::VerifyAuditChainResponse& response);
std::string FormatTokenList(const std::vector<lethe::v1::ApiToken>& tokens);
// With `secret` (token create only), the secret is shown as the last row.
std::string FormatTokenDetail(const lethe::v1::ApiToken& token, const std::string& secret = "");

}  // namespace lethe::cli
