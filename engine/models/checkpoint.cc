#include "engine/models/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"

namespace lethe::models {
namespace {

namespace fs = std::filesystem;

// Members SaveCheckpoint owns; extra_manifest may not set them.
std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool IsNonEmptyDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && !fs::is_empty(path, ec);
}

// Moves the finished temporary directory to its final name. An empty or missing target is
// replaced by rename(2); an existing one (overwrite) is swapped atomically with
// renameat2(RENAME_EXCHANGE) and the old contents removed afterwards.
void Publish(const std::string& tmp, const std::string& dir, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error("cannot write checkpoint " + dir + ": exists and is not a directory");
  if (IsNonEmptyDirectory(dir)) {
    if (!overwrite) throw Error("checkpoint directory " + dir + " already exists and is not empty");
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0)
      throw Error("cannot replace " + dir + ": " + std::strerror(errno));
    fs::remove_all(tmp, ec);  // now holds the previous version
    return;
  }
  if (::rename(tmp.c_str(), dir.c_str()) != 0)
    throw Error("cannot rename " + tmp + " to " + dir + ": " + std::strerror(errno));
}

lethe::Json Summary(const torch::Tensor& w_avg, const torch::Tensor& w_class_avg,
                    int64_t class_mean_samples, lethe::Json* class_summary) {
  lethe::Json avg = lethe::Json::Object();
  avg["norm"] = w_avg.norm().item<double>();
  lethe::Json cls = lethe::Json::Object();
  torch::Tensor norms = w_class_avg.norm(2, 1).to(torch::kCPU, torch::kFloat64).contiguous();
  lethe::Json arr = lethe::Json::Array();
  for (int64_t i = 0; i < norms.size(0); ++i) arr.Push(norms.data_ptr<double>()[i]);
  cls["norms"] = arr;
  cls["samples_per_class"] = class_mean_samples;
  *class_summary = cls;
  return avg;
}

}  // namespace

std::string SerializeModule(const torch::nn::Module& module) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void DeserializeModule(torch::nn::Module& module, const std::string& bytes,
                       const std::string& what) {
  try {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(in, torch::Device(torch::kCPU));
    module.load(archive);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error("cannot load " + what + ": " + msg.substr(0, msg.find('\n')));
  }
}

bool IsDerivedManifestMember(const std::string& key) {
  static const std::set<std::string> kDerived = {
      "format_version", "config", "num_classes", "w_avg", "w_class_avg", "created_at", "files"};
  return kDerived.count(key) > 0;
}

void SaveCheckpoint(const std::string& dir, const Checkpoint& ckpt,
                    const lethe::Json& extra_manifest, const SaveOptions& options) {
  if (dir.empty()) throw Error("checkpoint directory name is empty");
  if (!ckpt.generator || !ckpt.discriminator)
    throw Error("cannot write checkpoint " + dir + ": generator or discriminator missing");
  if (!extra_manifest.is_null() && !extra_manifest.is_object())
    throw Error("checkpoint manifest extras must be a JSON object");
  if (extra_manifest.is_object())
    for (const auto& [key, value] : extra_manifest.items())
      if (IsDerivedManifestMember(key))
        throw Error("checkpoint manifest extras may not set reserved member \"" + key + "\"");
  for (const auto& [name, bytes] : options.extra_files) {
    CheckCheckpointFileName(name);
    if (name == kGeneratorFile || name == kDiscriminatorFile)
      throw Error("checkpoint extra file may not be named " + name);
  }
  if (IsNonEmptyDirectory(dir) && !options.overwrite)
    throw Error("checkpoint directory " + dir + " already exists and is not empty");

  // Serialise everything first: nothing touches the disk until all of it is in memory.
  std::map<std::string, std::string> files = options.extra_files;
  files[kGeneratorFile] = SerializeModule(*ckpt.generator);
  files[kDiscriminatorFile] = SerializeModule(*ckpt.discriminator);

  lethe::Json manifest = extra_manifest.is_object() ? extra_manifest : lethe::Json::Object();
  if (!manifest.Has("dataset")) manifest["dataset"] = lethe::Json();
  if (!manifest.Has("parent")) manifest["parent"] = lethe::Json();
  manifest["format_version"] = kCheckpointFormatVersion;
  manifest["config"] = ckpt.config.ToJson();
  manifest["num_classes"] = ckpt.config.num_classes;
  manifest["created_at"] = UtcNow();
  {
    torch::NoGradGuard no_grad;
    lethe::Json class_summary;
    manifest["w_avg"] = Summary(ckpt.generator->w_avg(), ckpt.generator->w_class_avg(),
                                ckpt.generator->ClassMeanSamples(), &class_summary);
    manifest["w_class_avg"] = class_summary;
  }
  lethe::Json hashes = lethe::Json::Object();
  for (const auto& [name, bytes] : files) hashes[name] = Sha256Hex(bytes);
  manifest["files"] = hashes;

  fs::path target = fs::absolute(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/" names "out"
  const std::string parent = target.parent_path().string();
  MakeDirs(parent);
  std::string tmp_template = target.string() + ".tmp-XXXXXX";
  if (::mkdtemp(tmp_template.data()) == nullptr)
    throw Error("cannot create temporary directory next to " + dir + ": " + std::strerror(errno));
  const std::string tmp = tmp_template;
  try {
    for (const auto& [name, bytes] : files) WriteFileAtomic(JoinPath(tmp, name), bytes);
    WriteFileAtomic(JoinPath(tmp, kManifestFile), manifest.Dump(2) + "\n");
    FsyncPath(tmp);
    Publish(tmp, target.string(), options.overwrite);
    FsyncPath(parent);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

Checkpoint LoadCheckpoint(const std::string& dir, torch::Device device) {
  const std::string manifest_path = JoinPath(dir, kManifestFile);
  if (!IsDirectory(dir)) throw Error("checkpoint " + dir + " does not exist or is not a directory");
  if (!PathExists(manifest_path)) throw Error("checkpoint " + dir + ": missing " + kManifestFile);
  Checkpoint ckpt;
  ckpt.dir = dir;
  // Every manifest check happens before any listed file is opened.
  CheckpointManifestView view = ParseCheckpointManifestText(ReadFile(manifest_path), dir);
  ckpt.manifest = std::move(view.json);
  ckpt.config = view.config;

  std::map<std::string, std::string> bytes;
  for (const auto& [name, digest] : view.files) {
    const std::string path = JoinPath(dir, name);
    if (!PathExists(path))
      throw Error("checkpoint " + dir + ": file " + name + " listed in the manifest is missing");
    std::string data = ReadFile(path);
    if (Sha256Hex(data) != digest)
      throw Error("checkpoint " + dir + ": file " + name +
                  " fails its SHA-256 check (truncated or modified)");
    bytes[name] = std::move(data);
  }

  ckpt.generator = Generator(ckpt.config);
  DeserializeModule(*ckpt.generator, bytes[kGeneratorFile], JoinPath(dir, kGeneratorFile));
  ckpt.discriminator = Discriminator(ckpt.config);
  DeserializeModule(*ckpt.discriminator, bytes[kDiscriminatorFile],
                    JoinPath(dir, kDiscriminatorFile));
  ckpt.generator->to(device);
  ckpt.discriminator->to(device);
  return ckpt;
}

std::string ReadCheckpointFile(const Checkpoint& ckpt, const std::string& name) {
  CheckCheckpointFileName(name);
  const lethe::Json& files = ckpt.manifest.at("files");
  if (!files.Has(name)) throw Error("checkpoint " + ckpt.dir + " has no file " + name);
  const std::string path = JoinPath(ckpt.dir, name);
  if (!PathExists(path)) throw Error("checkpoint " + ckpt.dir + ": file " + name + " is missing");
  std::string data = ReadFile(path);
  if (Sha256Hex(data) != files.at(name).AsString())
    throw Error("checkpoint " + ckpt.dir + ": file " + name +
                " fails its SHA-256 check (truncated or modified)");
  return data;
}

std::string CheckpointDigest(const std::string& dir) {
  return Sha256FileHex(JoinPath(dir, kManifestFile));
}

}  // namespace lethe::models
