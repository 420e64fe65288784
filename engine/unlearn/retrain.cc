#include "engine/unlearn/retrain.h"

#include "engine/base/error.h"
#include "engine/unlearn/schedule.h"

namespace lethe::unlearn {

train::TrainOptions RetrainSchedule(const models::Checkpoint& base, const RetrainOptions& options) {
  train::TrainOptions t = ScheduleFromManifest(base.manifest);
  t.device = options.device;
  t.out_dir = options.out_dir;
  t.extra_manifest = options.extra_manifest;
  t.on_progress = options.on_progress;
  t.log_every = options.log_every;
  t.cancel = options.cancel;
  if (options.iterations > 0) t.iterations = options.iterations;
  // The retrained model draws from the same source (and training subset) as its base.
  if (base.manifest.is_object() && base.manifest.Has("dataset") &&
      base.manifest.at("dataset").is_object()) {
    const Json& d = base.manifest.at("dataset");
    for (const char* key : {"spec", "head"})
      if (d.Has(key)) t.data_source[key] = d.at(key);
  }
  return t;
}

train::TrainResult Retrain(const models::Checkpoint& base, const data::Dataset& retained,
                           const std::set<std::string>& forgotten, const RetrainOptions& options) {
  for (const auto& id : retained.ids)
    if (forgotten.count(id))
      throw Error("retraining set " + retained.name + " still contains forgotten item " + id);
  return train::TrainGan(retained, base.config, RetrainSchedule(base, options));
}

}  // namespace lethe::unlearn
