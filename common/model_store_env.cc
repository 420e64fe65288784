#include "common/model_store_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace lethe {
namespace {

class PosixWritableFile : public StoreEnv::WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(std::string_view data) override {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t w = ::write(fd_, data.data() + off, data.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return StoreErrnoStatus(errno, "write", path_);
      }
      off += size_t(w);
    }
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    if (::fsync(fd_) != 0) return StoreErrnoStatus(errno, "fsync", path_);
    return absl::OkStatus();
  }
  absl::Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return StoreErrnoStatus(errno, "close", path_);
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixStoreEnv : public StoreEnv {
 public:
  absl::Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return StoreErrnoStatus(ec.value(), "mkdir", path);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return StoreErrnoStatus(errno, "create", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }
  absl::Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return StoreErrnoStatus(errno, "open directory", path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return StoreErrnoStatus(err, "fsync directory", path);
    return absl::OkStatus();
  }
  absl::Status RenameDir(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      int err = errno;
      if (err == ENOTEMPTY || err == EEXIST) {
        return absl::AlreadyExistsError(absl::StrCat("rename to ", to, ": already exists"));
      }
      return StoreErrnoStatus(err, "rename to", to);
    }
    return absl::OkStatus();
  }
  absl::Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return StoreErrnoStatus(ec.value(), "remove", path);
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<StoreEnv> NewPosixStoreEnv() { return std::make_unique<PosixStoreEnv>(); }

absl::Status StoreErrnoStatus(int err, const std::string& what, const std::string& path) {
  std::string msg = absl::StrCat("model store: cannot ", what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

}  // namespace lethe
