#include "client/format.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace lethe::cli {
namespace {

using lethe::v1::ForgetRequest;

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// "RequestState" -> "REQUEST_STATE_".
std::string EnumPrefix(const std::string& type_name) {
  std::string out;
  for (size_t i = 0; i < type_name.size(); ++i) {
    char c = type_name[i];
    if (i > 0 && absl::ascii_isupper(static_cast<unsigned char>(c))) out += '_';
    out += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return out + "_";
}

std::string HyperparametersText(const lethe::v1::Hyperparameters& h) {
  std::vector<std::string> parts;
  if (h.has_fake_label())
    parts.push_back(absl::StrCat("fake_label=", FormatNumber(h.fake_label())));
  if (h.fake_label_target() != lethe::v1::FAKE_LABEL_TARGET_UNSPECIFIED) {
    parts.push_back(
        absl::StrCat("fake_label_target=",
                     EnumName(lethe::v1::FakeLabelTarget_descriptor(), h.fake_label_target())));
  }
  if (h.has_alpha_pixel()) {
    parts.push_back(absl::StrCat("alpha_pixel=", FormatNumber(h.alpha_pixel())));
  }
  if (h.has_alpha_perceptual()) {
    parts.push_back(absl::StrCat("alpha_perceptual=", FormatNumber(h.alpha_perceptual())));
  }
  if (h.destination() != lethe::v1::DESTINATION_POLICY_UNSPECIFIED) {
    parts.push_back(absl::StrCat(
        "destination=", EnumName(lethe::v1::DestinationPolicy_descriptor(), h.destination())));
  }
  if (h.has_destination_threshold()) {
    parts.push_back(
        absl::StrCat("destination_threshold=", FormatNumber(h.destination_threshold())));
  }
  if (h.has_iteration_budget()) {
    parts.push_back(absl::StrCat("iteration_budget=", h.iteration_budget()));
  }
  if (h.has_truncation_psi()) {
    parts.push_back(absl::StrCat("truncation_psi=", FormatNumber(h.truncation_psi())));
  }
  return absl::StrJoin(parts, " ");
}

std::string StateText(const ForgetRequest& r) {
  std::string s = StateName(r.state());
  if (r.cancel_requested() && r.state() == lethe::v1::REQUEST_STATE_RUNNING) {
    absl::StrAppend(&s, " (cancel requested)");
  }
  return s;
}

std::string VersionStateName(lethe::v1::VersionState state) {
  return EnumName(lethe::v1::VersionState_descriptor(), state);
}

}  // namespace

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (std::string& c : cells) {
    if (c.empty()) c = "-";
  }
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - DisplayWidth(row[c]) + 2, ' ');
    }
    out += line + "\n";
  };
  emit(headers_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string FormatKeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, DisplayWidth(k));
  std::string out;
  for (const auto& [k, v] : rows) {
    absl::StrAppend(&out, k, ":", std::string(width - DisplayWidth(k) + 1, ' '), OrDash(v), "\n");
  }
  return out;
}

std::string MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return absl::StrCat("{\"error\": \"cannot render JSON\"}\n");
  if (out.empty() || out.back() != '\n') out += "\n";
  return out;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  std::time_t t = static_cast<std::time_t>(ts.seconds());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatTimestampMicros(const google::protobuf::Timestamp& ts) {
  std::time_t t = static_cast<std::time_t>(ts.seconds());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return absl::StrFormat("%s.%06dZ", buf, ts.nanos() / 1000);
}

std::string FormatDuration(double seconds) {
  if (!(seconds > 0)) return "0s";
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

std::string ShortHash(const std::string& hex, size_t n) { return hex.substr(0, n); }

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.4g", value);
}

std::string EnumName(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  std::string name = v->name();
  const std::string prefix = EnumPrefix(type->name());
  if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size()) name = name.substr(prefix.size());
  name = absl::AsciiStrToLower(name);
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

std::string StateName(lethe::v1::RequestState state) {
  return EnumName(lethe::v1::RequestState_descriptor(), state);
}
std::string PhaseName(lethe::v1::Phase phase) {
  return EnumName(lethe::v1::Phase_descriptor(), phase);
}
std::string RoleName(lethe::v1::Role role) { return EnumName(lethe::v1::Role_descriptor(), role); }

std::string DescribeTarget(const ForgetRequest& r) {
  if (r.kind() == lethe::v1::FORGET_KIND_CLASS) {
    return r.has_class_label() ? absl::StrCat("class ", r.class_label()) : "class";
  }
  std::string s = absl::StrCat("items (", r.item_count(), ")");
  if (r.image_count() > 0) {
    absl::StrAppend(&s, " images ", r.image_count());
    if (r.unmatched_image_count() > 0) {
      absl::StrAppend(&s, " (", r.unmatched_image_count(), " unmatched)");
    }
  }
  return s;
}

std::string FormatMetricMap(const google::protobuf::Map<std::string, double>& metrics) {
  std::map<std::string, double> sorted(metrics.begin(), metrics.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : sorted) parts.push_back(absl::StrCat(k, "=", FormatNumber(v)));
  return absl::StrJoin(parts, " ");
}

std::string FormatRequestList(const std::vector<ForgetRequest>& requests) {
  Table t({"ID", "STATE", "MODEL", "TARGET", "REQUESTER", "RECEIVED", "DUE"});
  for (const ForgetRequest& r : requests) {
    t.AddRow({r.id(), StateText(r), r.model(), DescribeTarget(r), r.requester(),
              FormatTimestamp(r.received_at()), FormatTimestamp(r.due_at())});
  }
  return t.Render();
}

std::string FormatRequestDetail(const ForgetRequest& r) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"id", r.id()},
      {"request_id", r.request_id()},
      {"model", r.model()},
      {"target", DescribeTarget(r)},
      {"mode", EnumName(lethe::v1::ForgetMode_descriptor(), r.mode())},
      {"substitute", EnumName(lethe::v1::Substitute_descriptor(), r.substitute())},
      {"hyperparameters", HyperparametersText(r.hyperparameters())},
      {"state", StateText(r)},
  };
  if (r.has_progress() && (r.state() == lethe::v1::REQUEST_STATE_RUNNING ||
                           r.progress().phase() != lethe::v1::PHASE_UNSPECIFIED)) {
    const lethe::v1::Progress& p = r.progress();
    std::string text =
        absl::StrCat(PhaseName(p.phase()), " ", absl::StrFormat("%.0f%%", 100 * p.fraction()));
    if (p.iteration_budget() > 0) {
      absl::StrAppend(&text, " iteration ", p.iteration(), "/", p.iteration_budget());
    }
    std::string metrics = FormatMetricMap(p.metrics());
    if (!metrics.empty()) absl::StrAppend(&text, " ", metrics);
    if (!p.message().empty()) absl::StrAppend(&text, " (", p.message(), ")");
    kv.emplace_back("progress", text);
  }
  kv.emplace_back(
      "requester",
      r.requester().empty() ? "" : absl::StrCat(r.requester(), " (token ", r.requester_id(), ")"));
  std::string ground = EnumName(lethe::v1::LegalGround_descriptor(), r.legal_ground());
  if (!r.legal_ground_text().empty()) absl::StrAppend(&ground, ": ", r.legal_ground_text());
  kv.emplace_back("legal_ground", ground);
  kv.emplace_back("subject_hash", r.subject_hash());
  kv.emplace_back("received_at", FormatTimestamp(r.received_at()));
  kv.emplace_back("due_at", FormatTimestamp(r.due_at()));
  if (!r.deadline_extension_reason().empty()) {
    kv.emplace_back("deadline_extension", r.deadline_extension_reason());
  }
  kv.emplace_back("completed_at", FormatTimestamp(r.completed_at()));
  kv.emplace_back("forget_unmatched", r.forget_unmatched_images() ? "yes" : "no");
  if (r.has_result()) {
    const lethe::v1::ForgetResult& res = r.result();
    if (res.model_version_id() != 0) {
      kv.emplace_back("result_version", absl::StrCat(res.model_version_id(), " (sha256 ",
                                                     ShortHash(res.model_version_sha256()), ")"));
    }
    if (!res.error().empty()) kv.emplace_back("error", res.error());
  }
  std::string out = FormatKeyValues(kv);
  if (r.items_size() > 0) {
    Table items({"ITEM", "SHA256", "SOURCE"});
    for (const lethe::v1::RequestItem& item : r.items()) {
      std::string source = "manifest id";
      if (item.uploaded()) {
        source =
            item.upload_name().empty() ? "upload" : absl::StrCat("upload ", item.upload_name());
        if (item.item_id().empty()) absl::StrAppend(&source, " (unmatched)");
      }
      items.AddRow({item.item_id(), item.sha256(), source});
    }
    absl::StrAppend(&out, "\n", items.Render());
  }
  return out;
}

std::string FormatModelList(const std::vector<lethe::v1::Model>& models) {
  Table t({"NAME", "CLASSES", "RESOLUTION", "CHANNELS", "PRESET", "DATASET", "ITEMS", "PRODUCTION",
           "CREATED"});
  for (const lethe::v1::Model& m : models) {
    t.AddRow({m.name(), absl::StrCat(m.num_classes()), absl::StrCat(m.resolution()),
              absl::StrCat(m.img_channels()), m.preset(), m.dataset_name(),
              absl::StrCat(m.item_count()), absl::StrCat(m.production_version_id()),
              FormatTimestamp(m.created_at())});
  }
  return t.Render();
}

std::string FormatModelDetail(const lethe::v1::Model& m) {
  std::string out = FormatKeyValues({
      {"name", m.name()},
      {"classes", absl::StrCat(m.num_classes())},
      {"resolution", absl::StrCat(m.resolution(), "x", m.resolution(), "x", m.img_channels())},
      {"preset", m.preset()},
      {"dataset", m.dataset_name()},
      {"dataset_fingerprint", m.dataset_fingerprint()},
      {"items", absl::StrCat(m.item_count(), " of ", m.item_width(), "x", m.item_height(), "x",
                             m.item_channels())},
      {"production_version", absl::StrCat(m.production_version_id())},
      {"created_at", FormatTimestamp(m.created_at())},
  });
  if (m.versions_size() > 0) {
    Table t({"VERSION", "PARENT", "STATE", "SHA256", "JOB", "CREATED", "SAMPLE", "METRICS"});
    for (const lethe::v1::ModelVersion& v : m.versions()) {
      t.AddRow({absl::StrCat(v.id()), v.parent_id() == 0 ? "" : absl::StrCat(v.parent_id()),
                VersionStateName(v.state()), ShortHash(v.sha256()), v.job_id(),
                FormatTimestamp(v.created_at()), v.has_sample() ? "yes" : "no",
                FormatMetricMap(v.metrics())});
    }
    absl::StrAppend(&out, "\n", t.Render());
  }
  return out;
}

std::string FormatAuditList(const std::vector<lethe::v1::AuditRecord>& records) {
  Table t({"SEQ", "AT", "ACTOR", "ACTION", "REQUEST", "HASH"});
  for (const lethe::v1::AuditRecord& r : records) {
    t.AddRow({absl::StrCat(r.seq()), FormatTimestamp(r.at()), r.actor(), r.action(), r.request_id(),
              ShortHash(r.hash())});
  }
  return t.Render();
}

std::string FormatAuditVerification(const lethe::v1::VerifyAuditChainResponse& v) {
  if (v.ok()) {
    return absl::StrCat("audit chain OK: ", v.records_checked(), " records, head ", v.head_hash(),
                        "\n");
  }
  return absl::StrCat("audit chain BROKEN at seq ", v.first_bad_seq(), ": ", v.reason(), " (",
                      v.records_checked(), " records checked)\n");
}

std::string FormatTokenList(const std::vector<lethe::v1::ApiToken>& tokens) {
  Table t({"ID", "NAME", "ROLE", "CREATED", "REVOKED"});
  for (const lethe::v1::ApiToken& tok : tokens) {
    t.AddRow({absl::StrCat(tok.id()), tok.name(), RoleName(tok.role()),
              FormatTimestamp(tok.created_at()),
              tok.revoked() ? OrDash(FormatTimestamp(tok.revoked_at())) : ""});
  }
  return t.Render();
}

std::string FormatTokenDetail(const lethe::v1::ApiToken& tok, const std::string& secret) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"id", absl::StrCat(tok.id())},
      {"name", tok.name()},
      {"role", RoleName(tok.role())},
      {"created_at", FormatTimestamp(tok.created_at())},
      {"revoked", tok.revoked() ? absl::StrCat("yes, ", FormatTimestamp(tok.revoked_at())) : "no"},
  };
  if (!secret.empty()) kv.emplace_back("secret", secret);
  return FormatKeyValues(kv);
}

}  // namespace lethe::cli
