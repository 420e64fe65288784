#include "common/model_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/checkpoint_manifest.h"
#include "common/dataset_manifest.h"
#include "common/errors.h"
#include "common/validation.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

// Copies src to dst (a new file, through `env`), fsyncs dst, and returns the SHA-256 of
// what was copied.
absl::StatusOr<std::string> CopyAndHash(StoreEnv& env, const std::string& src,
                                        const std::string& dst) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return absl::NotFoundError(Errno("cannot open", src));
  auto out = env.NewWritableFile(dst);
  if (!out.ok()) {
    ::close(in);
    return out.status();
  }
  Sha256 hash;
  std::string buf(1 << 20, '\0');
  absl::Status status;
  while (true) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = absl::InternalError(Errno("cannot read", src));
      break;
    }
    if (n == 0) break;
    hash.Update(buf.data(), size_t(n));
    status = (*out)->Append(std::string_view(buf.data(), size_t(n)));
    if (!status.ok()) break;
  }
  ::close(in);
  if (status.ok()) status = (*out)->Sync();
  absl::Status closed = (*out)->Close();
  if (status.ok()) status = closed;
  if (!status.ok()) return status;
  return hash.FinishHex();
}

// Temporary directories a crashed writer left behind: removed once they are old enough
// that no live writer can still be filling them.
void RemoveStaleTemps(StoreEnv& env, const std::string& model_dir) {
  constexpr auto kStaleAfter = std::chrono::hours(1);
  std::error_code ec;
  std::filesystem::directory_iterator it(model_dir, ec);
  if (ec) return;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.rfind(DirectoryModelStore::kTempPrefix, 0) != 0) continue;
    auto mtime = entry.last_write_time(ec);
    if (ec || now - mtime < kStaleAfter) continue;
    (void)env.RemoveAll(entry.path().string());  // best effort; the next put tries again
  }
}

bool ValidKeyPart(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DirectoryModelStore>> DirectoryModelStore::Create(
    const std::string& root, std::shared_ptr<StoreEnv> env) {
  if (root.empty()) return absl::InvalidArgumentError("model store directory is empty");
  if (env == nullptr) env = NewPosixStoreEnv();
  try {
    MakeDirs(root);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("model store: ", e.what()));
  }
  std::error_code ec;
  std::string abs = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) abs = root;
  if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return std::unique_ptr<DirectoryModelStore>(new DirectoryModelStore(abs, std::move(env)));
}

absl::StatusOr<std::string> DirectoryModelStore::PathOf(const std::string& key,
                                                        const std::string& name) const {
  size_t slash = key.find('/');
  if (slash == std::string::npos || !ValidKeyPart(key.substr(0, slash)) ||
      !ValidKeyPart(key.substr(slash + 1))) {
    return absl::InvalidArgumentError(absl::StrCat("bad model store key \"", key, "\""));
  }
  if (!name.empty() && !ValidKeyPart(name)) {
    return absl::InvalidArgumentError(absl::StrCat("bad model file name \"", name, "\""));
  }
  std::string dir = JoinPath(root_, key);
  return name.empty() ? dir : JoinPath(dir, name);
}

absl::StatusOr<std::string> DirectoryModelStore::PutVersion(
    const std::string& model, const std::string& digest, const std::string& source_dir,
    const std::map<std::string, std::string>& files) {
  if (CheckModelName("model", model).ok() == false || !IsSha256Hex(digest)) {
    return absl::InvalidArgumentError("model store: bad model name or digest");
  }
  std::string key = model + "/" + digest;
  std::string final_dir = JoinPath(JoinPath(root_, model), digest);
  std::string model_dir = JoinPath(root_, model);
  if (IsDirectory(final_dir) && PathExists(JoinPath(final_dir, kCheckpointManifestName))) {
    // Content-addressed: already there. Its rename may not be durable yet (a put that
    // failed at the last step is retried), so sync the parent once more.
    if (absl::Status s = env_->SyncDir(model_dir); !s.ok()) return s;
    return key;
  }
  RemoveStaleTemps(*env_, model_dir);
  std::string tmp_dir = JoinPath(model_dir, std::string(kTempPrefix) + digest.substr(0, 16) + "-" +
                                                Base64UrlEncode(RandomBytes(6)));
  // Whatever fails below, the temporary directory goes; the version never appears half.
  auto fail = [&](absl::Status status) {
    absl::Status removed = env_->RemoveAll(tmp_dir);
    if (!removed.ok()) {
      status = absl::Status(status.code(),
                            absl::StrCat(status.message(), " (and ", removed.message(), ")"));
    }
    return status;
  };
  if (absl::Status s = env_->CreateDirs(tmp_dir); !s.ok()) return fail(s);
  std::map<std::string, std::string> all = files;
  all[kCheckpointManifestName] = digest;  // the manifest's own hash is the version digest
  for (const auto& [name, expected] : all) {
    if (!ValidKeyPart(name)) {
      return fail(
          absl::InvalidArgumentError(absl::StrCat("model store: bad file name \"", name, "\"")));
    }
    auto got = CopyAndHash(*env_, JoinPath(source_dir, name), JoinPath(tmp_dir, name));
    if (!got.ok()) return fail(got.status());
    if (*got != expected) {
      return fail(
          MakeError(absl::StatusCode::kFailedPrecondition, "CHECKSUM_MISMATCH",
                    absl::StrCat("model store: ", JoinPath(source_dir, name), " has SHA-256 ",
                                 got->substr(0, 16), "..., but the manifest says ",
                                 expected.substr(0, 16), "..."),
                    {{"file", name}, {"expected_sha256", expected}, {"actual_sha256", *got}}));
    }
  }
  if (absl::Status s = env_->SyncDir(tmp_dir); !s.ok()) return fail(s);
  absl::Status renamed = env_->RenameDir(tmp_dir, final_dir);
  if (renamed.code() == absl::StatusCode::kAlreadyExists && IsDirectory(final_dir)) {
    (void)fail(renamed);  // a concurrent writer won the race with the same content
    return key;
  }
  if (!renamed.ok()) return fail(renamed);
  // The version is in place; if making the rename durable fails, report it so the caller
  // retries (the retry finds the version and succeeds) rather than publishing a row that a
  // power loss could leave pointing at nothing.
  if (absl::Status s = env_->SyncDir(model_dir); !s.ok()) return s;
  return key;
}

bool DirectoryModelStore::HasFile(const std::string& key, const std::string& name) const {
  auto path = PathOf(key, name);
  if (!path.ok()) return false;
  struct stat st;
  return ::stat(path->c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<int64_t> DirectoryModelStore::FileSize(const std::string& key,
                                                      const std::string& name) const {
  auto path = PathOf(key, name);
  if (!path.ok()) return path.status();
  struct stat st;
  if (::stat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("model store has no file ", key, "/", name));
  }
  return int64_t(st.st_size);
}

absl::StatusOr<std::string> DirectoryModelStore::ReadChunk(const std::string& key,
                                                           const std::string& name, int64_t offset,
                                                           int64_t max_bytes) const {
  auto path = PathOf(key, name);
  if (!path.ok()) return path.status();
  int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(Errno("model store: cannot open", *path));
  std::string buf(size_t(max_bytes), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, off_t(offset + int64_t(got)));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = Errno("model store: cannot read", *path);
      ::close(fd);
      return absl::InternalError(err);
    }
    if (n == 0) break;
    got += size_t(n);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

absl::StatusOr<std::string> DirectoryModelStore::ReadWhole(const std::string& key,
                                                           const std::string& name) const {
  auto path = PathOf(key, name);
  if (!path.ok()) return path.status();
  if (!PathExists(*path)) {
    return absl::NotFoundError(absl::StrCat("model store has no file ", key, "/", name));
  }
  try {
    return ReadFile(*path);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model store: ", e.what()));
  }
}

absl::StatusOr<std::string> DirectoryModelStore::LocalDirectory(const std::string& key) const {
  return PathOf(key, "");
}

absl::Status DirectoryModelStore::RemoveVersion(const std::string& key) {
  auto dir = PathOf(key, "");
  if (!dir.ok()) return dir.status();
  return env_->RemoveAll(*dir);
}

absl::StatusOr<std::vector<StoreEntry>> DirectoryModelStore::ListEntries() const {
  std::vector<StoreEntry> out;
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  std::filesystem::directory_iterator models(root_, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("model store: cannot list ", root_));
  for (const auto& model : models) {
    if (!model.is_directory(ec)) continue;
    std::string model_name = model.path().filename().string();
    std::filesystem::directory_iterator versions(model.path(), ec);
    if (ec) continue;
    for (const auto& v : versions) {
      if (!v.is_directory(ec)) continue;
      auto mtime = v.last_write_time(ec);
      if (ec) continue;
      std::string name = v.path().filename().string();
      StoreEntry e;
      e.key = model_name + "/" + name;
      e.temporary = name.rfind(kTempPrefix, 0) == 0;
      e.age_seconds = std::chrono::duration<double>(now - mtime).count();
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::Status DirectoryModelStore::RemoveEntry(const StoreEntry& entry) {
  size_t slash = entry.key.find('/');
  if (slash == std::string::npos || !ValidKeyPart(entry.key.substr(0, slash)) ||
      !ValidKeyPart(entry.key.substr(slash + 1))) {
    return absl::InvalidArgumentError(absl::StrCat("bad model store key \"", entry.key, "\""));
  }
  return env_->RemoveAll(JoinPath(root_, entry.key));
}

}  // namespace lethe
