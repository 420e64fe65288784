// audit list|verify|checkpoint|keys|export.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "client/commands/command.h"
#include "client/format.h"
#include "client/report.h"
#include "client/rpc_error.h"
#include "common/merkle.h"
#include "common/signed_note.h"
#include "common/tlog_checkpoint.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"

namespace lethe::cli {
namespace {

// Verification walks the whole chain; give it more time than a plain read.
constexpr double kVerifyDefaultSeconds = 300;

// Every page of ListAuditRecords for `req`.
grpc::Status ListAllRecords(CommandContext& ctx, lethe::v1::ListAuditRecordsRequest req,
                            bool all_pages, lethe::v1::ListAuditRecordsResponse* merged) {
  for (int pages = 0;; ++pages) {
    lethe::v1::ListAuditRecordsResponse page;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.audit().ListAuditRecords(context.get(), req, &page);
    if (!status.ok()) return status;
    for (auto& r : *page.mutable_records()) *merged->add_records() = std::move(r);
    merged->set_next_page_token(page.next_page_token());
    if (!all_pages || page.next_page_token().empty() ||
        page.next_page_token() == req.page_token() || pages > 100000) {
      return grpc::Status::OK;
    }
    req.set_page_token(page.next_page_token());
  }
}

int RunAuditList(CommandContext& ctx) {
  lethe::v1::ListAuditRecordsRequest req;
  req.set_request_id(ctx.args.Get("request"));
  req.set_action(ctx.args.Get("action"));
  if (ctx.args.Has("after-seq")) {
    absl::StatusOr<int64_t> n =
        ParseIntFlag("--after-seq", ctx.args.Get("after-seq"), 0, INT64_MAX);
    if (!n.ok()) return ctx.Usage(std::string(n.status().message()));
    req.set_after_seq(*n);
  }
  if (ctx.args.Has("page-size")) {
    absl::StatusOr<int64_t> n = ParseIntFlag("--page-size", ctx.args.Get("page-size"), 1, 1000);
    if (!n.ok()) return ctx.Usage(std::string(n.status().message()));
    req.set_page_size(static_cast<int32_t>(*n));
  }
  req.set_page_token(ctx.args.Get("page-token"));
  lethe::v1::ListAuditRecordsResponse merged;
  grpc::Status status = ListAllRecords(ctx, req, ctx.args.Has("all"), &merged);
  if (!status.ok()) return ctx.RpcFailure(status);
  if (ctx.json) {
    ctx.out() << MessageToJson(merged);
  } else {
    ctx.out() << FormatAuditList({merged.records().begin(), merged.records().end()});
    if (!merged.next_page_token().empty()) {
      ctx.Note(
          absl::StrCat("more records: --page-token ", merged.next_page_token(), " (or --all)"));
    }
  }
  return kExitOk;
}

// The keys checkpoints are checked with: --key FILE (PEM public key or verifier keys, as
// published by the operator), else the server's own list.
absl::StatusOr<std::vector<std::string>> TrustedKeys(CommandContext& ctx,
                                                     const std::string& pem_name,
                                                     bool* from_server) {
  std::vector<std::string> out;
  *from_server = !ctx.args.Has("key");
  if (!*from_server) {
    absl::StatusOr<std::string> text = ReadLocalFile(ctx.args.Get("key"));
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<NoteVerifier>> keys = ParseVerifierKeys(*text, pem_name);
    if (!keys.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--key ", ctx.args.Get("key"), ": ", keys.status().message()));
    }
    for (const NoteVerifier& k : *keys) out.push_back(k.VerifierKey());
    return out;
  }
  lethe::v1::ListAuditPublicKeysResponse reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.audit().ListAuditPublicKeys(
      context.get(), lethe::v1::ListAuditPublicKeysRequest(), &reply);
  if (!status.ok()) return absl::UnavailableError(FormatRpcError(status));
  for (const auto& k : reply.keys()) out.push_back(k.verifier_key());
  return out;
}

int RunAuditChainVerify(CommandContext& ctx, lethe::v1::VerifyAuditChainResponse* reply) {
  lethe::v1::VerifyAuditChainRequest req;
  auto context = ctx.rpc.Context(kVerifyDefaultSeconds);
  grpc::Status status = ctx.rpc.audit().VerifyAuditChain(context.get(), req, reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  return reply->ok() ? kExitOk : kExitAuditBroken;
}

// verify --since FILE: the log now must extend the saved checkpoint (RFC 9162 consistency),
// both checkpoints must carry a good signature by a trusted key, and the server's own
// whole-chain verification must pass.
int RunAuditVerifySince(CommandContext& ctx) {
  const std::string path = ctx.args.Get("since");
  absl::StatusOr<std::string> saved_text = ReadLocalFile(path);
  if (!saved_text.ok()) return ctx.Fail(kExitFailure, std::string(saved_text.status().message()));
  absl::StatusOr<SignedNote> saved_note = ParseSignedNote(*saved_text);
  if (!saved_note.ok()) {
    return ctx.Usage(absl::StrCat(path, ": ", saved_note.status().message()));
  }
  absl::StatusOr<TlogCheckpoint> saved_cp = ParseCheckpointText(saved_note->text);
  if (!saved_cp.ok()) return ctx.Usage(absl::StrCat(path, ": ", saved_cp.status().message()));
  bool keys_from_server = false;
  absl::StatusOr<std::vector<std::string>> keys =
      TrustedKeys(ctx, saved_cp->origin, &keys_from_server);
  if (!keys.ok()) return ctx.Fail(kExitFailure, std::string(keys.status().message()));

  Json doc = Json::Object();
  doc["since"] = path;
  doc["keys_from_server"] = keys_from_server;
  std::vector<std::string> problems;
  auto finish = [&](int code) {
    doc["ok"] = problems.empty() && code == kExitOk;
    Json p = Json::Array();
    for (const std::string& s : problems) p.Push(Json(s));
    doc["problems"] = p;
    if (ctx.json) {
      ctx.out() << doc.Dump(2) << "\n";
    } else {
      for (const std::string& s : problems) ctx.out() << "FAILED: " << s << "\n";
      if (problems.empty() && code == kExitOk) {
        ctx.out() << "ok: the audit log (" << doc.at("current").GetInt("tree_size", 0)
                  << " records) extends the checkpoint of " << saved_cp->size << " records ("
                  << saved_cp->time << ")\n";
      }
    }
    if (keys_from_server && !ctx.json) {
      ctx.Note("keys taken from the server; pass --key FILE with the published key to pin them");
    }
    if (problems.empty()) return code;
    std::string all;
    for (const std::string& s : problems) absl::StrAppend(&all, all.empty() ? "" : "; ", s);
    return ctx.Fail(kExitAuditBroken, absl::StrCat("audit verify --since: ", all));
  };

  CheckpointCheck saved = CheckCheckpointNote(*saved_text, *keys);
  Json old_doc = Json::Object();
  old_doc["tree_size"] = saved_cp->size;
  old_doc["root_hash"] = merkle::ToHex(saved_cp->root);
  old_doc["time"] = saved_cp->time;
  old_doc["signature_verified"] = saved.ok;
  doc["saved"] = old_doc;
  if (!saved.ok) problems.push_back(absl::StrCat("saved checkpoint: ", saved.error));

  lethe::v1::AuditCheckpoint current_pb;
  {
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.audit().GetAuditCheckpoint(
        context.get(), lethe::v1::GetAuditCheckpointRequest(), &current_pb);
    if (!status.ok()) {
      if (status.error_code() == grpc::StatusCode::DATA_LOSS) {
        // The server refuses to sign a log that no longer extends its own checkpoints.
        problems.push_back(
            absl::StrCat("the server cannot sign the log: ", FormatRpcError(status)));
        doc["current"] = Json::Object();
        return finish(kExitAuditBroken);
      }
      return ctx.RpcFailure(status);
    }
  }
  CheckpointCheck current = CheckCheckpointNote(current_pb.note(), *keys);
  Json cur_doc = Json::Object();
  cur_doc["tree_size"] = current.ok ? current.tree_size : current_pb.tree_size();
  cur_doc["root_hash"] = current.ok ? merkle::ToHex(current.root) : current_pb.root_hash();
  cur_doc["time"] = current.time;
  cur_doc["signature_verified"] = current.ok;
  doc["current"] = cur_doc;
  if (!current.ok) problems.push_back(absl::StrCat("current checkpoint: ", current.error));
  if (!saved.ok || !current.ok) return finish(kExitAuditBroken);

  if (saved.origin != current.origin) {
    problems.push_back(absl::StrCat("the saved checkpoint is of log \"", saved.origin,
                                    "\", the server's of \"", current.origin, "\""));
  } else if (current.tree_size < saved.tree_size) {
    problems.push_back(absl::StrCat("the log has ", current.tree_size,
                                    " records but the saved checkpoint covers ", saved.tree_size,
                                    ": records were removed from its end"));
  } else if (current.tree_size == saved.tree_size) {
    if (current.root != saved.root) {
      problems.push_back(absl::StrCat("two different signed checkpoints of ", saved.tree_size,
                                      " records (roots ", merkle::ToHex(saved.root).substr(0, 16),
                                      "... and ", merkle::ToHex(current.root).substr(0, 16),
                                      "...): the log was forked or rewritten"));
    }
  } else {
    lethe::v1::GetAuditConsistencyProofRequest req;
    req.set_first_size(saved.tree_size);
    req.set_second_size(current.tree_size);
    lethe::v1::AuditConsistencyProof proof;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.audit().GetAuditConsistencyProof(context.get(), req, &proof);
    if (!status.ok()) {
      problems.push_back(absl::StrCat("no consistency proof: ", FormatRpcError(status)));
    } else {
      std::vector<merkle::Hash> hashes;
      bool parsed = true;
      for (const std::string& h : proof.hashes()) {
        absl::StatusOr<merkle::Hash> raw = merkle::HashFromHex(h);
        parsed = parsed && raw.ok();
        if (raw.ok()) hashes.push_back(*raw);
      }
      doc["consistency_proof_hashes"] = int64_t(hashes.size());
      if (!parsed || !merkle::VerifyConsistency(saved.tree_size, current.tree_size, saved.root,
                                                current.root, hashes)) {
        problems.push_back(absl::StrCat(
            "the log of ", current.tree_size, " records does not extend the saved checkpoint of ",
            saved.tree_size, " records (the consistency proof fails): history was rewritten"));
      }
    }
  }
  // The server's whole-chain check (every record's hash and leaf, stored checkpoints).
  lethe::v1::VerifyAuditChainResponse chain;
  {
    auto context = ctx.rpc.Context(kVerifyDefaultSeconds);
    grpc::Status status = ctx.rpc.audit().VerifyAuditChain(
        context.get(), lethe::v1::VerifyAuditChainRequest(), &chain);
    if (status.ok()) {
      doc["chain"] = Json::Parse(MessageToJson(chain));
      if (!chain.ok()) {
        problems.push_back(absl::StrCat("chain verification: record ", chain.first_bad_seq(), ": ",
                                        chain.reason()));
      }
    } else {
      doc["chain_error"] = FormatRpcError(status);
    }
  }
  if (problems.empty() && ctx.args.Has("out")) {
    if (absl::Status s = WriteLocalFile(ctx.args.Get("out"), current_pb.note()); !s.ok()) {
      return ctx.Fail(kExitFailure, std::string(s.message()));
    }
    doc["saved_current_to"] = ctx.args.Get("out");
  }
  return finish(kExitOk);
}

int RunAuditVerify(CommandContext& ctx) {
  if (ctx.args.Has("since")) return RunAuditVerifySince(ctx);
  if (ctx.args.Has("key") || ctx.args.Has("out")) return ctx.Usage("--key and --out need --since");
  lethe::v1::VerifyAuditChainResponse reply;
  int code = RunAuditChainVerify(ctx, &reply);
  if (code != kExitOk && code != kExitAuditBroken) return code;
  ctx.out() << (ctx.json ? MessageToJson(reply) : FormatAuditVerification(reply));
  return code;
}

int RunAuditCheckpoint(CommandContext& ctx) {
  lethe::v1::AuditCheckpoint cp;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.audit().GetAuditCheckpoint(
      context.get(), lethe::v1::GetAuditCheckpointRequest(), &cp);
  if (!status.ok()) return ctx.RpcFailure(status);
  bool keys_from_server = false;
  absl::StatusOr<std::vector<std::string>> keys =
      TrustedKeys(ctx, cp.key_name(), &keys_from_server);
  if (!keys.ok()) return ctx.Fail(kExitFailure, std::string(keys.status().message()));
  CheckpointCheck check = CheckCheckpointNote(cp.note(), *keys);
  if (!check.ok) {
    return ctx.Fail(kExitAuditBroken,
                    absl::StrCat("the server's checkpoint does not verify: ", check.error));
  }
  const std::string out = ctx.args.Get("out");
  if (!out.empty()) {
    if (absl::Status s = WriteLocalFile(out, cp.note()); !s.ok()) {
      return ctx.Fail(kExitFailure, std::string(s.message()));
    }
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(cp);
  } else if (out.empty()) {
    ctx.out() << cp.note();
  } else {
    ctx.out() << "wrote " << out << ": " << check.tree_size << " records, root "
              << merkle::ToHex(check.root) << ", " << check.time << ", signed by " << check.key
              << "\n";
  }
  return kExitOk;
}

int RunAuditKeys(CommandContext& ctx) {
  lethe::v1::ListAuditPublicKeysResponse reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.audit().ListAuditPublicKeys(
      context.get(), lethe::v1::ListAuditPublicKeysRequest(), &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  std::string lines;
  for (const auto& k : reply.keys()) {
    absl::StrAppend(&lines, k.verifier_key(), "\n");
  }
  const std::string out = ctx.args.Get("out");
  if (!out.empty()) {
    if (absl::Status s = WriteLocalFile(out, lines); !s.ok()) {
      return ctx.Fail(kExitFailure, std::string(s.message()));
    }
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(reply);
  } else {
    for (const auto& k : reply.keys()) {
      ctx.out() << k.verifier_key() << (k.signing() ? "  (signing)" : "") << "\n";
    }
    if (reply.keys_size() == 0) ctx.Note("the server has no audit signing key");
  }
  return kExitOk;
}

std::string NowRfc3339() {
  google::protobuf::Timestamp ts;
  ts.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count());
  return FormatTimestamp(ts);
}

int RunAuditExport(CommandContext& ctx) {
  const std::string id = ctx.args.positionals()[0];
  const std::string dir = ctx.args.Get("out");
  if (dir.empty()) return ctx.Usage("--out DIR is required");

  ReportInputs in;
  in.generated_at = NowRfc3339();
  in.server = ctx.server;
  {
    lethe::v1::GetForgetRequestRequest req;
    req.set_id(id);
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.unlearning().GetForgetRequest(context.get(), req, &in.request);
    if (!status.ok()) return ctx.RpcFailure(status);
  }
  {
    lethe::v1::GetModelRequest req;
    req.set_name(in.request.model());
    lethe::v1::Model model;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.models().GetModel(context.get(), req, &model);
    if (status.ok()) {
      in.model = std::move(model);
    } else {
      in.model_error = FormatRpcError(status);
    }
  }
  {
    lethe::v1::ListAuditRecordsRequest req;
    req.set_request_id(in.request.id());
    req.set_page_size(1000);
    lethe::v1::ListAuditRecordsResponse records;
    grpc::Status status = ListAllRecords(ctx, req, true, &records);
    if (!status.ok()) return ctx.RpcFailure(status);
    in.records.assign(records.records().begin(), records.records().end());
  }
  {
    lethe::v1::VerifyAuditChainRequest req;
    lethe::v1::VerifyAuditChainResponse reply;
    auto context = ctx.rpc.Context(kVerifyDefaultSeconds);
    grpc::Status status = ctx.rpc.audit().VerifyAuditChain(context.get(), req, &reply);
    if (status.ok()) {
      in.chain = reply;
    } else {
      in.chain_error = FormatRpcError(status);
    }
  }
  {
    // The transparency evidence: a signed checkpoint and a proof of every record in it.
    lethe::v1::AuditCheckpoint cp;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.audit().GetAuditCheckpoint(
        context.get(), lethe::v1::GetAuditCheckpointRequest(), &cp);
    if (status.ok()) {
      lethe::v1::ListAuditPublicKeysResponse keys;
      auto keys_context = ctx.rpc.Context();
      status = ctx.rpc.audit().ListAuditPublicKeys(keys_context.get(),
                                                   lethe::v1::ListAuditPublicKeysRequest(), &keys);
      if (status.ok()) in.keys.assign(keys.keys().begin(), keys.keys().end());
    }
    for (size_t i = 0; status.ok() && i < in.records.size(); ++i) {
      lethe::v1::GetAuditInclusionProofRequest req;
      req.set_seq(in.records[i].seq());
      req.set_tree_size(cp.tree_size());
      lethe::v1::AuditInclusionProof proof;
      auto proof_context = ctx.rpc.Context();
      status = ctx.rpc.audit().GetAuditInclusionProof(proof_context.get(), req, &proof);
      if (status.ok()) in.proofs.push_back(std::move(proof));
    }
    if (status.ok()) {
      in.checkpoint = std::move(cp);
    } else {
      in.checkpoint_error = FormatRpcError(status);
      in.proofs.clear();
    }
  }
  // The grid is fetched before anything is written: a grid that fails verification stops
  // the export with nothing on disk.
  std::string grid_png;
  const int64_t result_version = in.request.result().model_version_id();
  if (result_version == 0) {
    in.grid_note = absl::StrCat("the request produced no model version (state ",
                                StateName(in.request.state()), ")");
  } else {
    lethe::v1::SampleRequest req;
    req.set_model(in.request.model());
    req.set_version_id(result_version);
    lethe::v1::SampleResponse reply;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.models().Sample(context.get(), req, &reply);
    if (status.error_code() == grpc::StatusCode::DATA_LOSS) {
      // The server refused a stored grid that does not match its recorded hash: evidence
      // that does not verify is not exported.
      return ctx.RpcFailure(status);
    }
    if (status.ok() && !reply.png().empty()) {
      std::string sha = Sha256Hex(reply.png());
      if (!reply.sha256().empty() && sha != reply.sha256()) {
        return ctx.Fail(kExitIntegrity, absl::StrCat("sample grid: sha256 mismatch (expected ",
                                                     reply.sha256(), ", got ", sha, ")"));
      }
      grid_png = std::move(*reply.mutable_png());
      in.grid_file = "grid.png";
      in.grid_sha256 = sha;
      in.grid_version_id = reply.version_id();
    } else {
      in.grid_note = status.ok() ? "the server returned an empty sample" : FormatRpcError(status);
    }
  }

  try {
    MakeDirs(dir);
  } catch (const lethe::Error& e) {
    return ctx.Fail(kExitFailure, e.what());
  }
  if (!in.grid_file.empty()) {
    if (absl::Status s = WriteLocalFile(JoinPath(dir, in.grid_file), grid_png); !s.ok()) {
      return ctx.Fail(kExitFailure, std::string(s.message()));
    }
  }
  Json report = BuildReport(in);
  std::string markdown = RenderReportMarkdown(report);
  const std::string json_path = JoinPath(dir, "report.json");
  const std::string md_path = JoinPath(dir, "report.md");
  if (absl::Status s = WriteLocalFile(json_path, report.Dump(2) + "\n"); !s.ok()) {
    return ctx.Fail(kExitFailure, std::string(s.message()));
  }
  if (absl::Status s = WriteLocalFile(md_path, markdown); !s.ok()) {
    return ctx.Fail(kExitFailure, std::string(s.message()));
  }
  const bool hashes_ok = report.at("audit").GetBool("all_hashes_match", false);
  const bool chain_ok = !in.chain || in.chain->ok();
  const Json& tlog = report.at("audit").at("transparency");
  const bool proofs_ok = !in.checkpoint || tlog.GetBool("all_proofs_verified", false);
  if (ctx.json) {
    Json doc = Json::Object();
    doc["request_id"] = in.request.id();
    doc["dir"] = dir;
    Json files = Json::Array();
    files.Push(Json(json_path));
    files.Push(Json(md_path));
    if (!in.grid_file.empty()) files.Push(Json(JoinPath(dir, in.grid_file)));
    doc["files"] = files;
    doc["audit_records"] = static_cast<int64_t>(in.records.size());
    doc["all_hashes_match"] = hashes_ok;
    doc["chain_verified"] = in.chain ? Json(in.chain->ok()) : Json();
    doc["checkpoint_tree_size"] = in.checkpoint ? Json(in.checkpoint->tree_size()) : Json();
    doc["inclusion_proofs_verified"] = in.checkpoint ? Json(proofs_ok) : Json();
    ctx.out() << doc.Dump(2) << "\n";
  } else {
    ctx.out() << "wrote " << json_path << "\nwrote " << md_path << "\n";
    if (!in.grid_file.empty()) ctx.out() << "wrote " << JoinPath(dir, in.grid_file) << "\n";
    ctx.out() << in.records.size() << " audit record(s), hashes "
              << (hashes_ok ? "recomputed and matching" : "MISMATCHING") << "; chain "
              << (in.chain ? (in.chain->ok() ? "verified" : "BROKEN") : "not verified (no access)")
              << "; inclusion in the signed checkpoint "
              << (in.checkpoint ? (proofs_ok ? absl::StrCat("proven (", in.checkpoint->tree_size(),
                                                            " records)")
                                             : std::string("NOT PROVEN"))
                                : absl::StrCat("not available (", in.checkpoint_error, ")"))
              << "\n";
  }
  if (!hashes_ok || !chain_ok || !proofs_ok) {
    return ctx.Fail(kExitAuditBroken, "the audit evidence does not verify; see the report");
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandDef> AuditCommands() {
  return {
      {{"audit", "list"},
       "[flags]",
       "list audit records (DPO/service tokens: --request is required)",
       {{"request", FlagKind::kValue, "ID", "only records of this forget request"},
        {"action", FlagKind::kValue, "A", "only this action, e.g. request.received"},
        {"after-seq", FlagKind::kValue, "N", "only records after this sequence number"},
        {"page-size", FlagKind::kValue, "N", "records per page, [1, 1000]"},
        {"page-token", FlagKind::kValue, "T", "continue from a previous page"},
        {"all", FlagKind::kBool, "", "follow every page"}},
       0,
       0,
       RunAuditList},
      {{"audit", "verify"},
       "[--since FILE [--key FILE] [--out FILE]]",
       "recompute the whole hash chain on the server; with --since, also prove that the log "
       "extends a saved checkpoint (exit 7 when broken, truncated, rewritten or forked)",
       {{"since", FlagKind::kValue, "FILE", "a checkpoint saved by `audit checkpoint --out`"},
        {"key", FlagKind::kValue, "FILE",
         "trusted public key(s): PEM or verifier keys (default: the server's list)"},
        {"out", FlagKind::kValue, "FILE", "when it verifies, save the current checkpoint here"}},
       0,
       0,
       RunAuditVerify},
      {{"audit", "checkpoint"},
       "[--out FILE]",
       "get the server's current signed checkpoint of the audit log (verified before saving)",
       {{"out", FlagKind::kValue, "FILE", "write the signed checkpoint here"},
        {"key", FlagKind::kValue, "FILE",
         "trusted public key(s): PEM or verifier keys (default: the server's list)"}},
       0,
       0,
       RunAuditCheckpoint},
      {{"audit", "keys"},
       "[--out FILE]",
       "list the public keys that verify the server's checkpoints (verifier keys)",
       {{"out", FlagKind::kValue, "FILE", "write them here, one per line"}},
       0,
       0,
       RunAuditKeys},
      {{"audit", "export"},
       "ID --out DIR",
       "write a self-contained verification report of one request (report.json, report.md, "
       "grid.png) with inclusion proofs of its records in the signed checkpoint",
       {{"out", FlagKind::kValue, "DIR", "directory to write into (created)"}},
       1,
       1,
       RunAuditExport},
  };
}

}  // namespace lethe::cli
