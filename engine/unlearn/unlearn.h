// Cascaded unlearning, end to end: invert the forgotten images (or sample the forgotten
// class's codes), run the cascade until the destination, and return the new networks with
// a report. No file I/O: the CLI and the worker load the inputs and write the outputs, and
// the base checkpoint is never modified (the run works on copies), so a cancelled or
// failed run leaves nothing behind.
#pragma once

#include <torch/torch.h>

#include <string>

#include "engine/base/cancel.h"
#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/checkpoint.h"
#include "engine/unlearn/cancelled.h"
#include "engine/unlearn/cascade.h"
#include "engine/unlearn/inversion.h"
#include "engine/unlearn/progress.h"
#include "engine/unlearn/request.h"
#include "engine/unlearn/retained_source.h"

namespace lethe::unlearn {

struct UnlearnResult {
  models::Generator generator{nullptr};  // the unlearned model, on the base's device
  models::Discriminator discriminator{nullptr};
  bool destination_reached = false;
  // destination_reached, destination, policies, iterations, seconds, inversion, config,
  // probe, trace (see BuildReport); the caller adds "before"/"after" evaluations.
  Json report;
  InversionResult inversion;  // codes and errors (w undefined for sampled class codes)
  CascadeResult cascade;
  double seconds_total = 0;
};

// `retained` serves the few-shot learning phase and must then be non-null; in zero-shot
// mode it is never used (the run draws from the frozen raw generator instead), so callers
// pass nullptr. `test` holds the never-trained images of LOGAN's non-member side (it may
// be empty; the non-member policy then cannot be used). Throws lethe::Error on an invalid
// request, unlearn::Cancelled when `cancel` is set.
UnlearnResult Unlearn(const models::Checkpoint& base, const metrics::Evaluator& evaluator,
                      const UnlearnRequest& request, RetainedSource* retained,
                      const data::Dataset& test, const ProgressFn& progress = nullptr,
                      const CancelToken* cancel = nullptr);

// The GAN step settings a base model was trained with (its manifest's schedule; StyleGAN2
// defaults when the manifest has none).
GanStepOptions GanOptionsFromManifest(const Json& manifest);

// {auc_u, logan_auc, fd_u} of one measurement (null where not measured).
Json MeasurementJson(const Measurement& m);

}  // namespace lethe::unlearn
