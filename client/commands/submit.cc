#include "client/commands/submit.h"

#include "absl/strings/str_cat.h"
#include "client/commands/command.h"
#include "client/format.h"
#include "client/request_id.h"
#include "client/rpc_error.h"

namespace lethe::cli {
namespace {

using lethe::v1::SubmitForgetRequestRequest;

absl::Status Invalid(const std::string& m) { return absl::InvalidArgumentError(m); }

const std::vector<std::pair<std::string, int>>& LegalGroundChoices() {
  static const auto* choices = new std::vector<std::pair<std::string, int>>{
      {"no-longer-necessary", lethe::v1::LEGAL_GROUND_ART17_1A_NO_LONGER_NECESSARY},
      {"consent-withdrawn", lethe::v1::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN},
      {"objection", lethe::v1::LEGAL_GROUND_ART17_1C_OBJECTION},
      {"unlawfully-processed", lethe::v1::LEGAL_GROUND_ART17_1D_UNLAWFULLY_PROCESSED},
      {"legal-obligation", lethe::v1::LEGAL_GROUND_ART17_1E_LEGAL_OBLIGATION},
      {"child-information-society", lethe::v1::LEGAL_GROUND_ART17_1F_CHILD_INFORMATION_SOCIETY},
      {"other", lethe::v1::LEGAL_GROUND_OTHER},
      {"art17-1a", lethe::v1::LEGAL_GROUND_ART17_1A_NO_LONGER_NECESSARY},
      {"art17-1b", lethe::v1::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN},
      {"art17-1c", lethe::v1::LEGAL_GROUND_ART17_1C_OBJECTION},
      {"art17-1d", lethe::v1::LEGAL_GROUND_ART17_1D_UNLAWFULLY_PROCESSED},
      {"art17-1e", lethe::v1::LEGAL_GROUND_ART17_1E_LEGAL_OBLIGATION},
      {"art17-1f", lethe::v1::LEGAL_GROUND_ART17_1F_CHILD_INFORMATION_SOCIETY},
  };
  return *choices;
}

// Plain file name of a path, for the upload's label.
std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsPng(const std::string& data) {
  static constexpr char kMagic[] = "\x89PNG\r\n\x1a\n";
  return data.size() >= 8 && data.compare(0, 8, kMagic, 8) == 0;
}

int RunSubmit(bool items, CommandContext& ctx) {
  const bool generated = !ctx.args.Has("request-id");
  absl::StatusOr<SubmitForgetRequestRequest> request =
      BuildSubmitRequest(items, ctx.args, generated ? NewRequestId() : "", ReadLocalFile);
  if (!request.ok()) {
    if (request.status().code() == absl::StatusCode::kInvalidArgument) {
      return ctx.Usage(std::string(request.status().message()));
    }
    return ctx.Fail(kExitFailure, std::string(request.status().message()));
  }
  if (generated) {
    // Printed before the call: if the reply is lost, this key retries without duplicates.
    ctx.Note(absl::StrCat("request id ", request->request_id(),
                          " (to retry this submission safely, pass --request-id ",
                          request->request_id(), ")"));
  }
  lethe::v1::ForgetRequest reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.unlearning().SubmitForgetRequest(context.get(), *request, &reply);
  if (!status.ok()) {
    int code = ctx.RpcFailure(status);
    if (CallNeverReachedServer(status)) {
      ctx.Note(
          absl::StrCat("no connection to the server could be made, so the request was "
                       "not sent; retry with --request-id ",
                       request->request_id()));
    } else if (code == kExitUnavailable) {
      ctx.Note(absl::StrCat("the request may have been received; retry with --request-id ",
                            request->request_id()));
    }
    return code;
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(reply);
  } else {
    ctx.out() << FormatRequestDetail(reply);
  }
  return kExitOk;
}

}  // namespace

std::vector<FlagSpec> SubmitFlags(bool items) {
  std::vector<FlagSpec> flags = {
      {"model", FlagKind::kValue, "M", "model name (required)"},
  };
  if (items) {
    flags.push_back({"item", FlagKind::kMulti, "ID",
                     "training item id from the model's data set manifest (repeatable)"});
    flags.push_back(
        {"items-file", FlagKind::kRepeated, "F", "file with one item id per line ('#' comments)"});
    flags.push_back({"image", FlagKind::kMulti, "PNG",
                     "image to forget, matched to training items by pixel hash (repeatable)"});
    flags.push_back({"forget-unmatched", FlagKind::kBool, "",
                     "record images that match no training item instead of failing"});
    flags.push_back({"substitute", FlagKind::kValue, "S", "average|truncation|projection"});
    flags.push_back({"truncation-psi", FlagKind::kValue, "PSI",
                     "truncation psi in [0, 1) for truncation/projection"});
    flags.push_back({"destination", FlagKind::kValue, "D",
                     "generator (default: D, G(w_u) and the re-inversion attack on G; threshold "
                     "= attack tolerance) | paper (AUC_u >= threshold) | non-member (AUC_MIA "
                     "within 0.5 +- threshold)"});
  } else {
    flags.push_back({"class", FlagKind::kValue, "C", "label to forget, in [0, num_classes)"});
    flags.push_back({"substitute", FlagKind::kValue, "S", "average|other-class"});
    flags.push_back({"destination", FlagKind::kValue, "D",
                     "generator (default: paper and generated class images no longer classified "
                     "as it; threshold = that share) | paper (FD_u >= nearest other class) | "
                     "fd-absolute (FD_u >= threshold) | non-member"});
  }
  std::vector<FlagSpec> common = {
      {"mode", FlagKind::kValue, "MODE", "few-shot (default) | zero-shot"},
      {"fake-label", FlagKind::kValue, "Z", "fake label zeta in [-1, 1]"},
      {"fake-label-target", FlagKind::kValue, "T", "sigmoid (default) | logit"},
      {"alpha-pixel", FlagKind::kValue, "A", "weight of the pixel loss (>= 0)"},
      {"alpha-perceptual", FlagKind::kValue, "B", "weight of the perceptual loss (>= 0)"},
      {"destination-threshold", FlagKind::kValue, "X", "threshold of the destination policy"},
      {"iteration-budget", FlagKind::kValue, "N", "most unlearning iterations, [1, 1000000]"},
      {"subject", FlagKind::kValue, "REF",
       "reference to the data subject (stored only as a salted hash)"},
      {"legal-ground", FlagKind::kValue, "G",
       "GDPR Art. 17(1) ground (required by the server): "
       "no-longer-necessary|consent-withdrawn|objection|"
       "unlawfully-processed|legal-obligation|child-information-society|other (or art17-1a..f)"},
      {"legal-ground-text", FlagKind::kValue, "TEXT", "explanation (required for other)"},
      {"request-id", FlagKind::kValue, "UUID",
       "idempotency key; reuse it to retry (default: a new random UUID, printed)"},
  };
  flags.insert(flags.end(), common.begin(), common.end());
  return flags;
}

absl::StatusOr<SubmitForgetRequestRequest> BuildSubmitRequest(bool items, const ParsedArgs& args,
                                                              const std::string& request_id,
                                                              const FileReader& read_file) {
  SubmitForgetRequestRequest req;
  std::string id = args.Get("request-id", request_id);
  if (!IsUuid(id)) {
    return Invalid(
        absl::StrCat("--request-id: expected a UUID such as "
                     "123e4567-e89b-42d3-a456-426614174000, got \"",
                     id, "\""));
  }
  req.set_request_id(id);
  if (args.Get("model").empty()) return Invalid("--model is required");
  req.set_model(args.Get("model"));

  if (items) {
    lethe::v1::ItemsTarget* target = req.mutable_items();
    for (const std::string& item : args.GetAll("item")) target->add_item_ids(item);
    for (const std::string& file : args.GetAll("items-file")) {
      absl::StatusOr<std::string> text = read_file(file);
      if (!text.ok()) return text.status();
      std::vector<std::string> ids = ParseItemsFile(*text);
      if (ids.empty()) return Invalid(absl::StrCat("--items-file ", file, " lists no item ids"));
      for (const std::string& item : ids) target->add_item_ids(item);
    }
    for (const std::string& path : args.GetAll("image")) {
      absl::StatusOr<std::string> data = read_file(path);
      if (!data.ok()) return data.status();
      if (!IsPng(*data)) return Invalid(absl::StrCat("--image ", path, " is not a PNG file"));
      lethe::v1::UploadedImage* image = target->add_images();
      image->set_name(BaseName(path));
      image->set_png(std::move(*data));
    }
    if (target->item_ids_size() == 0 && target->images_size() == 0) {
      return Invalid("nothing to forget: give --item, --items-file or --image");
    }
    if (args.Has("forget-unmatched")) {
      if (target->images_size() == 0) return Invalid("--forget-unmatched applies to --image only");
      req.set_forget_unmatched_images(true);
    }
  } else {
    if (!args.Has("class")) return Invalid("--class is required");
    absl::StatusOr<int64_t> label = ParseIntFlag("--class", args.Get("class"), 0, 1 << 30);
    if (!label.ok()) return label.status();
    req.mutable_class_target()->set_label(static_cast<int32_t>(*label));
  }

  if (args.Has("mode")) {
    absl::StatusOr<int> mode = ParseChoice("--mode", args.Get("mode"),
                                           {{"few-shot", lethe::v1::FORGET_MODE_FEW_SHOT},
                                            {"zero-shot", lethe::v1::FORGET_MODE_ZERO_SHOT}});
    if (!mode.ok()) return mode.status();
    req.set_mode(static_cast<lethe::v1::ForgetMode>(*mode));
  }
  if (args.Has("substitute")) {
    std::vector<std::pair<std::string, int>> choices =
        items ? std::vector<std::pair<std::string, int>>{{"average", lethe::v1::SUBSTITUTE_AVERAGE},
                                                         {"truncation",
                                                          lethe::v1::SUBSTITUTE_TRUNCATION},
                                                         {"projection",
                                                          lethe::v1::SUBSTITUTE_PROJECTION}}
              : std::vector<std::pair<std::string, int>>{
                    {"average", lethe::v1::SUBSTITUTE_AVERAGE},
                    {"other-class", lethe::v1::SUBSTITUTE_OTHER_CLASS}};
    absl::StatusOr<int> s = ParseChoice("--substitute", args.Get("substitute"), choices);
    if (!s.ok()) return s.status();
    req.set_substitute(static_cast<lethe::v1::Substitute>(*s));
  }

  lethe::v1::Hyperparameters* h = req.mutable_hyperparameters();
  auto number = [&](const char* flag, auto setter) -> absl::Status {
    if (!args.Has(flag)) return absl::OkStatus();
    absl::StatusOr<double> v = ParseDoubleFlag(absl::StrCat("--", flag), args.Get(flag));
    if (!v.ok()) return v.status();
    setter(*v);
    return absl::OkStatus();
  };
  if (auto s = number("fake-label", [&](double v) { h->set_fake_label(v); }); !s.ok()) return s;
  if (auto s = number("alpha-pixel", [&](double v) { h->set_alpha_pixel(v); }); !s.ok()) return s;
  if (auto s = number("alpha-perceptual", [&](double v) { h->set_alpha_perceptual(v); }); !s.ok()) {
    return s;
  }
  if (auto s = number("destination-threshold", [&](double v) { h->set_destination_threshold(v); });
      !s.ok()) {
    return s;
  }
  if (auto s = number("truncation-psi", [&](double v) { h->set_truncation_psi(v); }); !s.ok()) {
    return s;
  }
  if (args.Has("iteration-budget")) {
    absl::StatusOr<int64_t> n =
        ParseIntFlag("--iteration-budget", args.Get("iteration-budget"), 1, 1000000);
    if (!n.ok()) return n.status();
    h->set_iteration_budget(static_cast<int32_t>(*n));
  }
  if (args.Has("fake-label-target")) {
    absl::StatusOr<int> t = ParseChoice("--fake-label-target", args.Get("fake-label-target"),
                                        {{"sigmoid", lethe::v1::FAKE_LABEL_TARGET_SIGMOID},
                                         {"logit", lethe::v1::FAKE_LABEL_TARGET_LOGIT}});
    if (!t.ok()) return t.status();
    h->set_fake_label_target(static_cast<lethe::v1::FakeLabelTarget>(*t));
  }
  if (args.Has("destination")) {
    std::vector<std::pair<std::string, int>> choices =
        items ? std::vector<std::pair<std::string, int>>{{"generator",
                                                          lethe::v1::DESTINATION_POLICY_GENERATOR},
                                                         {"paper",
                                                          lethe::v1::DESTINATION_POLICY_FORGET_AUC},
                                                         {"forget-auc",
                                                          lethe::v1::DESTINATION_POLICY_FORGET_AUC},
                                                         {"non-member",
                                                          lethe::v1::DESTINATION_POLICY_NON_MEMBER}}
              : std::vector<std::pair<std::string, int>>{
                    {"generator", lethe::v1::DESTINATION_POLICY_GENERATOR},
                    {"paper", lethe::v1::DESTINATION_POLICY_CLASS_FD_RELATIVE},
                    {"fd-relative", lethe::v1::DESTINATION_POLICY_CLASS_FD_RELATIVE},
                    {"fd-absolute", lethe::v1::DESTINATION_POLICY_CLASS_FD_ABSOLUTE},
                    {"non-member", lethe::v1::DESTINATION_POLICY_NON_MEMBER}};
    absl::StatusOr<int> d = ParseChoice("--destination", args.Get("destination"), choices);
    if (!d.ok()) return d.status();
    h->set_destination(static_cast<lethe::v1::DestinationPolicy>(*d));
    if (*d == lethe::v1::DESTINATION_POLICY_CLASS_FD_ABSOLUTE && !h->has_destination_threshold()) {
      return Invalid("--destination fd-absolute needs --destination-threshold");
    }
  }
  if (h->ByteSizeLong() == 0) req.clear_hyperparameters();

  req.set_subject_reference(args.Get("subject"));
  if (args.Has("legal-ground")) {
    absl::StatusOr<int> g =
        ParseChoice("--legal-ground", args.Get("legal-ground"), LegalGroundChoices());
    if (!g.ok()) return g.status();
    req.set_legal_ground(static_cast<lethe::v1::LegalGround>(*g));
  }
  req.set_legal_ground_text(args.Get("legal-ground-text"));
  if (req.legal_ground() == lethe::v1::LEGAL_GROUND_OTHER && req.legal_ground_text().empty()) {
    return Invalid("--legal-ground other needs --legal-ground-text");
  }
  return req;
}

std::vector<CommandDef> SubmitCommands() {
  return {
      {{"submit", "item"},
       "--model M (--item ID... | --items-file F | --image PNG...) [flags]",
       "ask the model to forget training images",
       SubmitFlags(true),
       0,
       0,
       [](CommandContext& ctx) { return RunSubmit(true, ctx); }},
      {{"submit", "class"},
       "--model M --class C [flags]",
       "ask the model to forget every training image of one label",
       SubmitFlags(false),
       0,
       0,
       [](CommandContext& ctx) { return RunSubmit(false, ctx); }},
  };
}

}  // namespace lethe::cli
