#include "server/submit_validator.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "engine/base/sha256.h"
#include "server/proto_convert.h"

namespace lethe {
namespace {

namespace pb = ::lethe::v1;
using H = pb::Hyperparameters;

// Optional numeric hyperparameters and their ranges.
struct NumberRule {
  const char* field;
  bool (H::*has)() const;
  double (H::*get)() const;
  double min, max;
  bool min_inclusive, max_inclusive;
};

constexpr NumberRule kNumberRules[] = {
    {"hyperparameters.fake_label", &H::has_fake_label, &H::fake_label, -1, 1, true, true},
    {"hyperparameters.alpha_pixel", &H::has_alpha_pixel, &H::alpha_pixel, 0, 1e6, true, true},
    {"hyperparameters.alpha_perceptual", &H::has_alpha_perceptual, &H::alpha_perceptual, 0, 1e6,
     true, true},
    {"hyperparameters.truncation_psi", &H::has_truncation_psi, &H::truncation_psi, 0, 1, true,
     false},
};

// Substitutes each kind accepts.
struct SubstituteRule {
  pb::Substitute substitute;
  bool items;
  bool klass;
};
constexpr SubstituteRule kSubstituteRules[] = {
    {pb::SUBSTITUTE_UNSPECIFIED, true, true},  {pb::SUBSTITUTE_AVERAGE, true, true},
    {pb::SUBSTITUTE_TRUNCATION, true, false},  {pb::SUBSTITUTE_PROJECTION, true, false},
    {pb::SUBSTITUTE_OTHER_CLASS, false, true},
};

// Destination policies: which kinds accept them and the threshold range.
struct DestinationRule {
  pb::DestinationPolicy policy;
  bool items;
  bool klass;
  bool threshold_required;
  double min, max;
  bool min_inclusive;
  bool max_inclusive;  // the same open/closed bounds the engine enforces
};
constexpr DestinationRule kDestinationRules[] = {
    {pb::DESTINATION_POLICY_UNSPECIFIED, true, true, false, 0, 1, true, true},
    {pb::DESTINATION_POLICY_FORGET_AUC, true, true, false, 0.5, 1, false, true},
    {pb::DESTINATION_POLICY_NON_MEMBER, true, true, false, 0, 0.5, false, false},
    {pb::DESTINATION_POLICY_CLASS_FD_RELATIVE, false, true, false, 0, 100, false, true},
    {pb::DESTINATION_POLICY_CLASS_FD_ABSOLUTE, false, true, true, 0, 1e9, false, true},
    {pb::DESTINATION_POLICY_GENERATOR, true, true, false, 0, 0.5, false, false},
};

absl::Status CheckHyperparameters(const H& h, bool is_class, pb::Substitute substitute,
                                  const RequestLimits& limits) {
  for (const NumberRule& r : kNumberRules) {
    if ((h.*r.has)()) {
      RETURN_IF_ERROR(
          CheckRange(r.field, (h.*r.get)(), r.min, r.max, r.min_inclusive, r.max_inclusive));
    }
  }
  if (!pb::FakeLabelTarget_IsValid(h.fake_label_target())) {
    return InvalidField("hyperparameters.fake_label_target",
                        absl::StrCat("unknown value ", h.fake_label_target()), "UNKNOWN_ENUM");
  }
  if (h.has_iteration_budget() &&
      (h.iteration_budget() < 1 || h.iteration_budget() > limits.max_iteration_budget)) {
    return InvalidField(
        "hyperparameters.iteration_budget",
        absl::StrCat(h.iteration_budget(), " is outside [1, ", limits.max_iteration_budget, "]"),
        "OUT_OF_RANGE");
  }
  if (h.has_truncation_psi() && substitute != pb::SUBSTITUTE_TRUNCATION &&
      substitute != pb::SUBSTITUTE_PROJECTION) {
    return InvalidField("hyperparameters.truncation_psi",
                        "applies only to the TRUNCATION and PROJECTION substitutes",
                        "NOT_APPLICABLE");
  }
  const DestinationRule* rule = nullptr;
  for (const DestinationRule& r : kDestinationRules) {
    if (r.policy == h.destination()) rule = &r;
  }
  if (rule == nullptr) {
    return InvalidField("hyperparameters.destination",
                        absl::StrCat("unknown value ", h.destination()), "UNKNOWN_ENUM");
  }
  if (is_class ? !rule->klass : !rule->items) {
    return InvalidField("hyperparameters.destination",
                        absl::StrCat(pb::DestinationPolicy_Name(h.destination()),
                                     " applies only to class requests"),
                        "NOT_APPLICABLE");
  }
  if (h.destination() == pb::DESTINATION_POLICY_UNSPECIFIED && h.has_destination_threshold()) {
    return InvalidField("hyperparameters.destination_threshold",
                        "needs an explicit hyperparameters.destination (its range depends on "
                        "the policy)",
                        "NOT_APPLICABLE");
  }
  if (rule->threshold_required && !h.has_destination_threshold()) {
    return InvalidField(
        "hyperparameters.destination_threshold",
        absl::StrCat("is required for ", pb::DestinationPolicy_Name(h.destination())),
        "MISSING_FIELD");
  }
  if (h.has_destination_threshold()) {
    RETURN_IF_ERROR(CheckRange("hyperparameters.destination_threshold", h.destination_threshold(),
                               rule->min, rule->max, rule->min_inclusive, rule->max_inclusive));
  }
  return absl::OkStatus();
}

}  // namespace

std::string HashSubjectReference(const std::string& salt, const std::string& reference) {
  Sha256 h;
  h.Update("lethe-subject\n");
  h.Update(salt);
  h.Update("\n");
  h.Update(reference);
  return h.FinishHex();
}

absl::StatusOr<ValidatedSubmit> ValidateSubmit(const pb::SubmitForgetRequestRequest& req,
                                               const RequestLimits& limits,
                                               const std::string& subject_salt) {
  ValidatedSubmit out;
  if (req.request_id().empty()) {
    return InvalidField("request_id", "is required (a UUID chosen by the client)", "MISSING_FIELD");
  }
  if (!IsUuid(req.request_id())) {
    return InvalidField("request_id", "is not a UUID (8-4-4-4-12 hex digits)", "INVALID_UUID");
  }
  out.idempotency_key = LowercaseUuid(req.request_id());
  RETURN_IF_ERROR(CheckModelName("model", req.model()));
  out.model = req.model();

  // Enums first: proto3 enums are open, so any integer can arrive.
  if (!pb::ForgetMode_IsValid(req.mode())) {
    return InvalidField("mode", absl::StrCat("unknown value ", req.mode()), "UNKNOWN_ENUM");
  }
  if (!pb::Substitute_IsValid(req.substitute())) {
    return InvalidField("substitute", absl::StrCat("unknown value ", req.substitute()),
                        "UNKNOWN_ENUM");
  }
  if (!pb::LegalGround_IsValid(req.legal_ground())) {
    return InvalidField("legal_ground", absl::StrCat("unknown value ", req.legal_ground()),
                        "UNKNOWN_ENUM");
  }

  bool is_class = false;
  switch (req.target_case()) {
    case pb::SubmitForgetRequestRequest::kItems: {
      const pb::ItemsTarget& items = req.items();
      int64_t total = int64_t(items.item_ids_size()) + items.images_size();
      if (total == 0) {
        return InvalidField("items", "names no item ids and no images", "EMPTY_TARGET");
      }
      if (total > limits.max_items) {
        return MakeError(absl::StatusCode::kInvalidArgument, "TOO_MANY_ITEMS",
                         absl::StrCat("items: ", total, " items and images; the limit is ",
                                      limits.max_items, " per request"),
                         {{"field", "items"}, {"limit", std::to_string(limits.max_items)}});
      }
      if (items.images_size() > limits.max_images) {
        return MakeError(absl::StatusCode::kInvalidArgument, "TOO_MANY_IMAGES",
                         absl::StrCat("items.images: ", items.images_size(),
                                      " images; the limit is ", limits.max_images, " per request"),
                         {{"field", "items.images"}});
      }
      std::set<std::string> seen;
      for (int i = 0; i < items.item_ids_size(); ++i) {
        const std::string& id = items.item_ids(i);
        std::string field = absl::StrCat("items.item_ids[", i, "]");
        RETURN_IF_ERROR(CheckItemId(field, id));
        if (!seen.insert(id).second) {
          return InvalidField(field, absl::StrCat("\"", id, "\" is listed twice"),
                              "DUPLICATE_ITEM_ID");
        }
        out.item_ids.push_back(id);
      }
      for (int i = 0; i < items.images_size(); ++i) {
        const pb::UploadedImage& img = items.images(i);
        std::string field = absl::StrCat("items.images[", i, "]");
        RETURN_IF_ERROR(CheckText(field + ".name", img.name(), TextRule{256, false, false}));
        if (img.png().empty()) return InvalidField(field + ".png", "is empty", "EMPTY_IMAGE");
        if (int64_t(img.png().size()) > limits.max_image_bytes) {
          return MakeError(absl::StatusCode::kInvalidArgument, "IMAGE_TOO_LARGE",
                           absl::StrCat(field, ".png: ", img.png().size(), " bytes; the limit is ",
                                        limits.max_image_bytes),
                           {{"field", field + ".png"}});
        }
        out.uploads.push_back({img.name(), &img.png(), Sha256Hex(img.png())});
      }
      out.kind = "items";
      break;
    }
    case pb::SubmitForgetRequestRequest::kClassTarget:
      if (req.class_target().label() < 0) {
        return InvalidField("class_target.label",
                            absl::StrCat(req.class_target().label(), " is negative"),
                            "OUT_OF_RANGE");
      }
      out.class_label = req.class_target().label();
      out.kind = "class";
      is_class = true;
      break;
    default:
      return InvalidField("target", "set either items or class_target", "MISSING_FIELD");
  }

  for (const SubstituteRule& r : kSubstituteRules) {
    if (r.substitute == req.substitute() && !(is_class ? r.klass : r.items)) {
      return InvalidField("substitute",
                          absl::StrCat(pb::Substitute_Name(req.substitute()),
                                       is_class ? " applies only to item requests (class requests "
                                                  "take AVERAGE or OTHER_CLASS)"
                                                : " applies only to class requests (item requests "
                                                  "take AVERAGE, TRUNCATION or PROJECTION)"),
                          "NOT_APPLICABLE");
    }
  }
  if (req.forget_unmatched_images() && is_class) {
    return InvalidField("forget_unmatched_images", "applies only to item requests",
                        "NOT_APPLICABLE");
  }
  RETURN_IF_ERROR(CheckHyperparameters(req.hyperparameters(), is_class, req.substitute(), limits));

  if (req.legal_ground() == pb::LEGAL_GROUND_UNSPECIFIED) {
    return InvalidField("legal_ground",
                        "is required (one of GDPR Art. 17(1)(a)-(f), or OTHER with "
                        "legal_ground_text)",
                        "MISSING_FIELD");
  }
  RETURN_IF_ERROR(CheckText(
      "legal_ground_text", req.legal_ground_text(),
      TextRule{size_t(limits.max_text_bytes), req.legal_ground() == pb::LEGAL_GROUND_OTHER, true}));
  if (req.legal_ground() == pb::LEGAL_GROUND_OTHER &&
      absl::StripAsciiWhitespace(req.legal_ground_text()).empty()) {
    return InvalidField("legal_ground_text",
                        "is required with LEGAL_GROUND_OTHER: state the legal ground",
                        "MISSING_FIELD");
  }
  RETURN_IF_ERROR(CheckText("subject_reference", req.subject_reference(),
                            TextRule{size_t(limits.max_subject_bytes), false, false}));

  out.mode = ModeToDb(req.mode());
  // Unspecified: items map to the class average, a class to the nearest other class.
  out.substitute = req.substitute() == pb::SUBSTITUTE_UNSPECIFIED
                       ? (is_class ? "other_class" : "average")
                       : SubstituteToDb(req.substitute());
  out.params = HyperparametersToJson(req.hyperparameters());
  out.legal_ground = LegalGroundToDb(req.legal_ground());
  out.legal_ground_text = req.legal_ground_text();
  out.forget_unmatched_images = req.forget_unmatched_images();
  if (!req.subject_reference().empty()) {
    out.subject_hash = HashSubjectReference(subject_salt, req.subject_reference());
  }

  // The canonical body: order-insensitive sets, images by content hash, defaults applied.
  Json body = Json::Object();
  body["model"] = out.model;
  body["kind"] = out.kind;
  if (out.class_label) body["class_label"] = *out.class_label;
  std::vector<std::string> ids = out.item_ids;
  std::sort(ids.begin(), ids.end());
  body["item_ids"] = Json::ArrayOf(ids);
  std::vector<std::string> images;
  for (const auto& u : out.uploads) images.push_back(u.png_sha256);
  std::sort(images.begin(), images.end());
  body["images"] = Json::ArrayOf(images);
  body["mode"] = out.mode;
  body["substitute"] = out.substitute;
  body["params"] = out.params;
  body["legal_ground"] = out.legal_ground;
  body["legal_ground_text"] = out.legal_ground_text;
  body["subject_hash"] = out.subject_hash;
  body["forget_unmatched_images"] = out.forget_unmatched_images;
  out.body_sha256 = Sha256Hex(body.Dump());
  out.canonical_body = std::move(body);
  return out;
}

}  // namespace lethe
