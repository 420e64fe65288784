// RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proofs as pure
// functions, so the server (which reads subtree hashes from PostgreSQL), lethectl and the
// tests share one implementation that knows nothing of I/O.
//
//   leaf hash  = SHA-256(0x00 || leaf data)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Every range an RFC 9162 proof needs is the concatenation of perfect subtrees (NodeId),
// so a store that keeps each completed perfect subtree once can answer any root or proof
// with O(log n) reads (Decompose lists them; a range needs at most 63).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace lethe::merkle {

inline constexpr size_t kHashSize = 32;
using Hash = std::string;  // kHashSize raw bytes

Hash Sha256(std::string_view data);
Hash HashLeaf(std::string_view data);
Hash HashChildren(std::string_view left, std::string_view right);
Hash EmptyRoot();

// The perfect subtree over leaves [index << level, (index + 1) << level).
struct NodeId {
  int level = 0;
  int64_t index = 0;
  bool operator<(const NodeId& o) const {
    return level != o.level ? level < o.level : index < o.index;
  }
  bool operator==(const NodeId& o) const { return level == o.level && index == o.index; }
};

// A half-open range of leaves [begin, end).
using Range = std::pair<int64_t, int64_t>;

// The perfect subtrees of [begin, end), left to right, largest first, as RFC 9162's
// recursion splits the range. Valid for the ranges its proofs use (begin a multiple of
// the largest power of two <= end - begin, or begin = 0).
std::vector<NodeId> Decompose(int64_t begin, int64_t end);

// The ranges whose MTH an inclusion proof of leaf `index` in a tree of `size` leaves lists,
// in proof order (the leaf's sibling first). Requires 0 <= index < size.
std::vector<Range> InclusionProofRanges(int64_t index, int64_t size);
// The ranges of the consistency proof from `size1` to `size2` leaves, in proof order.
// Requires 0 < size1 <= size2 (empty for size1 == size2).
std::vector<Range> ConsistencyProofRanges(int64_t size1, int64_t size2);

// Every perfect subtree needed to hash `ranges` (deduplicated, sorted).
std::vector<NodeId> NodesFor(const std::vector<Range>& ranges);

using NodeMap = std::map<NodeId, Hash>;
// MTH of leaves [begin, end) from the perfect subtrees in `nodes`; NOT_FOUND naming the
// first missing one. [0, 0) is EmptyRoot().
absl::StatusOr<Hash> RangeHash(const NodeMap& nodes, int64_t begin, int64_t end);
// The hashes of `ranges`, in order.
absl::StatusOr<std::vector<Hash>> RangeHashes(const NodeMap& nodes,
                                              const std::vector<Range>& ranges);

// RFC 9162 §2.1.3.2. True when `proof` shows that `leaf_hash` is leaf `index` of the tree
// of `size` leaves whose root is `root`.
bool VerifyInclusion(int64_t index, int64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root);
// RFC 9162 §2.1.4.2. True when `proof` shows that the tree of `size2` leaves with `root2`
// extends the tree of `size1` leaves with `root1` (same first size1 leaves). size1 == 0
// is consistent with anything (empty proof); size1 == size2 needs equal roots and an
// empty proof.
bool VerifyConsistency(int64_t size1, int64_t size2, const Hash& root1, const Hash& root2,
                       const std::vector<Hash>& proof);

// The root of a list of leaf hashes by the recursive definition (tests, small trees).
Hash RootOfLeaves(const std::vector<Hash>& leaf_hashes, size_t begin, size_t end);

// The right edge of a growing tree: the perfect subtrees of Decompose(0, size). Appending
// a leaf completes at most log2(size) new subtrees, which Append reports so a store can
// keep them; Root() folds the edge. O(log n) memory, one hash per completed subtree.
class CompactRange {
 public:
  CompactRange() = default;
  // From the hashes of Decompose(0, size), left to right; INVALID_ARGUMENT when the count
  // or a hash size is wrong.
  static absl::StatusOr<CompactRange> FromFrontier(int64_t size, std::vector<Hash> hashes);

  using Emit = std::function<void(const NodeId&, const Hash&)>;
  // Appends a leaf hash; `emit` (if set) sees the leaf (level 0) and each completed subtree.
  void Append(Hash leaf_hash, const Emit& emit = nullptr);
  Hash Root() const;
  int64_t size() const { return size_; }

 private:
  int64_t size_ = 0;
  std::vector<std::pair<NodeId, Hash>> edge_;  // left to right, decreasing level
};

std::string ToHex(std::string_view bytes);
// Lowercase or uppercase hex of exactly kHashSize bytes; INVALID_ARGUMENT otherwise.
absl::StatusOr<Hash> HashFromHex(std::string_view hex);

}  // namespace lethe::merkle
