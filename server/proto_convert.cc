#include "server/proto_convert.h"

namespace lethe {

const char* ModeToDb(pb::ForgetMode mode) {
  return mode == pb::FORGET_MODE_ZERO_SHOT ? "zero_shot" : "few_shot";
}

pb::ForgetMode ModeFromDb(const std::string& s) {
  if (s == "few_shot") return pb::FORGET_MODE_FEW_SHOT;
  if (s == "zero_shot") return pb::FORGET_MODE_ZERO_SHOT;
  return pb::FORGET_MODE_UNSPECIFIED;
}

const char* SubstituteToDb(pb::Substitute s) {
  switch (s) {
    case pb::SUBSTITUTE_TRUNCATION:
      return "truncation";
    case pb::SUBSTITUTE_PROJECTION:
      return "projection";
    case pb::SUBSTITUTE_OTHER_CLASS:
      return "other_class";
    default:
      return "average";
  }
}

pb::Substitute SubstituteFromDb(const std::string& s) {
  if (s == "average") return pb::SUBSTITUTE_AVERAGE;
  if (s == "truncation") return pb::SUBSTITUTE_TRUNCATION;
  if (s == "projection") return pb::SUBSTITUTE_PROJECTION;
  if (s == "other_class") return pb::SUBSTITUTE_OTHER_CLASS;
  return pb::SUBSTITUTE_UNSPECIFIED;
}

namespace {
struct GroundName {
  pb::LegalGround ground;
  const char* db;
};
constexpr GroundName kGrounds[] = {
    {pb::LEGAL_GROUND_ART17_1A_NO_LONGER_NECESSARY, "art17_1a"},
    {pb::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN, "art17_1b"},
    {pb::LEGAL_GROUND_ART17_1C_OBJECTION, "art17_1c"},
    {pb::LEGAL_GROUND_ART17_1D_UNLAWFULLY_PROCESSED, "art17_1d"},
    {pb::LEGAL_GROUND_ART17_1E_LEGAL_OBLIGATION, "art17_1e"},
    {pb::LEGAL_GROUND_ART17_1F_CHILD_INFORMATION_SOCIETY, "art17_1f"},
    {pb::LEGAL_GROUND_OTHER, "other"},
};

struct StateName {
  pb::RequestState state;
  const char* db;
};
constexpr StateName kStates[] = {
    {pb::REQUEST_STATE_RECEIVED, "received"}, {pb::REQUEST_STATE_QUEUED, "queued"},
    {pb::REQUEST_STATE_RUNNING, "running"},   {pb::REQUEST_STATE_COMPLETED, "completed"},
    {pb::REQUEST_STATE_FAILED, "failed"},     {pb::REQUEST_STATE_CANCELLED, "cancelled"},
};

struct DestinationName {
  pb::DestinationPolicy policy;
  const char* db;
};
constexpr DestinationName kDestinations[] = {
    {pb::DESTINATION_POLICY_FORGET_AUC, "forget_auc"},
    {pb::DESTINATION_POLICY_NON_MEMBER, "non_member"},
    {pb::DESTINATION_POLICY_CLASS_FD_RELATIVE, "class_fd_relative"},
    {pb::DESTINATION_POLICY_CLASS_FD_ABSOLUTE, "class_fd_absolute"},
    {pb::DESTINATION_POLICY_GENERATOR, "generator"},
};
}  // namespace

const char* LegalGroundToDb(pb::LegalGround g) {
  for (const auto& n : kGrounds) {
    if (n.ground == g) return n.db;
  }
  return "";
}

pb::LegalGround LegalGroundFromDb(const std::string& s) {
  for (const auto& n : kGrounds) {
    if (s == n.db) return n.ground;
  }
  return pb::LEGAL_GROUND_UNSPECIFIED;
}

const char* StateToDb(pb::RequestState s) {
  for (const auto& n : kStates) {
    if (n.state == s) return n.db;
  }
  return "";
}

pb::RequestState StateFromDb(const std::string& s) {
  for (const auto& n : kStates) {
    if (s == n.db) return n.state;
  }
  return pb::REQUEST_STATE_UNSPECIFIED;
}

pb::Phase PhaseFromDb(const std::string& s) {
  if (s == "inverting") return pb::PHASE_INVERTING;
  if (s == "unlearning") return pb::PHASE_UNLEARNING;
  if (s == "evaluating") return pb::PHASE_EVALUATING;
  if (s == "publishing") return pb::PHASE_PUBLISHING;
  return pb::PHASE_UNSPECIFIED;
}

const char* DestinationToDb(pb::DestinationPolicy p) {
  for (const auto& n : kDestinations) {
    if (n.policy == p) return n.db;
  }
  return "";
}

pb::DestinationPolicy DestinationFromDb(const std::string& s) {
  for (const auto& n : kDestinations) {
    if (s == n.db) return n.policy;
  }
  return pb::DESTINATION_POLICY_UNSPECIFIED;
}

const char* FakeLabelTargetToDb(pb::FakeLabelTarget t) {
  if (t == pb::FAKE_LABEL_TARGET_SIGMOID) return "sigmoid";
  if (t == pb::FAKE_LABEL_TARGET_LOGIT) return "logit";
  return "";
}

pb::FakeLabelTarget FakeLabelTargetFromDb(const std::string& s) {
  if (s == "sigmoid") return pb::FAKE_LABEL_TARGET_SIGMOID;
  if (s == "logit") return pb::FAKE_LABEL_TARGET_LOGIT;
  return pb::FAKE_LABEL_TARGET_UNSPECIFIED;
}

pb::VersionState VersionStateFromDb(const std::string& s) {
  if (s == "active") return pb::VERSION_STATE_ACTIVE;
  if (s == "superseded") return pb::VERSION_STATE_SUPERSEDED;
  if (s == "purged") return pb::VERSION_STATE_PURGED;
  return pb::VERSION_STATE_UNSPECIFIED;
}

pb::Role RoleToProto(const std::string& r) {
  if (r == "dpo") return pb::ROLE_DPO;
  if (r == "service") return pb::ROLE_SERVICE;
  if (r == "operator") return pb::ROLE_OPERATOR;
  if (r == "admin") return pb::ROLE_ADMIN;
  return pb::ROLE_UNSPECIFIED;
}

bool IsTerminalState(const std::string& s) {
  return s == "completed" || s == "failed" || s == "cancelled";
}

Json HyperparametersToJson(const pb::Hyperparameters& h) {
  Json j = Json::Object();
  if (h.has_fake_label()) j["fake_label"] = h.fake_label();
  if (h.fake_label_target() != pb::FAKE_LABEL_TARGET_UNSPECIFIED) {
    j["fake_label_target"] = FakeLabelTargetToDb(h.fake_label_target());
  }
  if (h.has_alpha_pixel()) j["alpha_pixel"] = h.alpha_pixel();
  if (h.has_alpha_perceptual()) j["alpha_perceptual"] = h.alpha_perceptual();
  if (h.destination() != pb::DESTINATION_POLICY_UNSPECIFIED) {
    j["destination"] = DestinationToDb(h.destination());
  }
  if (h.has_destination_threshold()) j["destination_threshold"] = h.destination_threshold();
  if (h.has_iteration_budget()) j["iteration_budget"] = int64_t(h.iteration_budget());
  if (h.has_truncation_psi()) j["truncation_psi"] = h.truncation_psi();
  return j;
}

pb::Hyperparameters HyperparametersFromJson(const Json& j) {
  pb::Hyperparameters h;
  if (!j.is_object()) return h;
  if (j.Has("fake_label")) h.set_fake_label(j.at("fake_label").AsDouble());
  h.set_fake_label_target(FakeLabelTargetFromDb(j.GetString("fake_label_target", "")));
  if (j.Has("alpha_pixel")) h.set_alpha_pixel(j.at("alpha_pixel").AsDouble());
  if (j.Has("alpha_perceptual")) h.set_alpha_perceptual(j.at("alpha_perceptual").AsDouble());
  h.set_destination(DestinationFromDb(j.GetString("destination", "")));
  if (j.Has("destination_threshold")) {
    h.set_destination_threshold(j.at("destination_threshold").AsDouble());
  }
  if (j.Has("iteration_budget")) h.set_iteration_budget(int32_t(j.at("iteration_budget").AsInt()));
  if (j.Has("truncation_psi")) h.set_truncation_psi(j.at("truncation_psi").AsDouble());
  return h;
}

pb::Progress ProgressFromJson(const Json& j) {
  pb::Progress p;
  if (!j.is_object()) return p;
  p.set_phase(PhaseFromDb(j.GetString("phase", "")));
  p.set_fraction(j.GetDouble("fraction", 0));
  p.set_iteration(j.GetInt("iteration", 0));
  p.set_iteration_budget(j.GetInt("iteration_budget", 0));
  p.set_message(j.GetString("message", ""));
  if (j.Has("metrics") && j.at("metrics").is_object()) {
    for (const auto& [k, v] : j.at("metrics").items()) {
      if (v.is_number()) (*p.mutable_metrics())[k] = v.AsDouble();
    }
  }
  return p;
}

void SetTimestamp(int64_t us, google::protobuf::Timestamp* ts) {
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    secs -= 1;
  }
  ts->set_seconds(secs);
  ts->set_nanos(int32_t(rem * 1000));
}

}  // namespace lethe
