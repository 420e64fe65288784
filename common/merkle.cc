#include "common/merkle.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lethe::merkle {
namespace {

int64_t LargestPowerOfTwoBelow(int64_t n) {  // n >= 2
  int64_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

void Path(int64_t m, int64_t begin, int64_t end, std::vector<Range>* out) {
  const int64_t n = end - begin;
  if (n <= 1) return;
  const int64_t k = LargestPowerOfTwoBelow(n);
  if (m < k) {
    Path(m, begin, begin + k, out);
    out->push_back({begin + k, end});
  } else {
    Path(m - k, begin + k, end, out);
    out->push_back({begin, begin + k});
  }
}

void SubProof(int64_t m, int64_t begin, int64_t end, bool complete, std::vector<Range>* out) {
  const int64_t n = end - begin;
  if (m == n) {
    if (!complete) out->push_back({begin, end});
    return;
  }
  const int64_t k = LargestPowerOfTwoBelow(n);
  if (m <= k) {
    SubProof(m, begin, begin + k, complete, out);
    out->push_back({begin + k, end});
  } else {
    SubProof(m - k, begin + k, end, false, out);
    out->push_back({begin, begin + k});
  }
}

}  // namespace

Hash Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hash(reinterpret_cast<const char*>(md), len);
}

Hash HashLeaf(std::string_view data) {
  std::string buf;
  buf.reserve(data.size() + 1);
  buf.push_back('\x00');
  buf.append(data);
  return Sha256(buf);
}

Hash HashChildren(std::string_view left, std::string_view right) {
  std::string buf;
  buf.reserve(1 + left.size() + right.size());
  buf.push_back('\x01');
  buf.append(left);
  buf.append(right);
  return Sha256(buf);
}

Hash EmptyRoot() { return Sha256(""); }

std::vector<NodeId> Decompose(int64_t begin, int64_t end) {
  std::vector<NodeId> out;
  while (begin < end) {
    int level = 0;
    while (level < 62) {
      const int64_t span = int64_t(1) << (level + 1);
      if (begin % span != 0 || span > end - begin) break;
      ++level;
    }
    out.push_back({level, begin >> level});
    begin += int64_t(1) << level;
  }
  return out;
}

std::vector<Range> InclusionProofRanges(int64_t index, int64_t size) {
  std::vector<Range> out;
  if (index >= 0 && index < size) Path(index, 0, size, &out);
  return out;
}

std::vector<Range> ConsistencyProofRanges(int64_t size1, int64_t size2) {
  std::vector<Range> out;
  if (size1 > 0 && size1 < size2) SubProof(size1, 0, size2, true, &out);
  return out;
}

std::vector<NodeId> NodesFor(const std::vector<Range>& ranges) {
  std::vector<NodeId> out;
  for (const Range& r : ranges) {
    for (const NodeId& id : Decompose(r.first, r.second)) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

absl::StatusOr<Hash> RangeHash(const NodeMap& nodes, int64_t begin, int64_t end) {
  if (begin == end) return EmptyRoot();
  std::vector<NodeId> ids = Decompose(begin, end);
  Hash acc;
  for (size_t i = ids.size(); i-- > 0;) {
    auto it = nodes.find(ids[i]);
    if (it == nodes.end()) {
      return absl::NotFoundError(absl::StrCat("tree node (level ", ids[i].level, ", index ",
                                              ids[i].index, ") is missing"));
    }
    acc = (i + 1 == ids.size()) ? it->second : HashChildren(it->second, acc);
  }
  return acc;
}

absl::StatusOr<std::vector<Hash>> RangeHashes(const NodeMap& nodes,
                                              const std::vector<Range>& ranges) {
  std::vector<Hash> out;
  out.reserve(ranges.size());
  for (const Range& r : ranges) {
    absl::StatusOr<Hash> h = RangeHash(nodes, r.first, r.second);
    if (!h.ok()) return h.status();
    out.push_back(std::move(*h));
  }
  return out;
}

bool VerifyInclusion(int64_t index, int64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root) {
  if (index < 0 || index >= size) return false;
  uint64_t fn = uint64_t(index), sn = uint64_t(size - 1);
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(int64_t size1, int64_t size2, const Hash& root1, const Hash& root2,
                       const std::vector<Hash>& proof) {
  if (size1 < 0 || size2 < size1) return false;
  if (size1 == 0) return proof.empty();
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (proof.empty()) return false;
  std::vector<Hash> path;
  if ((size1 & (size1 - 1)) == 0) path.push_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = uint64_t(size1 - 1), sn = uint64_t(size2 - 1);
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == root1 && sr == root2 && sn == 0;
}

Hash RootOfLeaves(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (n == 1) return leaves[begin];
  const size_t k = size_t(LargestPowerOfTwoBelow(int64_t(n)));
  return HashChildren(RootOfLeaves(leaves, begin, begin + k), RootOfLeaves(leaves, begin + k, end));
}

absl::StatusOr<CompactRange> CompactRange::FromFrontier(int64_t size, std::vector<Hash> hashes) {
  if (size < 0) return absl::InvalidArgumentError("negative tree size");
  std::vector<NodeId> ids = Decompose(0, size);
  if (ids.size() != hashes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a tree of ", size, " leaves has ", ids.size(),
                                                   " edge subtrees, got ", hashes.size()));
  }
  CompactRange out;
  out.size_ = size;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (hashes[i].size() != kHashSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("edge subtree ", i, " hash has ", hashes[i].size(), " bytes, not 32"));
    }
    out.edge_.push_back({ids[i], std::move(hashes[i])});
  }
  return out;
}

void CompactRange::Append(Hash leaf_hash, const Emit& emit) {
  NodeId id{0, size_};
  Hash h = std::move(leaf_hash);
  if (emit) emit(id, h);
  while (!edge_.empty() && edge_.back().first.level == id.level) {
    h = HashChildren(edge_.back().second, h);
    id = NodeId{id.level + 1, id.index >> 1};
    edge_.pop_back();
    if (emit) emit(id, h);
  }
  edge_.push_back({id, std::move(h)});
  ++size_;
}

Hash CompactRange::Root() const {
  if (edge_.empty()) return EmptyRoot();
  Hash acc = edge_.back().second;
  for (size_t i = edge_.size() - 1; i-- > 0;) acc = HashChildren(edge_[i].second, acc);
  return acc;
}

std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

absl::StatusOr<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != kHashSize * 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("a hash is 64 hex digits, got ", hex.size(), " characters"));
  }
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash out(kHashSize, '\0');
  for (size_t i = 0; i < kHashSize; ++i) {
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("a hash has a non-hex character");
    out[i] = char(hi * 16 + lo);
  }
  return out;
}

}  // namespace lethe::merkle
