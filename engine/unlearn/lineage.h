// What a model version derived by unlearning (or exact retraining) records about its
// ancestry: the parent's digest and every item forgotten along the way (id and content
// hash), so that the forgotten set of any version is known from its manifest alone.
#pragma once

#include <string>

#include "engine/base/json.h"
#include "engine/data/dataset.h"

namespace lethe::unlearn {

// The extra manifest members of a child of `parent_manifest` (digest `parent_digest`)
// that forgot `forgotten`: "parent", "forgotten" (the parent's list plus the new items,
// each {"id", "hash", "label"}, sorted by id, no duplicates), "forgotten_now" (ids of this
// step), and the parent's "dataset" and "training" (the schedule retraining must rerun).
// `how` is stored under "unlearning".
Json ChildManifest(const Json& parent_manifest, const std::string& parent_digest,
                   const data::Dataset& forgotten, const Json& how);

}  // namespace lethe::unlearn
