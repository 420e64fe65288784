#include "client/download.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"

namespace lethe::cli {
namespace {

absl::Status Loss(const std::string& m) { return absl::DataLossError(m); }

}  // namespace

bool IsSafeFileName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  for (unsigned char c : name) {
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

DownloadWriter::~DownloadWriter() { Abandon(); }

void DownloadWriter::Abandon() {
  if (current_out_) {
    current_out_.reset();
    std::remove(current_part_.c_str());
  }
  current_name_.clear();
}

absl::Status DownloadWriter::StartFile(const lethe::v1::DownloadChunk& chunk) {
  if (!IsSafeFileName(chunk.file_name())) {
    return Loss(absl::StrCat("the server sent an unsafe file name \"", chunk.file_name(), "\""));
  }
  if (files_.count(chunk.file_name())) {
    return Loss(absl::StrCat(chunk.file_name(), ": sent twice"));
  }
  if (chunk.offset() != 0) {
    return Loss(absl::StrCat(chunk.file_name(), ": first chunk at offset ", chunk.offset()));
  }
  if (chunk.file_size() < 0) return Loss(absl::StrCat(chunk.file_name(), ": negative size"));
  current_name_ = chunk.file_name();
  current_part_ = JoinPath(dir_, current_name_ + ".part");
  current_size_ = chunk.file_size();
  current_expected_sha_ = chunk.file_sha256();
  current_written_ = 0;
  current_hash_ = std::make_unique<Sha256>();
  current_out_ = std::make_unique<std::ofstream>(current_part_, std::ios::binary | std::ios::trunc);
  if (!*current_out_) {
    current_out_.reset();
    return absl::InternalError(absl::StrCat("cannot write ", current_part_));
  }
  return absl::OkStatus();
}

absl::Status DownloadWriter::Accept(const lethe::v1::DownloadChunk& chunk) {
  absl::Status status = AcceptChunk(chunk);
  if (!status.ok()) Abandon();
  return status;
}

absl::Status DownloadWriter::AcceptChunk(const lethe::v1::DownloadChunk& chunk) {
  if (version_id_ < 0) {
    version_id_ = chunk.version_id();
    version_sha256_ = chunk.version_sha256();
  } else if (chunk.version_id() != version_id_ || chunk.version_sha256() != version_sha256_) {
    return Loss(
        absl::StrCat("chunk of version ", chunk.version_id(), " inside version ", version_id_));
  }
  if (current_name_.empty()) {
    if (absl::Status s = StartFile(chunk); !s.ok()) return s;
  } else if (chunk.file_name() != current_name_) {
    return Loss(absl::StrCat(current_name_, ": ended after ", current_written_, " of ",
                             current_size_, " bytes (next chunk is ", chunk.file_name(), ")"));
  } else if (chunk.offset() != current_written_) {
    return Loss(absl::StrCat(current_name_, ": chunk at offset ", chunk.offset(), ", expected ",
                             current_written_));
  }
  const std::string& data = chunk.data();
  if (current_written_ + int64_t(data.size()) > current_size_) {
    return Loss(absl::StrCat(current_name_, ": more than the announced ", current_size_, " bytes"));
  }
  current_out_->write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!*current_out_) return absl::InternalError(absl::StrCat("write error in ", current_part_));
  current_hash_->Update(data);
  current_written_ += static_cast<int64_t>(data.size());
  if (!chunk.last()) return absl::OkStatus();

  if (current_written_ != current_size_) {
    return Loss(absl::StrCat(current_name_, ": ", current_written_, " bytes received, ",
                             current_size_, " announced"));
  }
  std::string got = current_hash_->FinishHex();
  if (got != current_expected_sha_) {
    return Loss(absl::StrCat(current_name_, ": sha256 mismatch (expected ", current_expected_sha_,
                             ", got ", got, ")"));
  }
  current_out_->flush();
  current_out_->close();
  if (current_out_->fail())
    return absl::InternalError(absl::StrCat("cannot close ", current_part_));
  current_out_.reset();
  std::string final_path = JoinPath(dir_, current_name_);
  if (std::rename(current_part_.c_str(), final_path.c_str()) != 0) {
    std::remove(current_part_.c_str());
    return absl::InternalError(absl::StrCat("cannot rename ", current_part_, " to ", final_path));
  }
  files_[current_name_] = {current_name_, final_path, current_size_, got};
  current_name_.clear();
  return absl::OkStatus();
}

DownloadDir::~DownloadDir() {
  if (keep_ || dir_.empty()) return;
  std::error_code ec;
  if (writer_ != nullptr) {
    for (const auto& [name, file] : writer_->files()) std::filesystem::remove(file.path, ec);
  }
  if (!created_root_.empty()) std::filesystem::remove_all(created_root_, ec);
}

absl::Status DownloadDir::Create(const std::string& dir) {
  dir_ = dir;
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(dir, ec).lexically_normal();
  if (ec) return absl::InternalError(absl::StrCat("cannot resolve ", dir, ": ", ec.message()));
  if (!path.has_filename()) path = path.parent_path();  // "a/b/" names "a/b"
  // The topmost missing ancestor is what a failed download must remove.
  for (std::filesystem::path p = path; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (std::filesystem::exists(p, ec)) break;
    created_root_ = p.string();
  }
  try {
    MakeDirs(dir);
  } catch (const lethe::Error& e) {
    created_root_.clear();
    dir_.clear();
    return absl::InternalError(e.what());
  }
  return absl::OkStatus();
}

absl::Status DownloadWriter::Finish(bool whole_version) {
  if (!current_name_.empty()) {
    return Loss(absl::StrCat(current_name_, ": stream ended after ", current_written_, " of ",
                             current_size_, " bytes"));
  }
  if (files_.empty()) return Loss("the server sent no file");
  if (!whole_version) return absl::OkStatus();
  auto manifest = files_.find("manifest.json");
  if (manifest == files_.end()) return Loss("the version has no manifest.json");
  if (manifest->second.sha256 != version_sha256_) {
    return Loss(absl::StrCat("manifest.json hashes to ", manifest->second.sha256,
                             ", the version's sha256 is ", version_sha256_));
  }
  try {
    Json m = Json::Parse(ReadFile(manifest->second.path));
    if (!m.Has("files") || !m.at("files").is_object()) {
      return Loss("manifest.json has no \"files\" object");
    }
    std::vector<std::string> problems;
    for (const auto& [name, sha] : m.at("files").items()) {
      auto it = files_.find(name);
      if (it == files_.end()) {
        problems.push_back(absl::StrCat(name, " missing"));
      } else if (!sha.is_string() || sha.AsString() != it->second.sha256) {
        problems.push_back(absl::StrCat(name, " does not match the manifest"));
      }
    }
    if (!problems.empty())
      return Loss(absl::StrCat("manifest.json: ", absl::StrJoin(problems, "; ")));
  } catch (const lethe::Error& e) {
    return Loss(absl::StrCat("manifest.json: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace lethe::cli
