// lethe-engine train-evaluator: trains the domain classifier behind FD, accuracy and the
// feature distance, and writes it to a directory.
// lethe-engine evaluate: a model's metrics as one JSON object on stdout (the same
// computation, metrics::EvaluateModel, that the unlearning report uses).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/cli/unlearn_io.h"
#include "engine/data/data_source.h"
#include "engine/data/dataset.h"
#include "engine/data/forget_split.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/registry.h"
#include "engine/models/checkpoint.h"
#include "engine/models/device.h"

namespace lethe::cli {
namespace {

// Evaluator presets: `tiny` for smoke tests (seconds), `default` for real use.
metrics::EvaluatorOptions EvaluatorPreset(const std::string& name) {
  metrics::EvaluatorOptions o;
  if (name == "tiny") {
    o.iterations = 200;
    o.batch = 64;
    o.width = 8;
    o.feature_dim = 32;
  } else if (name != "default") {
    throw Error("unknown evaluator preset \"" + name + "\" (expected tiny or default)");
  }
  return o;
}

std::vector<std::string> SplitCommaList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

constexpr const char* kTrainEvaluatorHelp =
    "usage: lethe-engine train-evaluator --out DIR [--preset tiny|default] [--data SPEC]\n"
    "         [--iterations N] [--batch B] [--lr LR] [--resolution R] [--limit N] [--seed S]\n"
    "         [--threads T] [--device cpu|cuda[:N]] [--no-augment] [--hflip] [--overwrite]\n"
    "Trains the domain classifier (FD features, accuracy, feature distance) on SPEC's\n"
    "training split, reports accuracy on its test split, and prints one JSON object.\n";

constexpr const char* kEvaluateHelp =
    "usage: lethe-engine evaluate --model DIR --evaluator DIR [--data SPEC]\n"
    "         [--forget-items FILE | --forget-class C] [--num-generated N] [--seed S]\n"
    "         [--metrics a,b,c] [--max-real N] [--max-scored N] [--batch B] [--threads T]\n"
    "         [--device cpu|cuda[:N]] [--attack-steps 100] [--attack-members 64]\n"
    "         [--attack-samples 10000] [--attack-space z|w] [--json] [--list]\n"
    "Prints the model's metrics as one JSON object on stdout (--json: on one line).\n"
    "Without --data, the data set recorded in the model's manifest is used. With a forget\n"
    "set, the membership attacks (LOGAN on D, re-inversion and nearest-sample on G) compare\n"
    "it with never-seen test images. FILE lists one training item id per line. Without --metrics, "
    "every metric the inputs\n"
    "allow is computed; --list prints the known metrics.\n";

}  // namespace

int RunTrainEvaluator(int argc, char** argv) {
  Flags flags(argc, argv,
              {"out", "preset", "data", "iterations", "batch", "lr", "resolution", "limit", "seed",
               "threads", "device"},
              {"help", "no-augment", "hflip", "overwrite"});
  if (flags.GetBool("help")) {
    std::fputs(kTrainEvaluatorHelp, stdout);
    return 0;
  }
  const std::string out = flags.Require("out");
  if (PathExists(JoinPath(out, "manifest.json")) && !flags.GetBool("overwrite"))
    throw Error(out + " already holds an evaluator (use --overwrite to replace it)");
  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  metrics::EvaluatorOptions options = EvaluatorPreset(flags.Get("preset", "default"));
  options.iterations = flags.GetInt("iterations", options.iterations);
  options.batch = flags.GetInt("batch", options.batch);
  options.learning_rate = flags.GetDouble("lr", options.learning_rate);
  options.seed = uint64_t(flags.GetInt("seed", 0));
  options.augment = !flags.GetBool("no-augment");
  options.hflip = flags.GetBool("hflip");
  options.device = models::ParseDevice(flags.Get("device", "cpu"));
  const auto start = Clock::now();
  options.on_progress = [&](int64_t it, double loss, double acc) {
    std::fprintf(stderr, "iteration %lld/%lld  loss %.4f  train accuracy %.4f  (%.1f s)\n",
                 static_cast<long long>(it), static_cast<long long>(options.iterations), loss, acc,
                 SecondsSince(start));
  };

  data::LoadOptions load;
  load.resolution = int(flags.GetInt("resolution", 32));
  load.limit = flags.GetInt("limit", -1);
  const std::string spec = flags.Get("data", "fashion-mnist");
  data::Dataset train = data::LoadDataset(spec, data::Split::kTrain, load);
  data::LoadOptions test_load = load;
  test_load.limit = -1;
  data::Dataset test = data::LoadDataset(spec, data::Split::kTest, test_load);
  const double load_seconds = SecondsSince(start);
  std::fprintf(stderr, "loaded %s (%lld items) and %s (%lld items) in %.2f s\n", train.name.c_str(),
               static_cast<long long>(train.size()), test.name.c_str(),
               static_cast<long long>(test.size()), load_seconds);

  metrics::Evaluator evaluator = metrics::TrainEvaluator(train, test, options);
  evaluator.mutable_info()["data_spec"] = spec;
  evaluator.Save(out);

  Json report = Json::Object();
  report["out"] = out;
  report["test_accuracy"] = evaluator.info().at("test_accuracy");
  report["train_seconds"] = evaluator.info().at("train_seconds");
  report["load_seconds"] = load_seconds;
  report["total_seconds"] = SecondsSince(start);
  report["iterations"] = options.iterations;
  report["batch"] = options.batch;
  report["dataset"] = train.name;
  report["dataset_fingerprint"] = evaluator.info().at("dataset_fingerprint");
  report["device"] = options.device.str();
  report["threads"] = int64_t(torch::get_num_threads());
  std::cout << report.Dump() << std::endl;
  return 0;
}

int RunEvaluate(int argc, char** argv) {
  Flags flags(argc, argv,
              {"model", "evaluator", "data", "forget-items", "forget-class", "num-generated",
               "seed", "metrics", "max-real", "max-scored", "batch", "threads", "device",
               "attack-steps", "attack-members", "attack-samples", "attack-space"},
              {"help", "json", "list"});
  if (flags.GetBool("help")) {
    std::fputs(kEvaluateHelp, stdout);
    return 0;
  }
  const metrics::MetricRegistry registry = metrics::DefaultMetrics();
  if (flags.GetBool("list")) {
    for (const std::string& name : registry.Names())
      std::printf("%-20s %s\n", name.c_str(), registry.Get(name).description.c_str());
    return 0;
  }
  if (flags.Has("forget-items") && flags.Has("forget-class"))
    throw Error("give either --forget-items or --forget-class, not both");
  std::vector<std::string> names = SplitCommaList(flags.Get("metrics"));
  for (const std::string& name : names) registry.Get(name);  // unknown names fail before work

  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  const torch::Device device = models::ParseDevice(flags.Get("device", "cpu"));
  const auto start = Clock::now();
  models::Checkpoint model = models::LoadCheckpoint(flags.Require("model"), device);
  metrics::Evaluator evaluator = metrics::Evaluator::Load(flags.Require("evaluator"), device);
  if (evaluator.config().resolution != model.config.resolution ||
      evaluator.config().channels != model.config.img_channels)
    throw Error("evaluator " + flags.Get("evaluator") + " expects " +
                std::to_string(evaluator.config().channels) + "x" +
                std::to_string(evaluator.config().resolution) + " images but model " +
                flags.Get("model") + " makes " + std::to_string(model.config.img_channels) + "x" +
                std::to_string(model.config.resolution));

  if (evaluator.num_classes() != model.config.num_classes)
    throw Error("evaluator " + flags.Get("evaluator") + " knows " +
                std::to_string(evaluator.num_classes()) + " classes but model " +
                flags.Get("model") + " has " + std::to_string(model.config.num_classes));

  data::LoadOptions load;
  load.resolution = model.config.resolution;
  load.num_classes = model.config.num_classes;
  const data::DataSource source = data::ChooseDataSource(flags.Get("data", ""), model.manifest);
  const std::string& spec = source.spec;
  data::LoadOptions train_load = load;
  train_load.head = source.head;
  data::Dataset full = data::LoadDataset(spec, data::Split::kTrain, train_load);
  if (full.channels() != model.config.img_channels)
    throw Error("data set " + full.name + " has " + std::to_string(full.channels()) +
                " channels but model " + flags.Get("model") + " has " +
                std::to_string(model.config.img_channels));
  if (evaluator.info().GetString("dataset_fingerprint", "") != full.Fingerprint())
    std::fprintf(stderr, "note: evaluator %s was trained on other data than %s\n",
                 flags.Get("evaluator").c_str(), full.name.c_str());
  data::Dataset test;
  const bool has_test = data::HasTestSplit(spec);
  if (has_test) test = data::LoadDataset(spec, data::Split::kTest, load);

  data::ForgetSplit split;
  int forget_class = -1;
  if (flags.Has("forget-items")) {
    split = data::SplitByItems(full, data::ReadItemIds(flags.Get("forget-items")));
  } else if (flags.Has("forget-class")) {
    forget_class = int(flags.GetInt("forget-class", -1));
    split = data::SplitByClass(full, forget_class);
  } else {
    split.retained = full;
  }
  const bool has_forget = split.forgotten.images.defined() && split.forgotten.size() > 0;

  metrics::MetricInputs inputs;
  inputs.generator = model.generator;
  inputs.discriminator = model.discriminator;
  inputs.evaluator = &evaluator;
  inputs.train = &split.retained;
  inputs.test = has_test ? &test : nullptr;
  inputs.forget = has_forget ? &split.forgotten : nullptr;
  inputs.forget_class = forget_class;
  inputs.num_generated = flags.GetInt("num-generated", inputs.num_generated);
  inputs.max_real = flags.GetInt("max-real", inputs.max_real);
  inputs.max_scored = flags.GetInt("max-scored", inputs.max_scored);
  inputs.batch = flags.GetInt("batch", inputs.batch);
  inputs.seed = uint64_t(flags.GetInt("seed", 0));
  inputs.device = device;
  AddMembershipAttacks(flags, inputs.seed, &inputs);
  const double load_seconds = SecondsSince(start);

  Json result = registry.Compute(inputs, names);
  std::fprintf(stderr,
               "evaluated %s: %lld retained, %lld forgotten, %lld test items, %lld generated "
               "per draw, seed %llu; load %.2f s, metrics %.2f s\n",
               flags.Get("model").c_str(), static_cast<long long>(split.retained.size()),
               static_cast<long long>(has_forget ? split.forgotten.size() : 0),
               static_cast<long long>(has_test ? test.size() : 0),
               static_cast<long long>(inputs.num_generated),
               static_cast<unsigned long long>(inputs.seed), load_seconds,
               SecondsSince(start) - load_seconds);
  std::cout << (flags.GetBool("json") ? result.Dump() : result.Dump(2)) << std::endl;
  return 0;
}

}  // namespace lethe::cli
