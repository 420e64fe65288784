// lethe-engine invert: project images into a model's latent space W (GAN inversion).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/cancel.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/cli/unlearn_io.h"
#include "engine/data/dataset.h"
#include "engine/data/forget_split.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/checkpoint.h"
#include "engine/models/device.h"
#include "engine/train/precision.h"
#include "engine/unlearn/cancelled.h"
#include "engine/unlearn/inversion.h"
#include "engine/unlearn/model_util.h"

namespace lethe::cli {
namespace {

constexpr const char* kInvertHelp =
    "usage: lethe-engine invert --model DIR (--items FILE [--data SPEC] | --images DIR)\n"
    "         --out FILE [--steps N] [--lr LR] [--feature-weight W --evaluator DIR]\n"
    "         [--start nearest-sample|class-mean] [--start-samples K]\n"
    "         [--precision fp32|bf16] [--seed S] [--device cpu|cuda[:N]] [--threads T]\n"
    "--images DIR is a folder of class sub-folders of PNGs (sorted names = labels).\n"
    "Writes JSON: per image its id, label, reconstruction MSE and code w.\n";

}  // namespace

int RunInvert(int argc, char** argv) {
  Flags flags(argc, argv,
              {"model", "items", "images", "data", "out", "steps", "lr", "feature-weight",
               "evaluator", "start", "start-samples", "precision", "seed", "device", "threads"},
              {"help"});
  if (flags.GetBool("help")) {
    std::fputs(kInvertHelp, stdout);
    return 0;
  }
  if (flags.Has("items") == flags.Has("images"))
    throw Error("give exactly one of --items FILE or --images DIR");
  const std::string out = flags.Require("out");
  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  const torch::Device device = models::ParseDevice(flags.Get("device", "cpu"));
  const std::string model_dir = flags.Require("model");
  models::Checkpoint model = models::LoadCheckpoint(model_dir, device);
  data::LoadOptions load;
  load.resolution = model.config.resolution;
  load.num_classes = model.config.num_classes;
  data::Dataset images;
  if (flags.Has("items")) {
    data::Dataset train =
        data::LoadDataset(flags.Get("data", "fashion-mnist"), data::Split::kTrain, load);
    images = data::SplitByItems(train, data::ReadItemIds(flags.Get("items"))).forgotten;
  } else {
    load.channels = model.config.img_channels;
    images = data::LoadPngFolder(flags.Get("images"), load);
  }
  if (images.channels() != model.config.img_channels)
    throw Error("images have " + std::to_string(images.channels()) + " channels but model " +
                model_dir + " has " + std::to_string(model.config.img_channels));
  unlearn::InversionOptions o;
  o.steps = flags.GetInt("steps", o.steps);
  o.lr = flags.GetDouble("lr", o.lr);
  o.feature_weight = flags.GetDouble("feature-weight", 0.0);
  o.start = unlearn::ParseInversionStart(flags.Get("start", unlearn::InversionStartName(o.start)));
  o.start_samples = flags.GetInt("start-samples", o.start_samples);
  o.precision = train::ParsePrecision(flags.Get("precision", "fp32"));
  o.seed = uint64_t(flags.GetInt("seed", 0));
  unlearn::ValidateInversionOptions(o);
  std::unique_ptr<metrics::Evaluator> evaluator;
  unlearn::FeatureFn features;
  if (o.feature_weight > 0) {
    evaluator = std::make_unique<metrics::Evaluator>(
        metrics::Evaluator::Load(flags.Require("evaluator"), device));
    features = [&](const torch::Tensor& x) { return evaluator->FeaturesWithGrad(x); };
  }
  CancelToken cancel;
  SignalCancel on_signal(&cancel);
  models::Generator g = unlearn::FrozenCopy(model.generator, device);
  unlearn::InversionResult r;
  try {
    r = unlearn::Invert(g, images.images, images.labels, o, features, &cancel);
  } catch (const unlearn::Cancelled&) {
    std::fprintf(stderr, "lethe-engine invert: interrupted; nothing was written\n");
    return kExitInterrupted;
  }
  torch::Tensor w = r.w.to(torch::kCPU).contiguous();
  torch::Tensor labels = images.labels.to(torch::kCPU, torch::kLong).contiguous();
  Json items = Json::Array();
  for (int64_t i = 0; i < images.size(); ++i) {
    Json item = Json::Object();
    item["id"] = images.ids[size_t(i)];
    item["hash"] = images.hashes[size_t(i)];
    item["label"] = labels.data_ptr<int64_t>()[i];
    item["mse"] = r.mse[i].item<double>();
    const float* p = w[i].data_ptr<float>();
    item["w"] = Json::ArrayOf(std::vector<double>(p, p + w.size(1)));
    items.Push(item);
  }
  Json report = Json::Object();
  report["model"] = model_dir;
  report["digest"] = models::CheckpointDigest(model_dir);
  report["items"] = items;
  report["mean_mse"] = r.mean_mse;
  report["max_mse"] = r.max_mse;
  report["seconds"] = r.seconds;
  report["options"] = o.ToJson();
  WriteJsonFile(out, report);
  std::fprintf(stderr, "inverted %lld images in %.1f s: mean MSE %.5f, max %.5f -> %s\n",
               (long long)images.size(), r.seconds, r.mean_mse, r.max_mse, out.c_str());
  return 0;
}

}  // namespace lethe::cli
