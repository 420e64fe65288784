#include "engine/cli/unlearn_io.h"

#include <csignal>
#include <filesystem>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/data/data_source.h"
#include "engine/data/sampler.h"
#include "engine/unlearn/destination.h"
#include "engine/unlearn/inversion.h"

namespace lethe::cli {

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

namespace {
// A signal handler can reach only a global: the token of the one live SignalCancel.
CancelToken* g_cancel = nullptr;
extern "C" void OnSignal(int) {
  if (g_cancel) g_cancel->Cancel();
}
}  // namespace

SignalCancel::SignalCancel(CancelToken* token) {
  g_cancel = token;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

SignalCancel::~SignalCancel() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  g_cancel = nullptr;
}

void RequireEmptyOutput(const std::string& dir) {
  if (!IsDirectory(dir) || std::filesystem::is_empty(dir)) return;
  const bool model = PathExists(JoinPath(dir, models::kManifestFile));
  throw Error("output directory " + dir + (model ? " already holds a model" : " is not empty") +
              "; refusing to overwrite it");
}

Inputs LoadInputs(const Flags& flags, torch::Device device) {
  if (flags.Has("forget-items") == flags.Has("forget-class"))
    throw Error("give exactly one of --forget-items FILE or --forget-class C");
  Inputs in;
  in.model_dir = flags.Require("model");
  in.model = models::LoadCheckpoint(in.model_dir, device);
  data::LoadOptions load;
  load.resolution = in.model.config.resolution;
  load.num_classes = in.model.config.num_classes;
  if (flags.Has("exclude"))
    for (const auto& id : data::ReadItemIds(flags.Get("exclude"))) load.exclude.insert(id);
  const data::DataSource source = data::ChooseDataSource(flags.Get("data", ""), in.model.manifest);
  const std::string& spec = source.spec;
  load.head = source.head;
  data::Dataset train = data::LoadDataset(spec, data::Split::kTrain, load);
  if (train.channels() != in.model.config.img_channels)
    throw Error("data set " + train.name + " has " + std::to_string(train.channels()) +
                " channels but model " + in.model_dir + " has " +
                std::to_string(in.model.config.img_channels));
  in.has_test = data::HasTestSplit(spec);
  if (in.has_test) {
    data::LoadOptions test_load = load;
    test_load.exclude.clear();
    test_load.head = -1;
    in.test = data::LoadDataset(spec, data::Split::kTest, test_load);
  }
  if (flags.Has("forget-items")) {
    in.split = data::SplitByItems(train, data::ReadItemIds(flags.Get("forget-items")));
  } else {
    in.forget_class = int(flags.GetInt("forget-class", -1));
    in.split = data::SplitByClass(train, in.forget_class);
  }
  in.excluded = load.exclude;
  in.excluded.insert(in.split.forgotten.ids.begin(), in.split.forgotten.ids.end());
  return in;
}

metrics::MetricInputs MetricInputsFor(const Inputs& in, const Flags& flags,
                                      const metrics::Evaluator& evaluator, torch::Device device,
                                      uint64_t seed) {
  metrics::MetricInputs m;
  m.evaluator = &evaluator;
  m.train = &in.split.retained;
  m.test = in.has_test ? &in.test : nullptr;
  m.forget = &in.split.forgotten;
  m.forget_class = in.forget_class;
  m.num_generated = flags.GetInt("num-generated", m.num_generated);
  m.max_real = flags.GetInt("max-real", m.max_real);
  m.max_scored = flags.GetInt("max-scored", m.max_scored);
  m.seed = seed;
  m.device = device;
  AddMembershipAttacks(flags, seed, &m);
  return m;
}

void AddMembershipAttacks(const Flags& flags, uint64_t seed, metrics::MetricInputs* m) {
  const int64_t steps = flags.GetInt("attack-steps", unlearn::DestinationOptions().attack_steps);
  if (steps < 1) throw Error("--attack-steps must be >= 1");
  m->reconstruct = unlearn::ReinversionReconstructor(unlearn::AttackInversionOptions(
      steps, seed + 29, unlearn::ParseInversionSpace(flags.Get("attack-space", "z"))));
  m->attack_members = flags.GetInt("attack-members", m->attack_members);
  m->attack_samples_per_class = flags.GetInt("attack-samples", m->attack_samples_per_class);
  if (m->attack_members < 2) throw Error("--attack-members must be >= 2");
  if (m->attack_samples_per_class < 1) throw Error("--attack-samples must be >= 1");
}

Json Evaluate(metrics::MetricInputs m, models::Generator g, models::Discriminator d) {
  m.generator = g;
  m.discriminator = d;
  return metrics::EvaluateModel(m);
}

void CheckEvaluator(const metrics::Evaluator& e, const models::ModelConfig& c,
                    const std::string& dir) {
  if (e.config().resolution != c.resolution || e.config().channels != c.img_channels)
    throw Error("evaluator " + dir + " expects " + std::to_string(e.config().channels) + "x" +
                std::to_string(e.config().resolution) + " images but the model makes " +
                std::to_string(c.img_channels) + "x" + std::to_string(c.resolution));
}

void WriteJsonFile(const std::string& path, const Json& j) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) MakeDirs(dir);
  WriteFileAtomic(path, j.Dump(2) + "\n");
}

}  // namespace lethe::cli
