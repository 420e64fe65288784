// Conversions between the stored forms (text enums, JSON documents, epoch microseconds)
// and the API's protobuf types. Pure functions; unknown stored values map to UNSPECIFIED.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/json.h"
#include "lethe/v1/audit.pb.h"
#include "lethe/v1/common.pb.h"
#include "lethe/v1/models.pb.h"
#include "lethe/v1/tokens.pb.h"
#include "lethe/v1/unlearning.pb.h"

namespace lethe {

namespace pb = ::lethe::v1;

const char* ModeToDb(pb::ForgetMode mode);  // UNSPECIFIED -> "few_shot"
pb::ForgetMode ModeFromDb(const std::string& s);
const char* SubstituteToDb(pb::Substitute s);  // UNSPECIFIED -> "average"
pb::Substitute SubstituteFromDb(const std::string& s);
const char* LegalGroundToDb(pb::LegalGround g);  // "art17_1a" ... "other"; "" for UNSPECIFIED
pb::LegalGround LegalGroundFromDb(const std::string& s);
const char* StateToDb(pb::RequestState s);  // "" for UNSPECIFIED
pb::RequestState StateFromDb(const std::string& s);
pb::Phase PhaseFromDb(const std::string& s);
const char* DestinationToDb(pb::DestinationPolicy p);  // "" for UNSPECIFIED
pb::DestinationPolicy DestinationFromDb(const std::string& s);
const char* FakeLabelTargetToDb(pb::FakeLabelTarget t);  // "" for UNSPECIFIED
pb::FakeLabelTarget FakeLabelTargetFromDb(const std::string& s);
pb::VersionState VersionStateFromDb(const std::string& s);
pb::Role RoleToProto(const std::string& db_role);

bool IsTerminalState(const std::string& db_state);

// The stored params document (forget_requests.params) <-> Hyperparameters. Only set
// fields appear: {"fake_label": 0.1, "fake_label_target": "sigmoid", "alpha_pixel": 1,
// "alpha_perceptual": 0, "destination": "forget_auc", "destination_threshold": 0.8,
// "iteration_budget": 400, "truncation_psi": 0.5}.
Json HyperparametersToJson(const pb::Hyperparameters& h);
pb::Hyperparameters HyperparametersFromJson(const Json& j);

// The stored progress document -> Progress (see migrations/0001_init.sql).
pb::Progress ProgressFromJson(const Json& j);

void SetTimestamp(int64_t epoch_micros, google::protobuf::Timestamp* ts);

}  // namespace lethe
