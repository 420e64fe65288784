// File I/O the engine needs, with errors that name the file: whole-file reads (gzip
// transparently inflated), atomic writes (temp file, fsync, rename) and directory helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lethe {

// Reads a whole file; throws lethe::Error("cannot open PATH: reason") on failure.
std::string ReadFile(const std::string& path);
// Reads a file and inflates it if it starts with the gzip magic (1f 8b). A corrupt or
// truncated gzip stream, or one that inflates to more than `max_bytes` (a "gzip bomb" in
// an untrusted file), throws an error naming the file.
std::string ReadMaybeGzip(const std::string& path, size_t max_bytes = SIZE_MAX);
// Inflates gzip data held in memory; `what` names the source in error messages.
std::string Gunzip(const std::string& data, const std::string& what, size_t max_bytes = SIZE_MAX);
std::string Gzip(const std::string& data);
// Writes `data` to PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory.
void WriteFileAtomic(const std::string& path, const std::string& data);
// fsync a file or directory by path.
void FsyncPath(const std::string& path);
bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);
void MakeDirs(const std::string& path);
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace lethe
