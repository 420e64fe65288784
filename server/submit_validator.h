// Everything about a SubmitForgetRequest that can be checked without the database:
// field formats, enum values, hyperparameter ranges, limits, and the canonical body whose
// hash makes the request idempotent (AIP-155). The checks are tables of rules so each
// limit is visible in one place.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/json.h"
#include "lethe/v1/unlearning.pb.h"
#include "server/server_config.h"

namespace lethe {

struct ValidatedUpload {
  std::string name;
  const std::string* png = nullptr;  // points into the request message
  std::string png_sha256;            // of the uploaded bytes (for the body hash)
};

// The request, checked and normalised (defaults applied, stored spellings).
struct ValidatedSubmit {
  std::string idempotency_key;  // lowercase UUID
  std::string model;
  std::string kind;  // "items" | "class"
  std::optional<int> class_label;
  std::vector<std::string> item_ids;  // in request order, no duplicates
  std::vector<ValidatedUpload> uploads;
  std::string mode;        // "few_shot" | "zero_shot"
  std::string substitute;  // "average" | "truncation" | "projection" | "other_class"
  Json params;             // HyperparametersToJson
  std::string legal_ground;
  std::string legal_ground_text;
  std::string subject_hash;  // "" when no subject reference was given
  bool forget_unmatched_images = false;
  Json canonical_body;  // what body_sha256 hashes
  std::string body_sha256;
};

// INVALID_ARGUMENT naming the first offending field, with reason and field metadata.
absl::StatusOr<ValidatedSubmit> ValidateSubmit(const lethe::v1::SubmitForgetRequestRequest& req,
                                               const RequestLimits& limits,
                                               const std::string& subject_salt);

// Salted SHA-256 of a data-subject reference (hex).
std::string HashSubjectReference(const std::string& salt, const std::string& reference);

}  // namespace lethe
