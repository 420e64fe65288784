// lethe-engine retrain: the exact baseline, retraining without the forget set, with the
// base model's own schedule (and, with --evaluator, the same report metrics as `unlearn`).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/cli/unlearn_io.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/checkpoint.h"
#include "engine/models/device.h"
#include "engine/unlearn/lineage.h"
#include "engine/unlearn/retrain.h"

namespace lethe::cli {
namespace {

constexpr const char* kRetrainHelp =
    "usage: lethe-engine retrain --model BASE_DIR (--forget-items FILE | --forget-class C)\n"
    "         --out DIR --report FILE [--data SPEC] [--exclude FILE] [--evaluator DIR]\n"
    "         [--iterations N] [--num-generated N] [--max-real N] [--max-scored N]\n"
    "         [--seed S] [--device cpu|cuda[:N]] [--threads T] [--attack-steps N]\n"
    "         [--attack-members N] [--attack-samples N] [--quiet]\n"
    "Exact unlearning: trains BASE's architecture from scratch with BASE's schedule\n"
    "(iterations, batch, seed, learning rates... from its manifest) on the data set without\n"
    "the forget set. --iterations overrides the schedule's length (marked in the report).\n"
    "With --evaluator, the report holds the same metrics as `unlearn` (seed --seed).\n";

}  // namespace

int RunRetrain(int argc, char** argv) {
  Flags flags(
      argc, argv,
      {"model", "forget-items", "forget-class", "data", "exclude", "evaluator", "out", "report",
       "iterations", "num-generated", "max-real", "max-scored", "seed", "device", "threads",
       "attack-steps", "attack-members", "attack-samples"},
      {"help", "quiet"});
  if (flags.GetBool("help")) {
    std::fputs(kRetrainHelp, stdout);
    return 0;
  }
  const auto start = Clock::now();
  const std::string out = flags.Require("out");
  const std::string report_path = flags.Require("report");
  RequireEmptyOutput(out);
  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  const torch::Device device = models::ParseDevice(flags.Get("device", "cpu"));
  Inputs in = LoadInputs(flags, device);
  const std::string parent_digest = models::CheckpointDigest(in.model_dir);
  const uint64_t seed = uint64_t(flags.GetInt("seed", 0));
  std::unique_ptr<metrics::Evaluator> evaluator;
  if (flags.Has("evaluator")) {
    evaluator = std::make_unique<metrics::Evaluator>(
        metrics::Evaluator::Load(flags.Get("evaluator"), device));
    CheckEvaluator(*evaluator, in.model.config, flags.Get("evaluator"));
  }
  const double load_seconds = SecondsSince(start);

  unlearn::RetrainOptions ro;
  ro.out_dir = out;
  ro.device = device;
  ro.iterations = flags.GetInt("iterations", 0);
  Json how = Json::Object();
  how["method"] = "retrain";
  Json extra = unlearn::ChildManifest(in.model.manifest, parent_digest, in.split.forgotten, how);
  // The trainer records its own schedule and data set; keep only the lineage.
  ro.extra_manifest = Json::Object();
  for (const char* key : {"parent", "forgotten", "forgotten_now", "unlearning"})
    ro.extra_manifest[key] = extra.at(key);
  const bool quiet = flags.GetBool("quiet");
  ro.log_every = quiet ? 0 : 100;
  ro.on_progress = [&](const train::TrainProgress& p) {
    std::fprintf(stderr, "retraining: iteration %lld/%lld  g %.3f  d %.3f  (%.1f s, eta %.0f s)\n",
                 (long long)p.iteration, (long long)p.iterations, p.g_loss, p.d_loss, p.seconds,
                 p.eta_seconds);
  };
  CancelToken cancel;
  SignalCancel on_signal(&cancel);
  ro.cancel = &cancel;
  const train::TrainOptions schedule = unlearn::RetrainSchedule(in.model, ro);
  const train::TrainResult tr = unlearn::Retrain(in.model, in.split.retained, in.excluded, ro);
  if (tr.cancelled) {
    std::fprintf(stderr, "lethe-engine retrain: interrupted; no model was written\n");
    return kExitInterrupted;
  }

  Json report = Json::Object();
  report["method"] = "retrain";
  report["parent"] = parent_digest;
  report["out"] = out;
  report["digest"] = models::CheckpointDigest(out);
  report["iterations"] = tr.iterations;
  report["schedule"] = train::TrainOptionsToJson(schedule);
  report["schedule_overridden"] = ro.iterations > 0;
  report["ms_per_iteration"] = tr.ms_per_iteration;
  Json data_json = Json::Object();
  data_json["dataset"] = in.split.retained.name;
  data_json["retained"] = in.split.retained.size();
  data_json["forgotten"] = in.split.forgotten.size();
  report["data"] = data_json;
  Json seconds = Json::Object();
  seconds["load"] = load_seconds;
  seconds["training"] = tr.seconds;
  if (evaluator) {
    const metrics::MetricInputs m = MetricInputsFor(in, flags, *evaluator, device, seed);
    models::Checkpoint retrained = models::LoadCheckpoint(out, device);
    auto t0 = Clock::now();
    report["before"] = Evaluate(m, in.model.generator, in.model.discriminator);
    report["after"] = Evaluate(m, retrained.generator, retrained.discriminator);
    report["before"]["mia"] = metrics::MiaJson(report.at("before"));
    report["after"]["mia"] = metrics::MiaJson(report.at("after"));
    seconds["evaluation"] = SecondsSince(t0);
  }
  seconds["total"] = SecondsSince(start);
  report["seconds"] = seconds;
  WriteJsonFile(report_path, report);
  std::cout << report.Dump() << std::endl;
  return 0;
}

}  // namespace lethe::cli
