#include "common/model_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/checkpoint_manifest.h"
#include "common/dataset_manifest.h"
#include "common/validation.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

// Copies src to dst (O_EXCL), fsyncs dst, and returns the SHA-256 of what was copied.
absl::StatusOr<std::string> CopyAndHash(const std::string& src, const std::string& dst) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return absl::NotFoundError(Errno("cannot open", src));
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return absl::InternalError(Errno("cannot create", dst));
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
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::write(out, buf.data() + off, size_t(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        status = absl::InternalError(Errno("cannot write", dst));
        break;
      }
      off += w;
    }
    if (!status.ok()) break;
  }
  if (status.ok() && ::fsync(out) != 0) status = absl::InternalError(Errno("cannot fsync", dst));
  ::close(in);
  ::close(out);
  if (!status.ok()) return status;
  return hash.FinishHex();
}

bool ValidKeyPart(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DirectoryModelStore>> DirectoryModelStore::Create(
    const std::string& root) {
  if (root.empty()) return absl::InvalidArgumentError("model store directory is empty");
  try {
    MakeDirs(root);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("model store: ", e.what()));
  }
  std::error_code ec;
  std::string abs = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) abs = root;
  if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return std::unique_ptr<DirectoryModelStore>(new DirectoryModelStore(abs));
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
  if (IsDirectory(final_dir) && PathExists(JoinPath(final_dir, kCheckpointManifestName))) {
    return key;  // content-addressed: already there
  }
  std::string model_dir = JoinPath(root_, model);
  std::string tmp_dir =
      JoinPath(model_dir, ".tmp-" + digest.substr(0, 16) + "-" + Base64UrlEncode(RandomBytes(6)));
  try {
    MakeDirs(tmp_dir);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model store: ", e.what()));
  }
  auto cleanup = [&]() {
    std::error_code ec;
    std::filesystem::remove_all(tmp_dir, ec);
  };
  std::map<std::string, std::string> all = files;
  all[kCheckpointManifestName] = digest;  // the manifest's own hash is the version digest
  for (const auto& [name, expected] : all) {
    if (!ValidKeyPart(name)) {
      cleanup();
      return absl::InvalidArgumentError(absl::StrCat("model store: bad file name \"", name, "\""));
    }
    auto got = CopyAndHash(JoinPath(source_dir, name), JoinPath(tmp_dir, name));
    if (!got.ok()) {
      cleanup();
      return got.status();
    }
    if (*got != expected) {
      cleanup();
      return absl::FailedPreconditionError(absl::StrCat(
          "model store: ", JoinPath(source_dir, name), " has SHA-256 ", got->substr(0, 16),
          "..., but the manifest says ", expected.substr(0, 16), "..."));
    }
  }
  try {
    FsyncPath(tmp_dir);
    if (::rename(tmp_dir.c_str(), final_dir.c_str()) != 0) {
      if ((errno == ENOTEMPTY || errno == EEXIST) && IsDirectory(final_dir)) {
        cleanup();  // a concurrent writer won the race with the same content
        return key;
      }
      std::string err = Errno("cannot rename to", final_dir);
      cleanup();
      return absl::InternalError(absl::StrCat("model store: ", err));
    }
    FsyncPath(model_dir);
  } catch (const std::exception& e) {
    cleanup();
    return absl::InternalError(absl::StrCat("model store: ", e.what()));
  }
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
  std::error_code ec;
  std::filesystem::remove_all(*dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("model store: cannot remove ", *dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace lethe
