#include "client/report.h"

#include <google/protobuf/descriptor.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "common/merkle.h"
#include "common/signed_note.h"
#include "common/tlog_checkpoint.h"
#include "engine/base/error.h"
#include "engine/base/sha256.h"

namespace lethe::cli {
namespace {

// The offline check printed in report.md (docs/examples/verify_export.py is the full one).
constexpr char kOfflineCheckPython[] = R"py(import base64, hashlib, json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
H = lambda b: hashlib.sha256(b).digest()
audit = json.load(open("report.json"))["audit"]
t = audit["transparency"]
text, sig = t["checkpoint"].split("\n\n")         # note text, signature line
name, kid, key = t["verifier_keys"][0].split("+", 2)  # or the key the operator published
blob = base64.b64decode(sig.split(" ")[-1])
assert blob[:4].hex() == kid
Ed25519PublicKey.from_public_bytes(base64.b64decode(key)[1:]).verify(blob[4:], (text + "\n").encode())
lines = text.split("\n")
size, root = int(lines[1]), base64.b64decode(lines[2])
record_hash = {r["seq"]: r["hash"] for r in audit["records"]}
for p in t["inclusion_proofs"]:  # RFC 9162, section 2.1.3.2
    fn, sn = p["leaf_index"], size - 1
    r = H(b"\0" + record_hash[p["seq"]].encode())
    for h in map(bytes.fromhex, p["hashes"]):
        if fn % 2 or fn == sn:
            r = H(b"\1" + h + r)
            while fn % 2 == 0 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = H(b"\1" + r + h)
        fn, sn = fn >> 1, sn >> 1
    print(p["seq"], "ok" if (r, sn) == (root, 0) else "NOT IN THE CHECKPOINT")
)py";

using lethe::v1::ForgetRequest;
using lethe::v1::ModelVersion;

Json ProtoToJson(const google::protobuf::Message& m) {
  try {
    return Json::Parse(MessageToJson(m));
  } catch (const lethe::Error&) {
    return Json();
  }
}

Json MetricMapJson(const google::protobuf::Map<std::string, double>& metrics) {
  Json j = Json::Object();
  for (const auto& [k, v] : metrics) j[k] = v;
  return j;
}

const ModelVersion* FindVersion(const lethe::v1::Model& model, int64_t id) {
  for (const ModelVersion& v : model.versions()) {
    if (v.id() == id) return &v;
  }
  return nullptr;
}

Json VersionJson(const ModelVersion& v) {
  Json j = Json::Object();
  j["id"] = v.id();
  j["parent_id"] = v.parent_id();
  j["sha256"] = v.sha256();
  j["state"] = EnumName(lethe::v1::VersionState_descriptor(), v.state());
  j["job_id"] = v.job_id();
  j["created_at"] = FormatTimestamp(v.created_at());
  j["uri"] = v.uri();
  j["metrics"] = MetricMapJson(v.metrics());
  Json files = Json::Object();
  for (const auto& [name, sha] : v.files()) files[name] = sha;
  j["files"] = files;
  return j;
}

// The engine's verification report (result.report_json), parsed; null when absent.
Json ParseEngineReport(const std::string& text, std::string* error) {
  if (text.empty()) return Json();
  try {
    return Json::Parse(text);
  } catch (const lethe::Error& e) {
    *error = e.what();
    return Json();
  }
}

// The destination verdict inside the engine's report, in whichever of the documented
// places it sits: {"reached", "metric", "threshold", "value", "requirement"}.
Json FindVerdict(const Json& report) {
  if (!report.is_object()) return Json();
  for (const char* key : {"destination", "verdict", "destination_verdict", "final_verdict"}) {
    if (report.Has(key) && report.at(key).is_object() && report.at(key).Has("reached")) {
      return report.at(key);
    }
  }
  if (report.Has("final") && report.at("final").is_object()) return FindVerdict(report.at("final"));
  return Json();
}

// Numeric metrics of a report section ("before" / "after"), also under "metrics".
Json FindSection(const Json& report, const std::string& key) {
  if (!report.is_object()) return Json();
  if (report.Has(key) && report.at(key).is_object()) return report.at(key);
  if (report.Has("metrics") && report.at("metrics").is_object() && report.at("metrics").Has(key) &&
      report.at("metrics").at(key).is_object()) {
    return report.at("metrics").at(key);
  }
  return Json();
}

// Flattens the numeric members of an object (one level of nesting as "a.b").
void CollectNumbers(const Json& j, const std::string& prefix, std::map<std::string, double>* out) {
  if (!j.is_object()) return;
  for (const auto& [k, v] : j.items()) {
    std::string name = prefix.empty() ? k : absl::StrCat(prefix, ".", k);
    if (v.is_number()) {
      (*out)[name] = v.AsDouble();
    } else if (v.is_object() && prefix.empty()) {
      CollectNumbers(v, name, out);
    }
  }
}

std::string Cell(const Json& j, const std::string& key) {
  if (!j.is_object() || !j.Has(key)) return "-";
  const Json& v = j.at(key);
  if (v.is_string()) return v.AsString().empty() ? "-" : v.AsString();
  if (v.is_bool()) return v.AsBool() ? "yes" : "no";
  if (v.is_int()) return absl::StrCat(v.AsInt());
  if (v.is_number()) return FormatNumber(v.AsDouble());
  if (v.is_null()) return "-";
  return v.Dump();
}

// Markdown table cells must not break the row.
std::string Md(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

CheckpointCheck CheckCheckpointNote(const std::string& note,
                                    const std::vector<std::string>& verifier_keys) {
  CheckpointCheck out;
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(note);
  if (!parsed.ok()) {
    out.error = std::string(parsed.status().message());
    return out;
  }
  std::vector<NoteVerifier> verifiers;
  for (const std::string& k : verifier_keys) {
    absl::StatusOr<NoteVerifier> v = NoteVerifier::FromVerifierKey(k);
    if (v.ok()) verifiers.push_back(std::move(*v));
  }
  absl::StatusOr<size_t> which = VerifySignedNote(*parsed, verifiers);
  if (!which.ok()) {
    out.error = std::string(which.status().message());
    return out;
  }
  absl::StatusOr<TlogCheckpoint> cp = ParseCheckpointText(parsed->text);
  if (!cp.ok()) {
    out.error = std::string(cp.status().message());
    return out;
  }
  out.ok = true;
  out.tree_size = cp->size;
  out.root = cp->root;
  out.origin = cp->origin;
  out.time = cp->time;
  out.key = absl::StrCat(verifiers[*which].name(), "+", verifiers[*which].key_id_hex());
  return out;
}

bool CheckInclusion(const lethe::v1::AuditRecord& record,
                    const lethe::v1::AuditInclusionProof& proof, const CheckpointCheck& checkpoint,
                    std::string* error) {
  if (!checkpoint.ok) {
    *error = "no verified checkpoint";
    return false;
  }
  if (proof.seq() != record.seq() || proof.tree_size() != checkpoint.tree_size) {
    *error =
        absl::StrCat("the proof is for record ", proof.seq(), " in a tree of ", proof.tree_size(),
                     " records, not record ", record.seq(), " in ", checkpoint.tree_size);
    return false;
  }
  std::vector<merkle::Hash> hashes;
  for (const std::string& h : proof.hashes()) {
    absl::StatusOr<merkle::Hash> raw = merkle::HashFromHex(h);
    if (!raw.ok()) {
      *error = absl::StrCat("proof hash: ", raw.status().message());
      return false;
    }
    hashes.push_back(std::move(*raw));
  }
  if (!merkle::VerifyInclusion(record.seq() - 1, checkpoint.tree_size,
                               merkle::HashLeaf(record.hash()), hashes, checkpoint.root)) {
    *error = absl::StrCat("record ", record.seq(),
                          " is not in the signed checkpoint (the proof does not lead from its "
                          "hash to the checkpoint's root)");
    return false;
  }
  return true;
}

AuditRecordCheck CheckAuditRecord(const lethe::v1::AuditRecord& record) {
  AuditRecordCheck check;
  Json payload = Json::Object();
  if (!record.payload_json().empty()) {
    try {
      payload = Json::Parse(record.payload_json());
    } catch (const lethe::Error& e) {
      check.error = absl::StrCat("payload_json does not parse: ", e.what());
      return check;
    }
  }
  Json canonical = Json::Object();
  canonical["seq"] = record.seq();
  canonical["at"] = FormatTimestampMicros(record.at());
  canonical["actor"] = record.actor();
  canonical["action"] = record.action();
  canonical["request_id"] = record.request_id();
  canonical["payload"] = payload;
  check.canonical_json = canonical.Dump();
  Sha256 h;
  h.Update(record.prev_hash());
  h.Update(check.canonical_json);
  check.recomputed_hash = h.FinishHex();
  check.hash_matches = check.recomputed_hash == record.hash();
  if (!check.hash_matches) {
    check.error = absl::StrCat("recomputed ", check.recomputed_hash, " != stored ", record.hash());
  }
  return check;
}

Json BuildReport(const ReportInputs& in) {
  const ForgetRequest& r = in.request;
  Json report = Json::Object();
  report["format"] = kReportFormat;
  report["generated_at"] = in.generated_at;
  report["server"] = in.server;

  // The request, without its items (listed separately) and without any image bytes.
  Json request_json = Json::Object();
  Json full = ProtoToJson(r);
  if (full.is_object()) {
    for (const auto& [k, v] : full.items()) {
      if (k != "items") request_json[k] = v;
    }
  }
  report["request"] = request_json;
  Json items = Json::Array();
  for (const lethe::v1::RequestItem& item : r.items()) {
    Json j = Json::Object();
    j["item_id"] = item.item_id();
    j["sha256"] = item.sha256();
    j["uploaded"] = item.uploaded();
    j["upload_name"] = item.upload_name();
    items.Push(j);
  }
  report["items"] = items;

  // Outcome and destination.
  std::string engine_error;
  Json engine = ParseEngineReport(r.result().report_json(), &engine_error);
  Json verdict = FindVerdict(engine);
  Json outcome = Json::Object();
  outcome["state"] = StateName(r.state());
  outcome["completed_at"] = FormatTimestamp(r.completed_at());
  outcome["error"] = r.result().error();
  lethe::v1::DestinationPolicy policy = r.hyperparameters().destination();
  std::string policy_name = EnumName(lethe::v1::DestinationPolicy_descriptor(), policy);
  if (policy == lethe::v1::DESTINATION_POLICY_UNSPECIFIED) {
    // The server's default for the kind (proto/lethe/v1/unlearning.proto).
    policy_name = absl::StrCat(EnumName(lethe::v1::DestinationPolicy_descriptor(),
                                        lethe::v1::DESTINATION_POLICY_GENERATOR),
                               " (default)");
  }
  outcome["destination_policy"] = policy_name;
  // The engine's one-sentence answer: does the new version still reproduce the images?
  outcome["summary"] = engine.is_object() ? engine.GetString("summary", "") : std::string();
  if (r.hyperparameters().has_destination_threshold()) {
    outcome["destination_threshold_requested"] = r.hyperparameters().destination_threshold();
  }
  if (verdict.is_object()) {
    outcome["destination"] = verdict;
    outcome["destination_reached"] = verdict.GetBool("reached", false);
  } else {
    outcome["destination"] = Json();
    // Without the engine's verdict, only a completed request implies the destination.
    outcome["destination_reached"] =
        r.state() == lethe::v1::REQUEST_STATE_COMPLETED ? Json(true) : Json();
  }
  report["outcome"] = outcome;

  // Model versions: the one the job started from (the result's parent) and the result.
  Json model = Json::Object();
  const ModelVersion* result_version = nullptr;
  const ModelVersion* base_version = nullptr;
  if (in.model) {
    model["name"] = in.model->name();
    model["dataset_name"] = in.model->dataset_name();
    model["dataset_fingerprint"] = in.model->dataset_fingerprint();
    model["production_version_id"] = in.model->production_version_id();
    if (r.result().model_version_id() != 0) {
      result_version = FindVersion(*in.model, r.result().model_version_id());
      if (result_version && result_version->parent_id() != 0) {
        base_version = FindVersion(*in.model, result_version->parent_id());
      }
    }
  } else {
    model["name"] = r.model();
    model["error"] = in.model_error;
  }
  model["base_version"] = base_version ? VersionJson(*base_version) : Json();
  model["result_version"] = result_version ? VersionJson(*result_version) : Json();
  model["result_version_id"] = r.result().model_version_id();
  model["result_version_sha256"] = r.result().model_version_sha256();
  report["model"] = model;

  // Metrics before and after: the engine's report first, the versions' metrics otherwise.
  Json metrics = Json::Object();
  Json before = FindSection(engine, "before");
  Json after = FindSection(engine, "after");
  metrics["before"] = before.is_object() ? before
                      : base_version     ? MetricMapJson(base_version->metrics())
                                         : Json();
  metrics["after"] = after.is_object() ? after
                     : result_version  ? MetricMapJson(result_version->metrics())
                                       : Json();
  Json thresholds = Json::Object();
  if (verdict.is_object()) {
    if (verdict.Has("metric") && verdict.Has("threshold")) {
      thresholds[verdict.GetString("metric", "metric")] = verdict.at("threshold");
    }
    if (verdict.Has("requirement")) thresholds["requirement"] = verdict.at("requirement");
  }
  if (r.hyperparameters().has_destination_threshold()) {
    thresholds["requested"] = r.hyperparameters().destination_threshold();
  }
  metrics["thresholds"] = thresholds;
  report["metrics"] = metrics;
  report["engine_report"] = engine;
  if (!engine_error.empty()) report["engine_report_error"] = engine_error;

  // Evidence: the audit records with what their hashes cover.
  Json audit = Json::Object();
  Json records = Json::Array();
  bool all_match = true;
  for (size_t i = 0; i < in.records.size(); ++i) {
    const lethe::v1::AuditRecord& rec = in.records[i];
    AuditRecordCheck check = CheckAuditRecord(rec);
    all_match = all_match && check.hash_matches;
    Json j = Json::Object();
    j["seq"] = rec.seq();
    j["at"] = FormatTimestampMicros(rec.at());
    j["actor"] = rec.actor();
    j["action"] = rec.action();
    j["request_id"] = rec.request_id();
    try {
      j["payload"] = rec.payload_json().empty() ? Json::Object() : Json::Parse(rec.payload_json());
    } catch (const lethe::Error&) {
      j["payload"] = rec.payload_json();
    }
    j["prev_hash"] = rec.prev_hash();
    j["hash"] = rec.hash();
    j["canonical_json"] = check.canonical_json;
    j["recomputed_hash"] = check.recomputed_hash;
    j["hash_matches"] = check.hash_matches;
    // Consecutive records of the chain must link: the next prev_hash is this hash.
    if (i > 0 && in.records[i - 1].seq() + 1 == rec.seq()) {
      bool linked = in.records[i - 1].hash() == rec.prev_hash();
      j["links_to_previous"] = linked;
      all_match = all_match && linked;
    }
    if (!check.error.empty()) j["error"] = check.error;
    records.Push(j);
  }
  audit["records"] = records;
  audit["all_hashes_match"] = all_match;
  audit["hash_rule"] =
      "hash = hex(SHA-256(prev_hash || canonical_json)); canonical_json is the compact JSON "
      "of {action, actor, at, payload, request_id, seq} with sorted keys; the first record "
      "of the chain has prev_hash = 64 zeros";
  if (in.chain) {
    Json c = Json::Object();
    c["ok"] = in.chain->ok();
    c["records_checked"] = in.chain->records_checked();
    c["head_hash"] = in.chain->head_hash();
    c["first_bad_seq"] = in.chain->first_bad_seq();
    c["reason"] = in.chain->reason();
    audit["chain_verification"] = c;
  } else {
    Json c = Json::Object();
    c["available"] = false;
    c["reason"] = in.chain_error;
    audit["chain_verification"] = c;
  }
  // Transparency log: the signed checkpoint and one inclusion proof per record.
  Json tlog = Json::Object();
  tlog["leaf_rule"] =
      "leaf_hash = SHA-256(0x00 || hash as 64 lowercase hex ASCII characters); inner node = "
      "SHA-256(0x01 || left || right) (RFC 9162); leaf index = seq - 1";
  bool proofs_ok = false;
  if (in.checkpoint) {
    std::vector<std::string> vkeys;
    Json keys = Json::Array();
    for (const lethe::v1::AuditPublicKey& k : in.keys) {
      vkeys.push_back(k.verifier_key());
      keys.Push(Json(k.verifier_key()));
    }
    CheckpointCheck cp = CheckCheckpointNote(in.checkpoint->note(), vkeys);
    tlog["checkpoint"] = in.checkpoint->note();
    tlog["verifier_keys"] = keys;
    tlog["checkpoint_signature_verified"] = cp.ok;
    if (cp.ok) {
      tlog["tree_size"] = cp.tree_size;
      tlog["root_hash"] = merkle::ToHex(cp.root);
      tlog["signed_by"] = cp.key;
      tlog["checkpoint_time"] = cp.time;
    } else {
      tlog["checkpoint_error"] = cp.error;
    }
    proofs_ok = cp.ok && in.proofs.size() == in.records.size();
    Json proofs = Json::Array();
    for (size_t i = 0; i < in.proofs.size() && i < in.records.size(); ++i) {
      const lethe::v1::AuditInclusionProof& p = in.proofs[i];
      std::string error;
      const bool ok = CheckInclusion(in.records[i], p, cp, &error);
      proofs_ok = proofs_ok && ok;
      Json j = Json::Object();
      j["seq"] = p.seq();
      j["leaf_index"] = p.leaf_index();
      j["tree_size"] = p.tree_size();
      j["leaf_hash"] = p.leaf_hash();
      Json hashes = Json::Array();
      for (const std::string& h : p.hashes()) hashes.Push(Json(h));
      j["hashes"] = hashes;
      j["verified"] = ok;
      if (!ok) j["error"] = error;
      proofs.Push(j);
    }
    tlog["inclusion_proofs"] = proofs;
  } else {
    tlog["checkpoint_error"] = in.checkpoint_error;
  }
  tlog["available"] = in.checkpoint.has_value();
  tlog["all_proofs_verified"] = proofs_ok;
  audit["transparency"] = tlog;
  report["audit"] = audit;

  Json grid = Json::Object();
  if (!in.grid_file.empty()) {
    grid["file"] = in.grid_file;
    grid["sha256"] = in.grid_sha256;
    grid["version_id"] = in.grid_version_id;
  } else {
    grid["file"] = Json();
    grid["note"] = in.grid_note;
  }
  report["grid"] = grid;
  return report;
}

std::string RenderReportMarkdown(const Json& rep) {
  const Json& req = rep.at("request");
  const Json& outcome = rep.at("outcome");
  const Json& model = rep.at("model");
  std::string md;
  absl::StrAppend(&md, "# Erasure verification report\n\n");
  absl::StrAppend(&md, "Generated ", Cell(rep, "generated_at"), " from ", Cell(rep, "server"),
                  " (format `", Cell(rep, "format"),
                  "`). The machine-readable version of this "
                  "report is `report.json`.\n\n");

  // Enum values print as in lethectl's tables ("items", "consent-withdrawn"...).
  const std::map<std::string, const google::protobuf::EnumDescriptor*> enums = {
      {"kind", lethe::v1::ForgetKind_descriptor()},
      {"mode", lethe::v1::ForgetMode_descriptor()},
      {"substitute", lethe::v1::Substitute_descriptor()},
      {"state", lethe::v1::RequestState_descriptor()},
      {"legal_ground", lethe::v1::LegalGround_descriptor()},
  };
  absl::StrAppend(&md, "## Request\n\n| Field | Value |\n|---|---|\n");
  for (const char* key : {"id",
                          "request_id",
                          "model",
                          "kind",
                          "class_label",
                          "mode",
                          "substitute",
                          "state",
                          "requester",
                          "legal_ground",
                          "legal_ground_text",
                          "subject_hash",
                          "received_at",
                          "due_at",
                          "completed_at",
                          "deadline_extension_reason",
                          "item_count",
                          "image_count",
                          "unmatched_image_count",
                          "forget_unmatched_images"}) {
    if (!req.is_object() || !req.Has(key)) continue;
    std::string value = Cell(req, key);
    auto e = enums.find(key);
    if (e != enums.end() && req.at(key).is_string()) {
      if (const auto* v = e->second->FindValueByName(req.at(key).AsString())) {
        value = EnumName(e->second, v->number());
      }
    }
    absl::StrAppend(&md, "| ", key, " | ", Md(value), " |\n");
  }
  if (req.is_object() && req.Has("hyperparameters")) {
    absl::StrAppend(&md, "| hyperparameters | `", Md(req.at("hyperparameters").Dump()), "` |\n");
  }

  const Json& items = rep.at("items");
  absl::StrAppend(&md, "\n## Items (", items.size(), ")\n\n");
  if (items.size() == 0) {
    absl::StrAppend(&md, "A class request: every training image of the class.\n");
  } else {
    absl::StrAppend(&md,
                    "Identifiers and content hashes only; no image is included.\n\n"
                    "| Item | SHA-256 of the pixels | Source |\n|---|---|---|\n");
    for (const Json& item : items.elements()) {
      std::string source = item.GetBool("uploaded", false)
                               ? absl::StrCat("upload ", item.GetString("upload_name", ""))
                               : "manifest id";
      absl::StrAppend(&md, "| ", Md(Cell(item, "item_id")), " | `", Cell(item, "sha256"), "` | ",
                      Md(source), " |\n");
    }
  }

  absl::StrAppend(&md, "\n## Outcome\n\n");
  if (!outcome.GetString("summary", "").empty()) {
    absl::StrAppend(&md, "**In one sentence.** ", Md(outcome.GetString("summary", "")), "\n\n");
  }
  absl::StrAppend(&md, "| Field | Value |\n|---|---|\n");
  absl::StrAppend(&md, "| state | ", Cell(outcome, "state"), " |\n");
  absl::StrAppend(&md, "| destination policy | ", Cell(outcome, "destination_policy"), " |\n");
  absl::StrAppend(&md, "| destination reached | ", Cell(outcome, "destination_reached"), " |\n");
  const Json& verdict = outcome.at("destination");
  if (verdict.is_object()) {
    absl::StrAppend(&md, "| deciding metric | ", Cell(verdict, "metric"), " = ",
                    Cell(verdict, "value"), " (threshold ", Cell(verdict, "threshold"), ") |\n");
    absl::StrAppend(&md, "| requirement | ", Md(Cell(verdict, "requirement")), " |\n");
  }
  if (!outcome.GetString("error", "").empty()) {
    absl::StrAppend(&md, "| error | ", Md(Cell(outcome, "error")), " |\n");
  }

  const Json& metrics = rep.at("metrics");
  std::map<std::string, double> before, after;
  CollectNumbers(metrics.at("before"), "", &before);
  CollectNumbers(metrics.at("after"), "", &after);
  absl::StrAppend(&md, "\n## Metrics\n\n");
  if (before.empty() && after.empty()) {
    absl::StrAppend(&md, "No metrics were recorded for this request.\n");
  } else {
    absl::StrAppend(&md, "| Metric | Before | After |\n|---|---|---|\n");
    std::map<std::string, bool> names;
    for (const auto& [k, v] : before) names[k] = true;
    for (const auto& [k, v] : after) names[k] = true;
    for (const auto& [k, unused] : names) {
      absl::StrAppend(&md, "| ", Md(k), " | ", before.count(k) ? FormatNumber(before.at(k)) : "-",
                      " | ", after.count(k) ? FormatNumber(after.at(k)) : "-", " |\n");
    }
  }
  const Json& thresholds = metrics.at("thresholds");
  if (thresholds.is_object() && thresholds.size() > 0) {
    absl::StrAppend(&md, "\nThresholds: ");
    bool first = true;
    for (const auto& [k, v] : thresholds.items()) {
      absl::StrAppend(&md, first ? "" : "; ", k, " ", v.is_string() ? v.AsString() : v.Dump());
      first = false;
    }
    absl::StrAppend(&md, "\n");
  }

  absl::StrAppend(&md, "\n## Model versions\n\n");
  absl::StrAppend(&md, "Model `", Md(Cell(model, "name")), "`, data set ",
                  Md(Cell(model, "dataset_name")), " (fingerprint `",
                  Cell(model, "dataset_fingerprint"), "`).\n\n");
  absl::StrAppend(&md,
                  "| Role | Version | SHA-256 of manifest.json | State | Created |\n"
                  "|---|---|---|---|---|\n");
  for (const char* role : {"base_version", "result_version"}) {
    const Json& v = model.at(role);
    if (!v.is_object()) continue;
    absl::StrAppend(&md, "| ", role == std::string("base_version") ? "before" : "after", " | ",
                    Cell(v, "id"), " | `", Cell(v, "sha256"), "` | ", Cell(v, "state"), " | ",
                    Cell(v, "created_at"), " |\n");
  }
  if (!model.at("result_version").is_object()) {
    absl::StrAppend(&md, "| after | ", Cell(model, "result_version_id"), " | `",
                    Cell(model, "result_version_sha256"), "` | - | - |\n");
  }

  const Json& audit = rep.at("audit");
  absl::StrAppend(&md, "\n## Audit trail\n\n");
  absl::StrAppend(&md,
                  "| Seq | At | Actor | Action | prev_hash | hash | Recomputed |\n"
                  "|---|---|---|---|---|---|---|\n");
  for (const Json& rec : audit.at("records").elements()) {
    absl::StrAppend(&md, "| ", Cell(rec, "seq"), " | ", Cell(rec, "at"), " | ",
                    Md(Cell(rec, "actor")), " | ", Md(Cell(rec, "action")), " | `",
                    Cell(rec, "prev_hash"), "` | `", Cell(rec, "hash"), "` | ",
                    rec.GetBool("hash_matches", false) ? "matches" : "MISMATCH", " |\n");
  }
  absl::StrAppend(&md, "\nEvery record's hash was recomputed from the record: ",
                  audit.GetBool("all_hashes_match", false) ? "all match." : "**MISMATCH**.",
                  "\n\n");
  const Json& chain = audit.at("chain_verification");
  if (chain.Has("ok")) {
    absl::StrAppend(&md, "Whole-chain verification at export time: ",
                    chain.GetBool("ok", false) ? "OK" : "**BROKEN**", ", ",
                    Cell(chain, "records_checked"), " records, head hash `",
                    Cell(chain, "head_hash"), "`.\n");
    if (!chain.GetBool("ok", false)) {
      absl::StrAppend(&md, "First bad record: ", Cell(chain, "first_bad_seq"), " (",
                      Md(Cell(chain, "reason")), ").\n");
    }
  } else {
    absl::StrAppend(&md, "Whole-chain verification was not available to this token: ",
                    Md(Cell(chain, "reason")), ". An operator can run `lethectl audit verify`.\n");
  }
  absl::StrAppend(
      &md, "\n### How to recompute the hashes\n\n", Cell(audit, "hash_rule"), ".\n\n",
      "Each record in `report.json` carries `canonical_json`, the exact bytes hashed. With "
      "Python 3 and nothing else:\n\n"
      "```python\n"
      "import hashlib, json\n"
      "report = json.load(open(\"report.json\"))\n"
      "for r in report[\"audit\"][\"records\"]:\n"
      "    c = json.loads(r[\"canonical_json\"])\n"
      "    assert c == {k: r[k] for k in (\"action\", \"actor\", \"at\", \"payload\", "
      "\"request_id\", \"seq\")}\n"
      "    h = hashlib.sha256((r[\"prev_hash\"] + r[\"canonical_json\"]).encode()).hexdigest()\n"
      "    print(r[\"seq\"], \"ok\" if h == r[\"hash\"] else \"MISMATCH\")\n"
      "```\n\n"
      "Records of one request are not adjacent in the chain (other requests interleave); "
      "where two are adjacent, the later `prev_hash` equals the earlier `hash`. The head hash "
      "above anchors them in the whole chain.\n");

  const Json& tlog = audit.at("transparency");
  absl::StrAppend(&md, "\n### Signed checkpoint and inclusion proofs\n\n");
  if (!tlog.GetBool("available", false)) {
    absl::StrAppend(
        &md, "The server gave no signed checkpoint: ", Md(Cell(tlog, "checkpoint_error")), ".\n");
  } else {
    absl::StrAppend(
        &md, "The server's checkpoint (a signed Merkle tree head over the whole audit log):\n\n",
        "```\n", tlog.at("checkpoint").AsString(), "```\n\n", "Signature: ",
        tlog.GetBool("checkpoint_signature_verified", false)
            ? absl::StrCat("verified with key `", Cell(tlog, "signed_by"), "`")
            : absl::StrCat("**NOT VERIFIED** (", Md(Cell(tlog, "checkpoint_error")), ")"),
        ". Inclusion proofs of the ", audit.at("records").elements().size(),
        " record(s) above in this checkpoint: ",
        tlog.GetBool("all_proofs_verified", false) ? "all verified" : "**NOT ALL VERIFIED**",
        ".\n\n", "Leaves: ", Cell(tlog, "leaf_rule"), ".\n\n",
        "Check it offline with Python 3, `hashlib` and `python3-cryptography` only (the full "
        "script is docs/examples/verify_export.py in Lethe's sources). Compare the verifier "
        "key with the one the operator published, not only with the one in this report:\n\n"
        "```python\n",
        kOfflineCheckPython,
        "```\n\n"
        "Keep `checkpoint` (or `lethectl audit checkpoint --out FILE`): later, `lethectl audit "
        "verify --since FILE` proves that the log still contains everything it covered.\n");
  }

  const Json& grid = rep.at("grid");
  absl::StrAppend(&md, "\n## Samples of the resulting model\n\n");
  if (grid.Has("file") && grid.at("file").is_string()) {
    absl::StrAppend(&md, "![samples of version ", Cell(grid, "version_id"), "](",
                    grid.at("file").AsString(), ")\n\n`", Cell(grid, "file"), "` SHA-256 `",
                    Cell(grid, "sha256"), "`.\n");
  } else {
    absl::StrAppend(&md, "No sample grid: ", Md(Cell(grid, "note")), ".\n");
  }
  return md;
}

}  // namespace lethe::cli
