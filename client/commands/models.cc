// models list|get|register|download|sample.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "client/commands/command.h"
#include "client/download.h"
#include "client/format.h"
#include "client/rpc_error.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"

namespace lethe::cli {
namespace {

// Downloads stream whole checkpoints; --timeout overrides this.
constexpr double kDownloadDefaultSeconds = 600;

int RunModelsList(CommandContext& ctx) {
  lethe::v1::ListModelsRequest req;
  if (ctx.args.Has("page-size")) {
    absl::StatusOr<int64_t> n = ParseIntFlag("--page-size", ctx.args.Get("page-size"), 1, 500);
    if (!n.ok()) return ctx.Usage(std::string(n.status().message()));
    req.set_page_size(static_cast<int32_t>(*n));
  }
  lethe::v1::ListModelsResponse merged;
  for (int pages = 0;; ++pages) {
    lethe::v1::ListModelsResponse page;
    auto context = ctx.rpc.Context();
    grpc::Status status = ctx.rpc.models().ListModels(context.get(), req, &page);
    if (!status.ok()) return ctx.RpcFailure(status);
    for (auto& m : *page.mutable_models()) *merged.add_models() = std::move(m);
    if (page.next_page_token().empty() || page.next_page_token() == req.page_token() ||
        pages > 10000) {
      break;
    }
    req.set_page_token(page.next_page_token());
  }
  if (ctx.json) {
    ctx.out() << MessageToJson(merged);
  } else {
    ctx.out() << FormatModelList({merged.models().begin(), merged.models().end()});
  }
  return kExitOk;
}

int RunModelsGet(CommandContext& ctx) {
  lethe::v1::GetModelRequest req;
  req.set_name(ctx.args.positionals()[0]);
  lethe::v1::Model reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.models().GetModel(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  ctx.out() << (ctx.json ? MessageToJson(reply) : FormatModelDetail(reply));
  return kExitOk;
}

// Server-side paths: a relative path means the caller's directory (lethectl and the server
// share a file system when this is used on one host).
std::string Absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

int RunModelsRegister(CommandContext& ctx) {
  lethe::v1::RegisterModelRequest req;
  for (const char* flag : {"name", "checkpoint", "dataset-manifest"}) {
    if (ctx.args.Get(flag).empty()) return ctx.Usage(absl::StrCat("--", flag, " is required"));
  }
  req.set_name(ctx.args.Get("name"));
  req.set_checkpoint_dir(Absolute(ctx.args.Get("checkpoint")));
  req.set_dataset_items_file(Absolute(ctx.args.Get("dataset-manifest")));
  struct Dim {
    const char* flag;
    void (lethe::v1::RegisterModelRequest::*set)(int32_t);
  };
  for (const Dim& d : {Dim{"item-width", &lethe::v1::RegisterModelRequest::set_item_width},
                       Dim{"item-height", &lethe::v1::RegisterModelRequest::set_item_height},
                       Dim{"item-channels", &lethe::v1::RegisterModelRequest::set_item_channels}}) {
    if (!ctx.args.Has(d.flag)) continue;
    absl::StatusOr<int64_t> v =
        ParseIntFlag(absl::StrCat("--", d.flag), ctx.args.Get(d.flag), 1, 65536);
    if (!v.ok()) return ctx.Usage(std::string(v.status().message()));
    (req.*d.set)(static_cast<int32_t>(*v));
  }
  lethe::v1::Model reply;
  // Registration hashes every checkpoint file and loads the whole manifest.
  auto context = ctx.rpc.Context(120);
  grpc::Status status = ctx.rpc.models().RegisterModel(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  ctx.out() << (ctx.json ? MessageToJson(reply) : FormatModelDetail(reply));
  return kExitOk;
}

// A local verification failure (DATA_LOSS) is an integrity failure; anything else (disk
// full, permissions) a plain one.
int LocalFailureCode(const absl::Status& s) {
  return s.code() == absl::StatusCode::kDataLoss ? kExitIntegrity : kExitFailure;
}

std::string DownloadFailed(const absl::Status& s) {
  return absl::StrCat("download failed: ", s.message(), "; nothing was kept");
}

absl::StatusOr<int64_t> VersionFlag(const ParsedArgs& args) {
  if (!args.Has("version")) return 0;
  return ParseIntFlag("--version", args.Get("version"), 1, INT64_MAX);
}

int RunModelsDownload(CommandContext& ctx) {
  lethe::v1::DownloadModelVersionRequest req;
  req.set_model(ctx.args.positionals()[0]);
  absl::StatusOr<int64_t> version = VersionFlag(ctx.args);
  if (!version.ok()) return ctx.Usage(std::string(version.status().message()));
  req.set_version_id(*version);
  req.set_file(ctx.args.Get("file"));
  std::string dir = ctx.args.Get("out");
  if (dir.empty()) return ctx.Usage("--out DIR is required");
  // The writer outlives the directory guard, which removes the writer's files on failure.
  DownloadWriter writer(dir);
  DownloadDir out_dir;
  if (absl::Status s = out_dir.Create(dir); !s.ok()) {
    return ctx.Fail(kExitFailure, std::string(s.message()));
  }
  out_dir.Track(writer);
  auto context = ctx.rpc.Context(kDownloadDefaultSeconds);
  auto reader = ctx.rpc.models().DownloadModelVersion(context.get(), req);
  lethe::v1::DownloadChunk chunk;
  absl::Status local;
  while (reader->Read(&chunk)) {
    local = writer.Accept(chunk);
    if (!local.ok()) {
      context->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!local.ok()) return ctx.Fail(LocalFailureCode(local), DownloadFailed(local));
  if (!status.ok()) return ctx.RpcFailure(status);
  if (absl::Status s = writer.Finish(req.file().empty()); !s.ok()) {
    return ctx.Fail(LocalFailureCode(s), DownloadFailed(s));
  }
  out_dir.Keep();
  if (ctx.json) {
    Json doc = Json::Object();
    doc["model"] = req.model();
    doc["version_id"] = writer.version_id();
    doc["version_sha256"] = writer.version_sha256();
    doc["verified"] = true;
    Json files = Json::Array();
    for (const auto& [name, f] : writer.files()) {
      Json j = Json::Object();
      j["name"] = name;
      j["path"] = f.path;
      j["size"] = f.size;
      j["sha256"] = f.sha256;
      files.Push(j);
    }
    doc["files"] = files;
    ctx.out() << doc.Dump(2) << "\n";
  } else {
    Table t({"FILE", "BYTES", "SHA256"});
    for (const auto& [name, f] : writer.files()) t.AddRow({f.path, absl::StrCat(f.size), f.sha256});
    ctx.out() << t.Render();
    ctx.out() << "version " << writer.version_id() << " (sha256 " << writer.version_sha256()
              << "): " << writer.files().size() << " file(s) written and verified\n";
  }
  return kExitOk;
}

int RunModelsSample(CommandContext& ctx) {
  lethe::v1::SampleRequest req;
  req.set_model(ctx.args.positionals()[0]);
  absl::StatusOr<int64_t> version = VersionFlag(ctx.args);
  if (!version.ok()) return ctx.Usage(std::string(version.status().message()));
  req.set_version_id(*version);
  std::string out = ctx.args.Get("out");
  if (out.empty()) return ctx.Usage("--out FILE is required");
  lethe::v1::SampleResponse reply;
  auto context = ctx.rpc.Context();
  grpc::Status status = ctx.rpc.models().Sample(context.get(), req, &reply);
  if (!status.ok()) return ctx.RpcFailure(status);
  std::string got = Sha256Hex(reply.png());
  if (!reply.sha256().empty() && got != reply.sha256()) {
    return ctx.Fail(kExitIntegrity, absl::StrCat("sample: sha256 mismatch (expected ",
                                                 reply.sha256(), ", got ", got, ")"));
  }
  if (absl::Status s = WriteLocalFile(out, reply.png()); !s.ok()) {
    return ctx.Fail(kExitFailure, std::string(s.message()));
  }
  if (ctx.json) {
    Json doc = Json::Object();
    doc["model"] = req.model();
    doc["version_id"] = reply.version_id();
    doc["path"] = out;
    doc["bytes"] = static_cast<int64_t>(reply.png().size());
    doc["sha256"] = got;
    ctx.out() << doc.Dump(2) << "\n";
  } else {
    ctx.out() << "wrote " << out << " (version " << reply.version_id() << ", " << reply.png().size()
              << " bytes, sha256 " << got << ")\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandDef> ModelCommands() {
  return {
      {{"models", "list"},
       "",
       "list the hosted models",
       {{"page-size", FlagKind::kValue, "N", "models per request, [1, 500]"}},
       0,
       0,
       RunModelsList},
      {{"models", "get"}, "NAME", "show a model and its versions", {}, 1, 1, RunModelsGet},
      {{"models", "register"},
       "--name M --checkpoint DIR --dataset-manifest FILE",
       "register a checkpoint on the server's file system as a new model (operator/admin)",
       {{"name", FlagKind::kValue, "M", "model name, [a-z0-9][a-z0-9._-]{0,62}"},
        {"checkpoint", FlagKind::kValue, "DIR",
         "checkpoint directory with manifest.json (server path; relative = this directory)"},
        {"dataset-manifest", FlagKind::kValue, "FILE",
         "training data set manifest, TSV or JSONL (server path)"},
        {"item-width", FlagKind::kValue, "W", "width of a training item (default: resolution)"},
        {"item-height", FlagKind::kValue, "H", "height of a training item"},
        {"item-channels", FlagKind::kValue, "C", "channels of a training item"}},
       0,
       0,
       RunModelsRegister},
      {{"models", "download"},
       "NAME --out DIR [--version N] [--file F]",
       "download a model version's files, verifying every SHA-256",
       {{"out", FlagKind::kValue, "DIR", "directory to write into (created)"},
        {"version", FlagKind::kValue, "N", "version id (default: production)"},
        {"file", FlagKind::kValue, "F", "only this file"}},
       1,
       1,
       RunModelsDownload},
      {{"models", "sample"},
       "NAME --out FILE.png [--version N]",
       "save the version's stored sample grid",
       {{"out", FlagKind::kValue, "FILE", "PNG file to write"},
        {"version", FlagKind::kValue, "N", "version id (default: production)"}},
       1,
       1,
       RunModelsSample},
  };
}

}  // namespace lethe::cli
