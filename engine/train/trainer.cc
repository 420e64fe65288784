#include "engine/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/data/sampler.h"
#include "engine/models/device.h"
#include "engine/train/loss.h"

namespace lethe::train {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void ValidateOptions(const TrainOptions& o) {
  auto fail = [](const std::string& what) { throw Error("invalid training options: " + what); };
  if (o.iterations < 0) fail("iterations must be >= 0");
  if (o.batch < 1 || o.batch > 65536) fail("batch must be in [1, 65536]");
  if (!(o.g_lr > 0) || !(o.d_lr > 0)) fail("learning rates must be > 0");
  if (o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1)
    fail("Adam betas must be in [0, 1)");
  if (o.r1_gamma < 0) fail("r1_gamma must be >= 0");
  if (o.r1_interval < 1) fail("r1_interval must be >= 1");
  if (o.ema_kimg < 0) fail("ema_kimg must be >= 0");
  if (o.w_avg_beta < 0 || o.w_avg_beta >= 1) fail("w_avg_beta must be in [0, 1)");
  if (o.class_mean_samples < 1) fail("class_mean_samples must be >= 1");
  if (o.checkpoint_every < 0 || o.log_every < 0 || o.eval_every < 0)
    fail("checkpoint_every, log_every and eval_every must be >= 0");
  if (!o.extra_manifest.is_object()) fail("extra_manifest must be a JSON object");
}

torch::optim::AdamOptions AdamFor(double lr, const TrainOptions& o) {
  return torch::optim::AdamOptions(lr).betas({o.beta1, o.beta2}).eps(1e-8);
}

std::string SerializeOptimizer(const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

// The moments are loaded onto the parameters' device: Adam's step mixes them with gradients.
void DeserializeOptimizer(torch::optim::Optimizer& optimizer, const std::string& bytes,
                          const std::string& what, torch::Device device) {
  try {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(in, device);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error("cannot load " + what + ": " + msg.substr(0, msg.find('\n')));
  }
}

// Freezes parameters for the scope (the G step must not compute D's weight gradients).
class FrozenScope {
 public:
  explicit FrozenScope(const std::vector<torch::Tensor>& params) : params_(params) {
    for (const auto& p : params_) p.requires_grad_(false);
  }
  ~FrozenScope() {
    for (const auto& p : params_) p.requires_grad_(true);
  }
  FrozenScope(const FrozenScope&) = delete;
  FrozenScope& operator=(const FrozenScope&) = delete;

 private:
  const std::vector<torch::Tensor>& params_;
};

uint64_t SamplerSeed(uint64_t seed) { return seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull; }

lethe::Json Merge(lethe::Json base, const lethe::Json& extra) {
  if (extra.is_object())
    for (const auto& [key, value] : extra.items()) base[key] = value;
  return base;
}

// `extra` with training.train_seconds set (Trainer::Save merges it into the schedule).
lethe::Json WithSeconds(lethe::Json extra, double seconds) {
  if (!extra.Has("training") || !extra.at("training").is_object())
    extra["training"] = lethe::Json::Object();
  extra["training"]["train_seconds"] = seconds;
  return extra;
}

}  // namespace

std::string ResumeDirFor(const std::string& out_dir) {
  if (out_dir.empty()) return "";
  std::filesystem::path p = std::filesystem::path(out_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "out/" names "out"
  return p.string() + ".resume";
}

lethe::Json TrainOptionsToJson(const TrainOptions& o) {
  lethe::Json j = lethe::Json::Object();
  j["iterations"] = o.iterations;
  j["batch"] = o.batch;
  j["seed"] = int64_t(o.seed);
  j["device"] = o.device.str();
  j["g_lr"] = o.g_lr;
  j["d_lr"] = o.d_lr;
  j["betas"] = lethe::Json::ArrayOf(std::vector<double>{o.beta1, o.beta2});
  j["r1_gamma"] = o.r1_gamma;
  j["r1_interval"] = o.r1_interval;
  j["ema_kimg"] = o.ema_kimg;
  j["ema_rampup"] = o.ema_rampup;
  j["w_avg_beta"] = o.w_avg_beta;
  j["class_mean_samples"] = o.class_mean_samples;
  j["precision"] = PrecisionName(o.precision);
  j["threads"] = int64_t(torch::get_num_threads());
  return j;
}

// --- Trainer -------------------------------------------------------------------------------

Trainer::Trainer(const models::ModelConfig& config, const TrainOptions& options)
    : config_(config), options_(options) {
  ValidateOptions(options_);
  config_.Validate();
  SeedRngs(options_.seed);
  g_ = Generator(config_);
  d_ = Discriminator(config_);
  g_->to(options_.device);
  d_->to(options_.device);
  g_ema_ = models::CloneGenerator(g_);
  Init();
}

Trainer::Trainer(const models::Checkpoint& checkpoint, const TrainOptions& options,
                 bool require_state)
    : config_(checkpoint.config), options_(options) {
  ValidateOptions(options_);
  const bool has_state = checkpoint.manifest.at("files").Has(kTrainStateFile);
  if (!has_state && require_state)
    throw Error("checkpoint " + checkpoint.dir +
                " has no training state (it was written without it); cannot resume");
  g_ema_ = checkpoint.generator;
  d_ = checkpoint.discriminator;
  g_ema_->to(options_.device);
  d_->to(options_.device);
  if (has_state) {
    g_ = Generator(config_);
    models::DeserializeModule(*g_, models::ReadCheckpointFile(checkpoint, kTrainGeneratorFile),
                              checkpoint.dir + "/" + kTrainGeneratorFile);
    g_->to(options_.device);
    Init();
    LoadState(checkpoint);
  } else {
    SeedRngs(options_.seed);
    g_ = models::CloneGenerator(g_ema_);
    Init();
  }
}

void Trainer::Init() {
  for (auto& p : g_ema_->parameters()) p.requires_grad_(false);
  g_opt_ = std::make_unique<torch::optim::Adam>(g_->parameters(), AdamFor(options_.g_lr, options_));
  d_opt_ = std::make_unique<torch::optim::Adam>(d_->parameters(), AdamFor(options_.d_lr, options_));
  d_params_ = d_->parameters();
  ema_params_.clear();
  ema_buffers_.clear();
  auto trained = g_->named_parameters();
  for (auto& item : g_ema_->named_parameters())
    ema_params_.emplace_back(item.value(), trained[item.key()]);
  auto trained_buffers = g_->named_buffers();
  for (auto& item : g_ema_->named_buffers()) {
    // Class means are computed for the served model after training, not tracked.
    if (item.key() == "w_class_avg" || item.key() == "class_mean_samples") continue;
    ema_buffers_.emplace_back(item.value(), trained_buffers[item.key()]);
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(options_.device);
  g_loss_sum_ = torch::zeros({}, opts);
  d_loss_sum_ = torch::zeros({}, opts);
  r1_last_ = torch::zeros({}, opts);
  loss_count_ = 0;
}

void Trainer::SeedRngs(uint64_t seed) const { torch::manual_seed(seed); }

std::vector<torch::Tensor> Trainer::SaveRngState() const {
  std::vector<torch::Tensor> state;
  at::Generator cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    state.push_back(cpu.get_state());
  }
  if (options_.device.is_cuda()) {
    at::Generator cuda = at::globalContext().defaultGenerator(options_.device);
    std::lock_guard<std::mutex> lock(cuda.mutex());
    state.push_back(cuda.get_state());
  }
  return state;
}

void Trainer::RestoreRngState(const std::vector<torch::Tensor>& state) const {
  if (state.empty()) throw Error("RNG state is empty");
  at::Generator cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(state[0]);
  }
  if (options_.device.is_cuda()) {
    if (state.size() < 2) throw Error("RNG state has no CUDA generator state");
    at::Generator cuda = at::globalContext().defaultGenerator(options_.device);
    std::lock_guard<std::mutex> lock(cuda.mutex());
    cuda.set_state(state[1]);
  }
}

double Trainer::EmaBeta() const {
  const double images = double(iteration_ + 1) * options_.batch;
  double ema_nimg = options_.ema_kimg * 1000.0;
  if (options_.ema_rampup > 0) ema_nimg = std::min(ema_nimg, images * options_.ema_rampup);
  if (ema_nimg <= 0) return 0.0;
  return std::pow(0.5, options_.batch / ema_nimg);
}

void Trainer::UpdateEma() {
  torch::NoGradGuard no_grad;
  const double beta = EmaBeta();
  for (auto& [ema, trained] : ema_params_) ema.lerp_(trained, 1.0 - beta);
  for (auto& [ema, trained] : ema_buffers_) ema.copy_(trained);
}

void Trainer::Step(const torch::Tensor& real, const torch::Tensor& labels) {
  const int64_t n = real.size(0);
  const bool regularise = options_.r1_gamma > 0 && iteration_ % options_.r1_interval == 0;
  // One generated batch serves both steps: D learns to reject it (detached), then G
  // learns from the updated D's verdict on it. This saves a generator forward per step.
  torch::Tensor fake, fake_logits, real_in, real_logits;
  {
    AutocastScope autocast(options_.precision, options_.device);
    torch::Tensor z = torch::randn({n, config_.z_dim}, real.options());
    torch::Tensor w = g_->Map(z, labels);
    g_->UpdateWAvg(w, options_.w_avg_beta);
    fake = g_->Synthesize(w, models::NoiseMode::kRandom);
    fake_logits = d_(fake.detach(), labels).to(torch::kFloat32);
    real_in = regularise ? real.detach().requires_grad_(true) : real;
    real_logits = d_(real_in, labels).to(torch::kFloat32);
  }

  // D step: logistic loss, plus R1 on the real batch every r1_interval steps.
  torch::Tensor d_loss = DiscriminatorLoss(real_logits, fake_logits);
  torch::Tensor d_total = d_loss;
  if (regularise) {
    torch::Tensor penalty = R1Penalty(real_in, real_logits).mean();
    d_total = d_loss + penalty * (options_.r1_gamma * 0.5 * options_.r1_interval);
    r1_last_ = penalty.detach();
  }
  d_opt_->zero_grad();
  d_total.backward();
  d_opt_->step();

  // G step: non-saturating loss through the just-updated D (whose weights stay frozen).
  torch::Tensor g_loss;
  {
    FrozenScope frozen(d_params_);
    torch::Tensor logits;
    {
      AutocastScope autocast(options_.precision, options_.device);
      logits = d_(fake, labels).to(torch::kFloat32);
    }
    g_loss = GeneratorLoss(logits);
    g_opt_->zero_grad();
    g_loss.backward();
  }
  g_opt_->step();

  UpdateEma();
  ++iteration_;
  g_loss_sum_.add_(g_loss.detach());
  d_loss_sum_.add_(d_loss.detach());
  ++loss_count_;
}

Trainer::LossMeans Trainer::TakeLossMeans() {
  LossMeans m;
  if (loss_count_ > 0) {
    m.g_loss = g_loss_sum_.item<double>() / double(loss_count_);
    m.d_loss = d_loss_sum_.item<double>() / double(loss_count_);
  }
  m.r1_penalty = r1_last_.item<double>();
  g_loss_sum_.zero_();
  d_loss_sum_.zero_();
  loss_count_ = 0;
  return m;
}

std::map<std::string, std::string> Trainer::SerializeState() const {
  std::map<std::string, std::string> files;
  files[kTrainGeneratorFile] = models::SerializeModule(*g_);
  files[kTrainGOptimFile] = SerializeOptimizer(*g_opt_);
  files[kTrainDOptimFile] = SerializeOptimizer(*d_opt_);
  torch::serialize::OutputArchive archive;
  archive.write("iteration", torch::tensor(iteration_, torch::dtype(torch::kInt64)));
  const auto rng = SaveRngState();
  archive.write("rng_cpu", rng[0]);
  if (rng.size() > 1) archive.write("rng_cuda", rng[1]);
  std::ostringstream out;
  archive.save_to(out);
  files[kTrainStateFile] = out.str();
  return files;
}

void Trainer::LoadState(const models::Checkpoint& checkpoint) {
  const std::string dir = checkpoint.dir;
  DeserializeOptimizer(*g_opt_, models::ReadCheckpointFile(checkpoint, kTrainGOptimFile),
                       dir + "/" + kTrainGOptimFile, options_.device);
  DeserializeOptimizer(*d_opt_, models::ReadCheckpointFile(checkpoint, kTrainDOptimFile),
                       dir + "/" + kTrainDOptimFile, options_.device);
  // The optimiser archives carry their own hyper-parameters; this run's options win.
  for (auto* opt : {g_opt_.get(), d_opt_.get()}) {
    const double lr = opt == g_opt_.get() ? options_.g_lr : options_.d_lr;
    for (auto& group : opt->param_groups()) {
      auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
      o.lr(lr).betas({options_.beta1, options_.beta2});
    }
  }
  std::vector<torch::Tensor> rng;
  try {
    std::istringstream in(models::ReadCheckpointFile(checkpoint, kTrainStateFile));
    torch::serialize::InputArchive archive;
    archive.load_from(in, torch::Device(torch::kCPU));
    torch::Tensor iteration, cpu_state, cuda_state;
    archive.read("iteration", iteration);
    archive.read("rng_cpu", cpu_state);
    iteration_ = iteration.item<int64_t>();
    rng.push_back(cpu_state);
    if (options_.device.is_cuda()) {
      if (archive.try_read("rng_cuda", cuda_state)) {
        rng.push_back(cuda_state);
      } else {
        // Written on CPU: continue on the GPU from a seed derived from the position.
        at::Generator cuda = at::globalContext().defaultGenerator(options_.device);
        std::lock_guard<std::mutex> lock(cuda.mutex());
        cuda.set_current_seed(options_.seed + uint64_t(iteration_));
      }
    }
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error("cannot load " + dir + "/" + kTrainStateFile + ": " +
                msg.substr(0, msg.find('\n')));
  }
  if (rng.size() > 1 || !options_.device.is_cuda()) {
    RestoreRngState(rng);
  } else {
    at::Generator cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(rng[0]);
  }
}

void Trainer::Save(const std::string& dir, const lethe::Json& extra_manifest, bool with_state,
                   bool overwrite) const {
  models::Checkpoint ckpt;
  ckpt.config = config_;
  ckpt.generator = g_ema_;
  ckpt.discriminator = d_;
  models::SaveOptions save;
  save.overwrite = overwrite;
  if (with_state) save.extra_files = SerializeState();
  lethe::Json extra = Merge(options_.extra_manifest, extra_manifest);
  lethe::Json training = TrainOptionsToJson(options_);
  training["iteration"] = iteration_;
  if (extra.Has("training")) training = Merge(training, extra.at("training"));
  extra["training"] = training;
  models::SaveCheckpoint(dir, ckpt, extra, save);
}

// --- TrainGan ------------------------------------------------------------------------------

TrainResult TrainGan(const data::Dataset& train, const models::ModelConfig& config,
                     const TrainOptions& options) {
  const auto start = Clock::now();
  ValidateOptions(options);
  if (train.size() == 0) throw Error("training set " + train.name + " is empty");
  if (!train.images.defined() || train.images.dim() != 4 || train.images.size(0) != train.size() ||
      train.labels.size(0) != train.size())
    throw Error("training set " + train.name + " is malformed (images/labels/ids disagree)");

  std::unique_ptr<Trainer> trainer;
  if (!options.resume_from.empty()) {
    models::Checkpoint ckpt = models::LoadCheckpoint(options.resume_from, options.device);
    if (ckpt.config.ToJson() != config.ToJson())
      throw Error("checkpoint " + options.resume_from +
                  " was trained with a different model configuration");
    trainer = std::make_unique<Trainer>(ckpt, options, /*require_state=*/true);
  } else {
    trainer = std::make_unique<Trainer>(config, options);
  }
  const models::ModelConfig& c = trainer->config();
  if (train.channels() != c.img_channels || train.resolution() != c.resolution)
    throw Error("training set " + train.name + " has " + std::to_string(train.channels()) + "x" +
                std::to_string(train.resolution()) + "x" + std::to_string(train.resolution()) +
                " images but the model expects " + std::to_string(c.img_channels) + "x" +
                std::to_string(c.resolution) + "x" + std::to_string(c.resolution));
  if (train.num_classes != c.num_classes)
    throw Error("training set " + train.name + " has " + std::to_string(train.num_classes) +
                " classes but the model has " + std::to_string(c.num_classes));
  if (train.labels.min().item<int64_t>() < 0 || train.labels.max().item<int64_t>() >= c.num_classes)
    throw Error("training set " + train.name + " has labels outside [0, num_classes)");
  if (!options.out_dir.empty() && IsDirectory(options.out_dir) &&
      !std::filesystem::is_empty(options.out_dir))
    throw Error("output directory " + options.out_dir + " already exists and is not empty");
  const std::string resume_dir = ResumeDirFor(options.out_dir);
  if (!resume_dir.empty() && PathExists(resume_dir) &&
      (options.resume_from.empty() || std::filesystem::weakly_canonical(options.resume_from) !=
                                          std::filesystem::weakly_canonical(resume_dir)))
    throw Error(resume_dir +
                " holds the snapshot of an unfinished run; continue it with --resume " +
                resume_dir + " or remove it");

  lethe::Json dataset = lethe::Json::Object();
  dataset["name"] = train.name;
  dataset["fingerprint"] = train.Fingerprint();
  dataset["size"] = train.size();
  dataset = Merge(dataset, options.data_source);
  // Training time of the runs this one continues: manifests record the whole schedule's
  // time, not just the last run's (it is what a retraining with this schedule costs).
  double earlier_seconds = 0;
  if (!options.resume_from.empty()) {
    // Resuming on different data would silently train a model on a mix of both.
    const lethe::Json m =
        lethe::Json::Parse(ReadFile(JoinPath(options.resume_from, models::kManifestFile)));
    if (m.Has("training") && m.at("training").is_object())
      earlier_seconds = m.at("training").GetDouble("train_seconds", 0.0);
    if (m.Has("dataset") && m.at("dataset").is_object() &&
        m.at("dataset").GetString("fingerprint", "") != dataset.at("fingerprint").AsString())
      throw Error("checkpoint " + options.resume_from +
                  " was trained on a different data set (fingerprint mismatch)");
  }
  lethe::Json extra = lethe::Json::Object();
  extra["dataset"] = dataset;

  const torch::Tensor images = train.images.to(options.device);
  const torch::Tensor labels = train.labels.to(options.device);

  TrainResult result;
  const int64_t first = trainer->iteration();
  double train_seconds = 0;
  Trainer::LossMeans last;
  auto report = [&](int64_t it) {
    last = trainer->TakeLossMeans();
    if (!options.on_progress) return;
    TrainProgress p;
    p.iteration = it;
    p.iterations = options.iterations;
    p.seconds = SecondsSince(start);
    const double done = double(it - first);
    p.iterations_per_second = p.seconds > 0 ? done / p.seconds : 0;
    p.eta_seconds =
        p.iterations_per_second > 0 ? double(options.iterations - it) / p.iterations_per_second : 0;
    p.g_loss = last.g_loss;
    p.d_loss = last.d_loss;
    p.r1_penalty = last.r1_penalty;
    options.on_progress(p);
  };
  auto evaluate = [&](int64_t it) {
    const auto rng = trainer->SaveRngState();
    torch::NoGradGuard no_grad;
    options.on_eval(it, trainer->generator_ema());
    trainer->RestoreRngState(rng);
  };

  // Epoch-wise shuffled batches from a stream of their own; a resumed run replays the
  // stream up to where it stopped, so it sees exactly the batches it would have seen.
  data::Sampler sampler(train.size(), SamplerSeed(options.seed));
  for (int64_t i = 0; i < first; ++i) sampler.Next(options.batch);

  int64_t last_eval = -1;
  while (trainer->iteration() < options.iterations) {
    if (options.cancel && options.cancel->cancelled()) {
      result.cancelled = true;
      break;
    }
    const auto t0 = Clock::now();
    torch::Tensor idx = sampler.Next(options.batch);
    idx = models::ToDevice(idx, options.device);
    trainer->Step(images.index_select(0, idx), labels.index_select(0, idx));
    train_seconds += SecondsSince(t0);
    const int64_t it = trainer->iteration();
    if (options.log_every > 0 && it % options.log_every == 0) report(it);
    if (options.on_eval && options.eval_every > 0 && it % options.eval_every == 0) {
      evaluate(it);
      last_eval = it;
    }
    if (options.checkpoint_every > 0 && it % options.checkpoint_every == 0 &&
        it < options.iterations && !resume_dir.empty())
      trainer->Save(resume_dir, WithSeconds(extra, earlier_seconds + train_seconds),
                    /*with_state=*/true, /*overwrite=*/true);
  }
  {
    const auto t0 = Clock::now();  // the steps still queued on a GPU belong to training
    models::Synchronize(options.device);
    train_seconds += SecondsSince(t0);
  }
  const int64_t it = trainer->iteration();
  if (options.log_every > 0 && (it % options.log_every != 0 || it == first)) report(it);
  if (last.g_loss == 0 && last.d_loss == 0) last = trainer->TakeLossMeans();

  result.iterations = it;
  result.iterations_this_run = it - first;
  result.train_seconds = train_seconds;
  result.ms_per_iteration =
      result.iterations_this_run > 0 ? 1000.0 * train_seconds / result.iterations_this_run : 0;
  result.g_loss = last.g_loss;
  result.d_loss = last.d_loss;

  if (result.cancelled) {
    if (!resume_dir.empty())
      trainer->Save(resume_dir, WithSeconds(extra, earlier_seconds + train_seconds),
                    /*with_state=*/true, /*overwrite=*/true);
    result.seconds = SecondsSince(start);
    return result;
  }
  if (options.on_eval && last_eval != it) evaluate(it);
  {
    const auto rng = trainer->SaveRngState();
    trainer->generator_ema()->ComputeClassMeans(options.class_mean_samples, options.seed);
    trainer->RestoreRngState(rng);
  }
  if (!options.out_dir.empty()) {
    lethe::Json final_extra = WithSeconds(extra, earlier_seconds + train_seconds);
    // Per iteration over the whole schedule when earlier runs recorded their time.
    final_extra["training"]["ms_per_iteration"] =
        it > 0 && (earlier_seconds > 0 || first == 0)
            ? 1000.0 * (earlier_seconds + train_seconds) / double(it)
            : result.ms_per_iteration;
    trainer->Save(options.out_dir, final_extra, /*with_state=*/true, /*overwrite=*/false);
    result.checkpoint_dir = options.out_dir;
    std::error_code ec;
    std::filesystem::remove_all(resume_dir, ec);
  }
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace lethe::train
