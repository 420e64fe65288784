#include "engine/metrics/evaluator.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "engine/base/error.h"
#include "engine/base/file_util.h"
#include "engine/base/sha256.h"
#include "engine/data/sampler.h"
#include "engine/models/device.h"

namespace lethe::metrics {
namespace {

constexpr const char* kFormat = "lethe-evaluator-v1";
constexpr const char* kWeightsFile = "weights.pt";
constexpr const char* kManifestFile = "manifest.json";

bool IsPowerOfTwo(int v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

Json EvaluatorConfig::ToJson() const {
  Json j = Json::Object();
  j["resolution"] = resolution;
  j["channels"] = channels;
  j["num_classes"] = num_classes;
  j["width"] = width;
  j["feature_dim"] = feature_dim;
  return j;
}

EvaluatorConfig EvaluatorConfig::FromJson(const Json& json) {
  EvaluatorConfig c;
  c.resolution = int(json.at("resolution").AsInt());
  c.channels = int(json.at("channels").AsInt());
  c.num_classes = int(json.at("num_classes").AsInt());
  c.width = int(json.at("width").AsInt());
  c.feature_dim = int(json.at("feature_dim").AsInt());
  c.Validate();
  return c;
}

void EvaluatorConfig::Validate() const {
  if (!IsPowerOfTwo(resolution) || resolution < 8 || resolution > 256)
    throw Error("evaluator resolution must be a power of two in [8, 256], got " +
                std::to_string(resolution));
  if (channels != 1 && channels != 3)
    throw Error("evaluator channels must be 1 or 3, got " + std::to_string(channels));
  if (num_classes < 2 || num_classes > 100000)
    throw Error("evaluator needs at least 2 classes, got " + std::to_string(num_classes));
  if (width < 4 || width > 1024) throw Error("evaluator width must be in [4, 1024]");
  if (feature_dim < 2 || feature_dim > 4096)
    throw Error("evaluator feature_dim must be in [2, 4096]");
}

EvaluatorNetImpl::EvaluatorNetImpl(const EvaluatorConfig& config) {
  namespace nn = torch::nn;
  trunk_ = nn::Sequential();
  auto conv_block = [&](int in, int out) {
    trunk_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    trunk_->push_back(nn::BatchNorm2d(out));
    trunk_->push_back(nn::ReLU(nn::ReLUOptions(true)));
  };
  int in = config.channels, out = config.width;
  for (int res = config.resolution; res > 4; res /= 2) {
    conv_block(in, out);
    trunk_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    in = out;
    out = std::min(out * 2, config.width * 4);
  }
  conv_block(in, in);
  // The 4x4 map is flattened, not averaged: where a part of the object lies matters.
  trunk_->push_back(nn::Flatten());
  trunk_ = register_module("trunk", trunk_);
  feature_ = register_module("feature", nn::Linear(in * 16, config.feature_dim));
  dropout_ = register_module("dropout", nn::Dropout(0.2));
  head_ = register_module("head", nn::Linear(config.feature_dim, config.num_classes));
}

torch::Tensor EvaluatorNetImpl::Features(const torch::Tensor& x) {
  return torch::relu(feature_->forward(trunk_->forward(x)));
}

torch::Tensor EvaluatorNetImpl::Classify(const torch::Tensor& features) {
  return head_->forward(dropout_->forward(features));
}

Evaluator::Evaluator(const EvaluatorConfig& config, torch::Device device)
    : config_(config), device_(device) {
  config_.Validate();
  net_ = EvaluatorNet(config_);
  net_->to(device_);
  Freeze();
}

void Evaluator::Freeze() {
  net_->eval();
  for (auto& p : net_->parameters()) p.set_requires_grad(false);
}

void Evaluator::CheckInput(const torch::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != config_.channels ||
      images.size(2) != config_.resolution || images.size(3) != config_.resolution) {
    std::ostringstream got;
    got << images.sizes();
    throw Error("evaluator expects [N, " + std::to_string(config_.channels) + ", " +
                std::to_string(config_.resolution) + ", " + std::to_string(config_.resolution) +
                "] images, got " + got.str());
  }
}

torch::Tensor Evaluator::Features(const torch::Tensor& images, int64_t batch) const {
  CheckInput(images);
  if (batch <= 0) throw Error("evaluator batch size must be > 0");
  torch::NoGradGuard no_grad;
  Net().eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    torch::Tensor x = images.narrow(0, i, std::min(batch, images.size(0) - i));
    out.push_back(Net().Features(x.to(device_, torch::kFloat32)));
  }
  if (out.empty()) return torch::empty({0, config_.feature_dim}, torch::TensorOptions(device_));
  return torch::cat(out, 0);
}

torch::Tensor Evaluator::Logits(const torch::Tensor& images, int64_t batch) const {
  CheckInput(images);
  if (batch <= 0) throw Error("evaluator batch size must be > 0");
  torch::NoGradGuard no_grad;
  Net().eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    torch::Tensor x = images.narrow(0, i, std::min(batch, images.size(0) - i));
    out.push_back(Net().forward(x.to(device_, torch::kFloat32)));
  }
  if (out.empty()) return torch::empty({0, config_.num_classes}, torch::TensorOptions(device_));
  return torch::cat(out, 0);
}

std::pair<torch::Tensor, torch::Tensor> Evaluator::FeaturesAndLogits(const torch::Tensor& images,
                                                                     int64_t batch) const {
  CheckInput(images);
  if (batch <= 0) throw Error("evaluator batch size must be > 0");
  torch::NoGradGuard no_grad;
  Net().eval();
  std::vector<torch::Tensor> features, logits;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    torch::Tensor x = images.narrow(0, i, std::min(batch, images.size(0) - i));
    features.push_back(Net().Features(x.to(device_, torch::kFloat32)));
    logits.push_back(Net().Classify(features.back()));
  }
  if (features.empty())
    return {torch::empty({0, config_.feature_dim}, torch::TensorOptions(device_)),
            torch::empty({0, config_.num_classes}, torch::TensorOptions(device_))};
  return {torch::cat(features, 0), torch::cat(logits, 0)};
}

torch::Tensor Evaluator::FeaturesWithGrad(const torch::Tensor& images) const {
  CheckInput(images);
  Net().eval();
  return Net().Features(images.to(device_));
}

double Evaluator::Accuracy(const torch::Tensor& images, const torch::Tensor& labels) const {
  if (images.size(0) == 0) throw Error("accuracy of an empty set of images");
  if (labels.numel() != images.size(0)) throw Error("accuracy: images and labels differ in count");
  torch::Tensor pred = Logits(images).argmax(1).cpu();
  return pred.eq(labels.cpu().to(torch::kInt64)).to(torch::kFloat64).mean().item<double>();
}

void Evaluator::Save(const std::string& dir) const {
  MakeDirs(dir);
  torch::serialize::OutputArchive archive;
  net_->save(archive);
  std::ostringstream weights;
  archive.save_to(weights);
  const std::string bytes = weights.str();
  WriteFileAtomic(JoinPath(dir, kWeightsFile), bytes);

  Json manifest = Json::Object();
  manifest["format"] = kFormat;
  manifest["config"] = config_.ToJson();
  manifest["info"] = info_;
  manifest["files"] = Json::Object();
  manifest["files"][kWeightsFile] = Sha256Hex(bytes);
  WriteFileAtomic(JoinPath(dir, kManifestFile), manifest.Dump(2) + "\n");
}

Evaluator Evaluator::Load(const std::string& dir, torch::Device device) {
  const std::string manifest_path = JoinPath(dir, kManifestFile);
  Json manifest;
  try {
    manifest = Json::Parse(ReadFile(manifest_path));
    if (!manifest.is_object()) throw Error("the manifest is not a JSON object");
    if (!manifest.Has("format") && manifest.Has("w_avg"))
      throw Error(dir +
                  " is a GAN checkpoint, not an evaluator (evaluators come from "
                  "lethe-engine train-evaluator, e.g. models/fashion-mnist-evaluator)");
    if (!manifest.Has("format"))
      throw Error(dir + " is not an evaluator: its manifest has no \"format\"");
    if (manifest.at("format").AsString() != kFormat)
      throw Error("unknown format \"" + manifest.at("format").AsString() + "\"");
  } catch (const Error& e) {
    throw Error("bad evaluator manifest " + manifest_path + ": " + e.what());
  }
  EvaluatorConfig config;
  try {
    config = EvaluatorConfig::FromJson(manifest.at("config"));
  } catch (const Error& e) {
    throw Error("bad evaluator config in " + manifest_path + ": " + e.what());
  }
  const Json& files = manifest.at("files");
  if (!files.is_object() || !files.Has(kWeightsFile))
    throw Error("evaluator manifest " + manifest_path + " does not list " + kWeightsFile);
  std::string weights;
  for (const auto& [name, hash] : files.items()) {
    if (name.find('/') != std::string::npos || name == ".." || !hash.is_string())
      throw Error("bad file entry \"" + name + "\" in " + manifest_path);
    const std::string path = JoinPath(dir, name);
    std::string bytes = ReadFile(path);
    if (Sha256Hex(bytes) != hash.AsString())
      throw Error("evaluator file " + path +
                  " does not match the sha256 in its manifest (tampered or corrupt)");
    if (name == kWeightsFile) weights = std::move(bytes);
  }
  Evaluator ev(config, torch::kCPU);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(weights.data(), weights.size(), torch::Device(torch::kCPU));
    ev.net_->load(archive);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error("cannot load evaluator weights " + JoinPath(dir, kWeightsFile) + ": " +
                msg.substr(0, msg.find('\n')));
  }
  ev.device_ = device;
  ev.net_->to(device);
  ev.Freeze();
  if (manifest.Has("info")) ev.info_ = manifest.at("info");
  return ev;
}

namespace {

// Shifts each image by up to `max_shift` pixels (the vacated border filled with -1) and
// optionally flips it horizontally.
torch::Tensor Augment(const torch::Tensor& x, int max_shift, bool hflip, torch::Generator& gen) {
  const int64_t n = x.size(0), r = x.size(2), w = x.size(3);
  torch::Tensor padded =
      torch::constant_pad_nd(x, {max_shift, max_shift, max_shift, max_shift}, -1.0);
  torch::Tensor shifts = torch::randint(0, 2 * max_shift + 1, {n, 2}, gen, torch::kInt64);
  std::vector<torch::Tensor> out;
  out.reserve(size_t(n));
  auto acc = shifts.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i)
    out.push_back(padded[i].narrow(1, acc[i][0], r).narrow(2, acc[i][1], w));
  torch::Tensor y = torch::stack(out, 0);
  if (hflip) {
    torch::Tensor flip = torch::rand({n}, gen) < 0.5;
    y = torch::where(flip.view({n, 1, 1, 1}), y.flip({3}), y);
  }
  return y;
}

}  // namespace

Evaluator TrainEvaluator(const data::Dataset& train, const data::Dataset& test,
                         const EvaluatorOptions& options) {
  if (train.size() == 0) throw Error("cannot train an evaluator on an empty data set");
  if (test.size() == 0) throw Error("the evaluator's test set is empty");
  if (test.channels() != train.channels() || test.resolution() != train.resolution() ||
      test.num_classes != train.num_classes)
    throw Error("train and test sets differ in shape or classes: " + train.name + " vs " +
                test.name);
  if (options.iterations <= 0 || options.batch <= 0)
    throw Error("evaluator training needs iterations > 0 and batch > 0");
  EvaluatorConfig config;
  config.resolution = train.resolution();
  config.channels = train.channels();
  config.num_classes = train.num_classes;
  config.width = options.width;
  config.feature_dim = options.feature_dim;

  torch::manual_seed(options.seed);
  Evaluator ev(config, options.device);
  EvaluatorNet net = ev.MutableNet();
  for (auto& p : net->parameters()) p.set_requires_grad(true);
  net->train();
  torch::optim::AdamW opt(
      net->parameters(),
      torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));
  data::Sampler sampler(train.size(), options.seed);
  torch::Generator aug_gen = data::MakeGenerator(options.seed ^ 0x9e3779b97f4a7c15ULL);
  const auto start = std::chrono::steady_clock::now();
  // Sums stay on the device and are read only when logged: reading them every step would
  // wait for the GPU every step.
  torch::Tensor loss_sum = torch::zeros({}, torch::dtype(torch::kFloat64).device(options.device));
  torch::Tensor correct = torch::zeros_like(loss_sum);
  double seen = 0;
  for (int64_t it = 1; it <= options.iterations; ++it) {
    if (options.cancel && options.cancel->cancelled()) throw Error("evaluator training cancelled");
    const double lr =
        options.learning_rate * 0.5 * (1 + std::cos(M_PI * double(it - 1) / options.iterations));
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    torch::Tensor idx = sampler.Next(options.batch);
    torch::Tensor x = train.images.index_select(0, idx);
    if (options.augment || options.hflip)
      x = Augment(x, options.augment ? 2 : 0, options.hflip, aug_gen);
    torch::Tensor y = models::ToDevice(train.labels.index_select(0, idx), options.device);
    torch::Tensor logits = net->forward(models::ToDevice(x, options.device));
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_sum += loss.detach().to(torch::kFloat64);
    correct += logits.argmax(1).eq(y).sum().to(torch::kFloat64);
    seen += double(options.batch);
    if (options.on_progress && (it % options.log_every == 0 || it == options.iterations)) {
      const int64_t n = it % options.log_every == 0 ? options.log_every : it % options.log_every;
      options.on_progress(it, loss_sum.item<double>() / double(n), correct.item<double>() / seen);
      loss_sum.zero_();
      correct.zero_();
      seen = 0;
    }
  }
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ev.Freeze();
  const double test_accuracy = ev.Accuracy(test.images, test.labels);
  Json& info = ev.mutable_info();
  info["dataset"] = train.name;
  info["dataset_fingerprint"] = train.Fingerprint();
  info["test_set"] = test.name;
  info["test_fingerprint"] = test.Fingerprint();
  info["test_accuracy"] = test_accuracy;
  info["iterations"] = options.iterations;
  info["batch"] = options.batch;
  info["seed"] = int64_t(options.seed);
  info["train_seconds"] = train_seconds;
  return ev;
}

}  // namespace lethe::metrics
