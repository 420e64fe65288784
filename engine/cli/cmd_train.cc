// lethe-engine train: trains (or resumes) a base conditional GAN and writes a checkpoint.
// lethe-engine sample: a PNG grid of a model's samples, one row per class.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "engine/base/cancel.h"
#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/png.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/data/data_source.h"
#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/metrics/fd.h"
#include "engine/models/checkpoint.h"
#include "engine/models/config.h"
#include "engine/models/device.h"
#include "engine/train/trainer.h"

namespace lethe::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kTrainHelp =
    "usage: lethe-engine train --out DIR (--preset tiny|small|paper | --resume DIR)\n"
    "         [--data SPEC] [--resolution R] [--limit N] [--iterations N] [--batch B]\n"
    "         [--seed S] [--device cpu|cuda[:N]] [--threads T] [--checkpoint-every N]\n"
    "         [--evaluator DIR --eval-every N [--eval-samples N]] [--log-every N]\n"
    "         [--g-lr LR] [--d-lr LR] [--r1-gamma G] [--r1-interval K] [--ema-kimg K]\n"
    "         [--precision fp32|bf16]\n"
    "Trains a conditional StyleGAN2-style GAN on SPEC's training split (default: the\n"
    "installed Fashion-MNIST, padded to 32x32) and writes a checkpoint to DIR. Progress is\n"
    "one updating line on a terminal, JSON lines on stdout otherwise; with --evaluator, the\n"
    "FD of generated samples against the test split is logged every --eval-every\n"
    "iterations. --checkpoint-every keeps a resumable snapshot in DIR.resume; Ctrl-C\n"
    "writes it too, and --resume DIR.resume continues the run exactly.\n";

constexpr const char* kSampleHelp =
    "usage: lethe-engine sample --model DIR --out PNG [--per-class N] [--seed S]\n"
    "         [--truncation PSI] [--noise random|const|none] [--device cpu|cuda[:N]]\n"
    "         [--threads T]\n"
    "Writes a PNG grid of the model's samples: one row per class, N columns.\n";

// SIGINT/SIGTERM request a clean stop: the loop finishes its iteration and saves a
// resumable snapshot. A signal handler can only reach the token through a global.
CancelToken* g_interrupt = nullptr;
extern "C" void OnInterrupt(int) {
  if (g_interrupt) g_interrupt->Cancel();
}

class InterruptScope {
 public:
  explicit InterruptScope(CancelToken* token) {
    g_interrupt = token;
    struct sigaction sa {};
    sa.sa_handler = OnInterrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_interrupt = nullptr;
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  return buf;
}

void PrintJsonLine(const Json& j) {
  std::fputs((j.Dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// FD of generated samples against a fixed set of real images, in the evaluator's feature
// space. The z and labels are fixed for the whole run (labels follow the real set), so
// successive values form a curve.
class FdProbe {
 public:
  FdProbe(const std::string& evaluator_dir, const data::Dataset& real, int64_t samples,
          torch::Device device, uint64_t seed)
      : evaluator_(metrics::Evaluator::Load(evaluator_dir, device)), device_(device) {
    const int64_t n = std::min<int64_t>(samples, real.size());
    if (n < 2) throw Error("--eval-samples must be at least 2");
    real_stats_ = metrics::ComputeStats(evaluator_.Features(real.images.narrow(0, 0, n)));
    labels_ = real.labels.narrow(0, 0, n).clone();
    seed_ = seed;
  }

  double Measure(train::Generator& g) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed_);
    const int64_t n = labels_.size(0), chunk = 256;
    std::vector<torch::Tensor> features;
    for (int64_t i = 0; i < n; i += chunk) {
      const int64_t m = std::min(chunk, n - i);
      torch::Tensor z = torch::randn({m, g->config().z_dim}, gen).to(device_);
      torch::Tensor labels = labels_.narrow(0, i, m).to(device_);
      features.push_back(evaluator_.Features(g->forward(z, labels, models::NoiseMode::kRandom)));
    }
    return metrics::FrechetDistance(metrics::ComputeStats(torch::cat(features)), real_stats_);
  }

 private:
  metrics::Evaluator evaluator_;
  torch::Device device_;
  metrics::FeatureStats real_stats_;
  torch::Tensor labels_;
  uint64_t seed_;
};

}  // namespace

int RunTrain(int argc, char** argv) {
  Flags flags(
      argc, argv,
      {"out",       "preset",      "data",         "resolution", "limit",  "iterations",
       "batch",     "seed",        "device",       "threads",    "resume", "checkpoint-every",
       "evaluator", "eval-every",  "eval-samples", "log-every",  "g-lr",   "d-lr",
       "r1-gamma",  "r1-interval", "ema-kimg",     "precision"},
      {"help"});
  if (flags.GetBool("help")) {
    std::fputs(kTrainHelp, stdout);
    return 0;
  }
  if (!flags.positional().empty())
    throw Error("unexpected argument \"" + flags.positional()[0] + "\"");
  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  const std::string out = flags.Require("out");
  const std::string resume = flags.Get("resume");
  if (resume.empty() && !flags.Has("preset"))
    throw Error("missing required flag --preset (or --resume DIR)");
  // Check the preset's name now rather than after loading the data.
  if (flags.Has("preset")) models::ModelConfig::Preset(flags.Get("preset"), 32, 1, 10);
  if (IsDirectory(out) && !std::filesystem::is_empty(out))
    throw Error("output directory " + out + " already exists and is not empty");
  if (flags.Has("evaluator") != flags.Has("eval-every"))
    throw Error("--evaluator and --eval-every go together");

  train::TrainOptions options;
  options.device = models::ParseDevice(flags.Get("device", "cpu"));
  options.iterations = flags.GetInt("iterations", options.iterations);
  options.batch = int(flags.GetInt("batch", options.batch));
  options.seed = uint64_t(flags.GetInt("seed", 0));
  options.g_lr = flags.GetDouble("g-lr", options.g_lr);
  options.d_lr = flags.GetDouble("d-lr", options.d_lr);
  options.r1_gamma = flags.GetDouble("r1-gamma", options.r1_gamma);
  options.r1_interval = int(flags.GetInt("r1-interval", options.r1_interval));
  options.ema_kimg = flags.GetDouble("ema-kimg", options.ema_kimg);
  options.precision = train::ParsePrecision(flags.Get("precision", "fp32"));
  options.checkpoint_every = flags.GetInt("checkpoint-every", 1000);
  options.log_every = flags.GetInt("log-every", 0);
  options.eval_every = flags.GetInt("eval-every", 0);
  options.out_dir = out;
  options.resume_from = resume;

  // The model configuration: from the checkpoint when resuming, else the preset sized to
  // the data.
  std::optional<models::ModelConfig> resumed_config;
  int resolution = int(flags.GetInt("resolution", 32));
  if (!resume.empty()) {
    const std::string manifest_path = JoinPath(resume, models::kManifestFile);
    if (!PathExists(manifest_path)) throw Error("--resume " + resume + ": not a checkpoint");
    resumed_config =
        models::ModelConfig::FromJson(Json::Parse(ReadFile(manifest_path)).at("config"));
    if (flags.Has("preset") && flags.Get("preset") != resumed_config->preset)
      throw Error("--preset " + flags.Get("preset") + " differs from the resumed checkpoint's " +
                  resumed_config->preset);
    if (flags.Has("resolution") && resolution != resumed_config->resolution)
      throw Error("--resolution differs from the resumed checkpoint's");
    resolution = resumed_config->resolution;
  }

  const auto start = Clock::now();
  // A resumed run reads the data its checkpoint records (and refuses other data).
  data::DataSource source;
  if (!resume.empty()) {
    source = data::ChooseDataSource(
        flags.Get("data", ""), Json::Parse(ReadFile(JoinPath(resume, models::kManifestFile))));
    if (flags.Has("limit") && flags.GetInt("limit", -1) != source.head)
      throw Error("--limit differs from the resumed checkpoint's training subset");
  } else {
    source.spec = flags.Get("data", "fashion-mnist");
    source.head = flags.GetInt("limit", -1);
  }
  const std::string spec = source.spec;
  data::LoadOptions load;
  load.resolution = resolution;
  load.head = source.head;
  options.data_source["spec"] = source.spec;
  if (source.head >= 0) options.data_source["head"] = source.head;
  data::Dataset train_set = data::LoadDataset(spec, data::Split::kTrain, load);
  models::ModelConfig config =
      resumed_config ? *resumed_config
                     : models::ModelConfig::Preset(flags.Get("preset"), train_set.resolution(),
                                                   train_set.channels(), train_set.num_classes);
  const bool tty = ::isatty(STDERR_FILENO);
  if (options.log_every == 0) options.log_every = tty ? 10 : 100;
  std::fprintf(stderr, "loaded %s: %lld images, %d classes, %dx%dx%d in %.1f s\n",
               train_set.name.c_str(), static_cast<long long>(train_set.size()),
               train_set.num_classes, train_set.channels(), train_set.resolution(),
               train_set.resolution(), std::chrono::duration<double>(Clock::now() - start).count());

  std::unique_ptr<FdProbe> probe;
  if (flags.Has("evaluator")) {
    data::LoadOptions test_load;
    test_load.resolution = resolution;
    data::Dataset test = data::LoadDataset(spec, data::Split::kTest, test_load);
    probe =
        std::make_unique<FdProbe>(flags.Get("evaluator"), test, flags.GetInt("eval-samples", 5000),
                                  options.device, options.seed + 1);
    options.on_eval = [&](int64_t it, train::Generator& g) {
      const auto t0 = Clock::now();
      const double fd = probe->Measure(g);
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      if (tty) {
        std::fprintf(stderr, "\r\033[Kiteration %lld: FD %.3f (%.1f s)\n",
                     static_cast<long long>(it), fd, secs);
      } else {
        Json j = Json::Object();
        j["event"] = "eval";
        j["iteration"] = it;
        j["fd"] = fd;
        j["seconds"] = secs;
        PrintJsonLine(j);
      }
    };
  }

  options.on_progress = [&](const train::TrainProgress& p) {
    if (tty) {
      std::fprintf(stderr,
                   "\r\033[Kiteration %lld/%lld (%.1f%%)  %.2f it/s  ETA %s  G %.3f  D %.3f  "
                   "R1 %.3f",
                   static_cast<long long>(p.iteration), static_cast<long long>(p.iterations),
                   p.iterations ? 100.0 * double(p.iteration) / double(p.iterations) : 100.0,
                   p.iterations_per_second, FormatDuration(p.eta_seconds).c_str(), p.g_loss,
                   p.d_loss, p.r1_penalty);
      std::fflush(stderr);
    } else {
      Json j = Json::Object();
      j["event"] = "progress";
      j["iteration"] = p.iteration;
      j["iterations"] = p.iterations;
      j["seconds"] = p.seconds;
      j["it_per_s"] = p.iterations_per_second;
      j["eta_s"] = p.eta_seconds;
      j["g_loss"] = p.g_loss;
      j["d_loss"] = p.d_loss;
      j["r1_penalty"] = p.r1_penalty;
      PrintJsonLine(j);
    }
  };

  CancelToken interrupt;
  options.cancel = &interrupt;
  train::TrainResult result;
  {
    InterruptScope scope(&interrupt);
    result = train::TrainGan(train_set, config, options);
  }
  if (tty) std::fputs("\n", stderr);

  Json summary = Json::Object();
  summary["event"] = "done";
  summary["iterations"] = result.iterations;
  summary["iterations_this_run"] = result.iterations_this_run;
  summary["seconds"] = result.seconds;
  summary["ms_per_iteration"] = result.ms_per_iteration;
  summary["g_loss"] = result.g_loss;
  summary["d_loss"] = result.d_loss;
  summary["threads"] = int64_t(torch::get_num_threads());
  summary["preset"] = config.preset;
  if (result.cancelled) {
    summary["event"] = "interrupted";
    summary["resume"] = train::ResumeDirFor(out);
    PrintJsonLine(summary);
    std::fprintf(stderr, "interrupted at iteration %lld; continue with --resume %s\n",
                 static_cast<long long>(result.iterations), train::ResumeDirFor(out).c_str());
    return 130;
  }
  summary["out"] = result.checkpoint_dir;
  summary["digest"] = models::CheckpointDigest(result.checkpoint_dir);
  PrintJsonLine(summary);
  return 0;
}

int RunSample(int argc, char** argv) {
  Flags flags(argc, argv,
              {"model", "out", "per-class", "seed", "truncation", "noise", "device", "threads"},
              {"help"});
  if (flags.GetBool("help")) {
    std::fputs(kSampleHelp, stdout);
    return 0;
  }
  if (!flags.positional().empty())
    throw Error("unexpected argument \"" + flags.positional()[0] + "\"");
  models::ConfigureThreads(int(flags.GetInt("threads", 0)));
  const std::string model_dir = flags.Require("model");
  const std::string out = flags.Require("out");
  const int64_t per_class = flags.GetInt("per-class", 8);
  const double psi = flags.GetDouble("truncation", 1.0);
  if (per_class < 1 || per_class > 256) throw Error("--per-class must be in [1, 256]");
  if (!(psi >= 0.0 && psi <= 2.0)) throw Error("--truncation must be in [0, 2]");
  const std::string noise_name = flags.Get("noise", "const");
  models::NoiseMode noise;
  if (noise_name == "random")
    noise = models::NoiseMode::kRandom;
  else if (noise_name == "const")
    noise = models::NoiseMode::kConst;
  else if (noise_name == "none")
    noise = models::NoiseMode::kNone;
  else
    throw Error("--noise must be random, const or none");
  if (!PngSupported()) throw Error("this build has no PNG support (libpng missing)");
  const torch::Device device = models::ParseDevice(flags.Get("device", "cpu"));

  models::Checkpoint ckpt = models::LoadCheckpoint(model_dir, device);
  const models::ModelConfig& c = ckpt.config;
  torch::NoGradGuard no_grad;
  torch::manual_seed(uint64_t(flags.GetInt("seed", 0)));  // random noise mode
  auto gen = at::detail::createCPUGenerator(uint64_t(flags.GetInt("seed", 0)));
  torch::Tensor labels = torch::arange(c.num_classes, torch::kInt64).repeat_interleave(per_class);
  torch::Tensor z = torch::randn({labels.size(0), c.z_dim}, gen);
  torch::Tensor images =
      ckpt.generator->Synthesize(ckpt.generator->Map(z.to(device), labels.to(device), psi), noise)
          .to(torch::kCPU);
  // [-1, 1] -> [0, 255], laid out as a grid with 2-pixel gaps.
  torch::Tensor pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8);
  const int r = c.resolution, ch = c.img_channels, gap = 2;
  Image8 grid;
  grid.width = int(per_class) * (r + gap) + gap;
  grid.height = c.num_classes * (r + gap) + gap;
  grid.channels = ch;
  grid.pixels.assign(size_t(grid.width) * grid.height * ch, 0);
  auto px = pixels.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < labels.size(0); ++i) {
    const int row = int(i / per_class), col = int(i % per_class);
    const int y0 = gap + row * (r + gap), x0 = gap + col * (r + gap);
    for (int y = 0; y < r; ++y)
      for (int x = 0; x < r; ++x)
        for (int k = 0; k < ch; ++k)
          grid.pixels[(size_t(y0 + y) * grid.width + (x0 + x)) * ch + k] = px[i][k][y][x];
  }
  WritePngFile(out, grid);
  Json summary = Json::Object();
  summary["out"] = out;
  summary["model"] = model_dir;
  summary["digest"] = models::CheckpointDigest(model_dir);
  summary["classes"] = c.num_classes;
  summary["per_class"] = per_class;
  summary["truncation"] = psi;
  PrintJsonLine(summary);
  return 0;
}

constexpr const char* kExportModelHelp =
    "usage: lethe-engine export-model --model DIR --out DIR\n"
    "Copies a checkpoint without its resumable training state (optimiser moments, the\n"
    "non-EMA generator, sampler position): what is published or shipped. The manifest keeps\n"
    "the data set, the training schedule and the parent; every file is hashed again.\n";

int RunExportModel(int argc, char** argv) {
  Flags flags(argc, argv, {"model", "out"}, {"help"});
  if (flags.GetBool("help")) {
    std::fputs(kExportModelHelp, stdout);
    return 0;
  }
  if (!flags.positional().empty())
    throw Error("unexpected argument \"" + flags.positional()[0] + "\"");
  const std::string out = flags.Require("out");
  models::Checkpoint ckpt = models::LoadCheckpoint(flags.Require("model"), torch::kCPU);
  // Members SaveCheckpoint derives itself are left out; everything else is kept.
  lethe::Json extra = lethe::Json::Object();
  for (const auto& [key, value] : ckpt.manifest.items())
    if (!models::IsDerivedManifestMember(key)) extra[key] = value;
  models::SaveCheckpoint(out, ckpt, extra);
  lethe::Json summary = lethe::Json::Object();
  summary["out"] = out;
  summary["digest"] = models::CheckpointDigest(out);
  std::printf("%s\n", summary.Dump().c_str());
  return 0;
}

}  // namespace lethe::cli
