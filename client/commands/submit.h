// `lethectl submit item|class`: turns the command line into a SubmitForgetRequestRequest.
// The builder is pure (files are read through `read_file`), so every flag's mapping and
// every refusal is unit-tested.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/args.h"
#include "lethe/v1/unlearning.pb.h"

namespace lethe::cli {

using FileReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// The flags of `submit item` (items = true) or `submit class`.
std::vector<FlagSpec> SubmitFlags(bool items);

// Builds the request. `request_id` is used when --request-id is absent (the caller
// generates it, so it can print it before the first attempt). INVALID_ARGUMENT names the
// flag; files that cannot be read give their error.
absl::StatusOr<lethe::v1::SubmitForgetRequestRequest> BuildSubmitRequest(
    bool items, const ParsedArgs& args, const std::string& request_id, const FileReader& read_file);

}  // namespace lethe::cli
