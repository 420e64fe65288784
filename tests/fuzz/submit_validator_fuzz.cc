// Fuzzes the SubmitForgetRequest validator with the bytes a client could put on the wire:
// the input is parsed as the protobuf message (as gRPC would) and validated with the
// server's default limits; accepted uploads are then checked and hashed as the server
// does. Nothing may crash, and an accepted request must satisfy the validator's promises.
//
// The first input byte is a set of switches that repair the fields every request needs
// (request id, model, legal ground), so mutations reach the deeper rules instead of
// stopping at the first required field.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "lethe/v1/unlearning.pb.h"
#include "server/server_config.h"
#include "server/submit_validator.h"
#include "server/upload_image.h"

namespace {

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t switches = data[0];
  lethe::v1::SubmitForgetRequestRequest req;
  if (!req.ParseFromArray(data + 1, int(size - 1))) return 0;
  if (switches & 1) req.set_request_id("3f0c8a52-6d1e-4c1b-9a7e-0123456789ab");
  if (switches & 2) req.set_model("fmnist");
  if ((switches & 4) && req.legal_ground() == lethe::v1::LEGAL_GROUND_UNSPECIFIED)
    req.set_legal_ground(lethe::v1::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN);

  const lethe::RequestLimits limits;
  auto validated = lethe::ValidateSubmit(req, limits, "fuzz-salt-0123456789");
  if (!validated.ok()) {
    Check(validated.status().code() == absl::StatusCode::kInvalidArgument);
    Check(!validated.status().message().empty());
    return 0;
  }
  const lethe::ValidatedSubmit& v = *validated;
  Check(IsLowerHex64(v.body_sha256));
  Check(v.kind == "items" || v.kind == "class");
  Check(int64_t(v.item_ids.size() + v.uploads.size()) <= limits.max_items);
  Check(std::set<std::string>(v.item_ids.begin(), v.item_ids.end()).size() == v.item_ids.size());
  // The raw subject reference is kept only as its salted hash.
  Check(req.subject_reference().empty() ? v.subject_hash.empty() : IsLowerHex64(v.subject_hash));
  for (size_t i = 0; i < v.uploads.size(); ++i) {
    Check(IsLowerHex64(v.uploads[i].png_sha256));
    auto hash =
        lethe::HashUploadedImage("items.images", *v.uploads[i].png, lethe::ItemShape{28, 28, 1});
    if (hash.ok()) Check(IsLowerHex64(*hash));
  }
  return 0;
}
