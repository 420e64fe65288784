#include "engine/unlearn/cascade.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "engine/base/error.h"
#include "engine/data/sampler.h"
#include "engine/models/device.h"
#include "engine/train/loss.h"
#include "engine/train/precision.h"
#include "engine/unlearn/cancelled.h"
#include "engine/unlearn/model_util.h"

namespace lethe::unlearn {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Shuffled passes over [0, n); a batch as large as n is simply every index.
class IndexCycler {
 public:
  IndexCycler(int64_t n, uint64_t seed) : n_(n), sampler_(n, seed) {}
  torch::Tensor Next(int64_t batch, torch::Device device) {
    if (batch >= n_) return torch::arange(n_, torch::dtype(torch::kLong).device(device));
    return ToDevice(sampler_.Next(batch), device);
  }

 private:
  int64_t n_;
  data::Sampler sampler_;
};

struct Targets {
  torch::Tensor images;    // x_s
  torch::Tensor labels;    // the class each substitute depicts
  torch::Tensor features;  // φ(x_s), when the feature distance is on
};

// x_s = S0(substitute(w)) with the frozen raw generator, cached wherever it cannot change:
// the class-mean images S0(w̄_c) serve every ψ = 0 substitute (average, other-class,
// projection once decayed), and fixed codes with a fixed ψ are synthesised once.
class SubstituteTargets {
 public:
  SubstituteTargets(CascadeInputs& in, const UnlearnRequest& request, bool want_features)
      : in_(in),
        options_(request.substitute),
        forget_class_(request.forget_class),
        want_features_(want_features) {
    if (want_features_ && !in.evaluator)
      throw Error("the feature-distance term (alpha_perceptual > 0) needs an evaluator");
    torch::NoGradGuard no_grad;
    mean_images_ = in.g0->Synthesize(in.class_means, models::NoiseMode::kConst);
    if (want_features_) mean_features_ = in.evaluator->Features(mean_images_);
    const bool fixed = in.w_u.defined();
    if (fixed && SubstituteIsStatic(options_) && SubstitutePsi(options_, 0) != 0.0) {
      std::vector<torch::Tensor> images, labels;
      for (int64_t i = 0; i < in.w_u.size(0); i += 512) {
        const int64_t len = std::min<int64_t>(512, in.w_u.size(0) - i);
        SubstituteLatents sub =
            Substitute(options_, in.w_u.narrow(0, i, len), in.forget_labels.narrow(0, i, len),
                       in.class_means, forget_class_, 0);
        images.push_back(in.g0->Synthesize(sub.w, models::NoiseMode::kConst));
        labels.push_back(sub.labels);
      }
      cached_images_ = torch::cat(images);
      cached_labels_ = torch::cat(labels);
      if (want_features_) cached_features_ = in.evaluator->Features(cached_images_);
    }
  }

  // `w` detached codes of the batch, `labels` their classes, `rows` their rows in w_u
  // (undefined for sampled codes).
  Targets For(const torch::Tensor& w, const torch::Tensor& labels, const torch::Tensor& rows,
              int64_t iteration) {
    torch::NoGradGuard no_grad;
    Targets t;
    if (cached_images_.defined() && rows.defined()) {
      t.images = cached_images_.index_select(0, rows);
      t.labels = cached_labels_.index_select(0, rows);
      if (want_features_) t.features = cached_features_.index_select(0, rows);
      return t;
    }
    SubstituteLatents sub =
        Substitute(options_, w, labels, in_.class_means, forget_class_, iteration);
    t.labels = sub.labels;
    if (SubstitutePsi(options_, iteration) == 0.0) {
      t.images = mean_images_.index_select(0, sub.labels);
      if (want_features_) t.features = mean_features_.index_select(0, sub.labels);
    } else {
      t.images = in_.g0->Synthesize(sub.w, models::NoiseMode::kConst);
      if (want_features_) t.features = in_.evaluator->Features(t.images);
    }
    return t;
  }

 private:
  CascadeInputs& in_;
  SubstituteOptions options_;
  int64_t forget_class_;
  bool want_features_;
  torch::Tensor mean_images_, mean_features_;
  torch::Tensor cached_images_, cached_labels_, cached_features_;
};

torch::optim::AdamOptions Adam(double lr, const GanStepOptions& o) {
  return torch::optim::AdamOptions(lr).betas({o.beta1, o.beta2}).eps(1e-8);
}

class Cascade {
 public:
  Cascade(CascadeInputs& in, const UnlearnRequest& request, RetainedSource& source)
      : in_(in),
        request_(request),
        opts_(request.cascade),
        source_(source),
        device_(ModuleDevice(*in.g)),
        batch_(std::min(ForgetBatchSize(request), in.forget_images.size(0))),
        z_dim_(in.g->config().z_dim),
        forget_rows_(in.forget_images.size(0), request.seed + 11),
        alpha_pixel_(AlphaPixel(request)),
        alpha_perceptual_(AlphaPerceptual(request)),
        targets_(in, request, alpha_perceptual_ > 0) {
    const GanStepOptions& gan = in.gan;
    const double g_lr = GeneratorLr(request, gan.g_lr);
    const double d_lr = DiscriminatorLr(request, gan.d_lr);
    g_opt_ = std::make_unique<torch::optim::Adam>(in.g->parameters(), Adam(g_lr, gan));
    d_opt_ = std::make_unique<torch::optim::Adam>(in.d->parameters(), Adam(d_lr, gan));
    if (!in.w_u.defined() && opts_.latent_pool > 0) {
      torch::Generator rng = data::MakeGenerator(request.seed + 13);
      z_pool_ = torch::randn({opts_.latent_pool, z_dim_}, rng).to(device_);
      pool_rows_ = std::make_unique<IndexCycler>(opts_.latent_pool, request.seed + 17);
    }
  }

  void UnlearningStep(int64_t iteration) {
    auto& g = in_.g;
    auto& d = in_.d;
    const auto long_opts = torch::dtype(torch::kLong).device(device_);
    torch::Tensor rows = forget_rows_.Next(batch_, device_);
    torch::Tensor x_u = in_.forget_images.index_select(0, rows);
    torch::Tensor y_u = in_.forget_labels.index_select(0, rows);
    const int64_t n = x_u.size(0);

    // D: pull the forgotten images' score to ζ; generated images stay fake.
    {
      torch::Tensor fake;
      {
        torch::NoGradGuard no_grad;
        fake =
            g->forward(torch::randn({n, z_dim_}, x_u.options()), y_u, models::NoiseMode::kRandom);
      }
      torch::Tensor logits_u, logits_fake;
      {
        train::AutocastScope autocast(opts_.precision, device_);
        logits_u = d->forward(x_u, y_u).to(torch::kFloat32);
        logits_fake = d->forward(fake, y_u).to(torch::kFloat32);
      }
      torch::Tensor pulled = opts_.zeta_on_logit ? logits_u : torch::sigmoid(logits_u);
      torch::Tensor loss = (pulled - opts_.zeta).pow(2).mean() + train::FakeLoss(logits_fake);
      d_opt_->zero_grad();
      loss.backward();
      d_opt_->step();
    }

    // G: the codes of forgotten content must now synthesise the substitute.
    torch::Tensor w, w_labels, w_rows;
    if (in_.w_u.defined()) {
      w_rows = rows;
      w = in_.w_u.index_select(0, rows);
      w_labels = y_u;
    } else {
      torch::Tensor z = z_pool_.defined() ? z_pool_.index_select(0, pool_rows_->Next(n, device_))
                                          : torch::randn({n, z_dim_}, x_u.options());
      w_labels = torch::full({n}, request_.forget_class, long_opts);
      w = g->Map(z, w_labels);
    }
    Targets t = targets_.For(w.detach(), w_labels, w_rows, iteration);
    if (chase_w_.defined()) {
      torch::Tensor rows_c = chase_rows_->Next(std::min(batch_, chase_w_.size(0)), device_);
      torch::Tensor w_c = chase_w_.index_select(0, rows_c);
      torch::Tensor labels_c = chase_labels_.index_select(0, rows_c);
      Targets t_c = targets_.For(w_c, labels_c, torch::Tensor(), iteration);
      w = torch::cat({w, w_c});
      t.images = torch::cat({t.images, t_c.images});
      t.labels = torch::cat({t.labels, t_c.labels});
      if (t.features.defined()) t.features = torch::cat({t.features, t_c.features});
    }
    FreezeScope frozen(*d);
    torch::Tensor s, logits_s, features_s;
    {
      train::AutocastScope autocast(opts_.precision, device_);
      s = g->Synthesize(w, models::NoiseMode::kRandom);
      logits_s = d->forward(s, t.labels).to(torch::kFloat32);
      if (alpha_perceptual_ > 0)
        features_s = in_.evaluator->FeaturesWithGrad(s).to(torch::kFloat32);
      s = s.to(torch::kFloat32);
    }
    torch::Tensor loss = opts_.adversarial_weight * train::GeneratorLoss(logits_s);
    if (alpha_pixel_ > 0) loss = loss + alpha_pixel_ * (s - t.images).pow(2).mean();
    if (alpha_perceptual_ > 0)
      loss = loss + alpha_perceptual_ * (features_s - t.features).pow(2).mean();
    g_opt_->zero_grad();
    loss.backward();
    g_opt_->step();
  }

  // Codes the generator-side attack found for forgotten images are codes that still draw
  // them: the unlearning phase pulls them to the substitute too, alongside w_u. The newest
  // 4 batches' worth are kept.
  void Chase(const torch::Tensor& codes, const torch::Tensor& labels) {
    if (codes.size(0) == 0) return;
    chase_w_ = chase_w_.defined() ? torch::cat({codes, chase_w_}) : codes;
    chase_labels_ = chase_labels_.defined() ? torch::cat({labels, chase_labels_}) : labels;
    const int64_t keep = std::min<int64_t>(chase_w_.size(0), 4 * batch_);
    chase_w_ = chase_w_.narrow(0, 0, keep);
    chase_labels_ = chase_labels_.narrow(0, 0, keep);
    chase_rows_ = std::make_unique<IndexCycler>(keep, request_.seed + 29 + uint64_t(keep));
  }

  // The share of forgotten items whose G(w_u) (fixed noise) is closer to its substitute
  // x_s than to x_u: the generator's own side of "the code no longer draws the image".
  double CloserToSubstitute(int64_t iteration) {
    torch::NoGradGuard no_grad;
    const int64_t n = in_.w_u.size(0);
    int64_t closer = 0;
    for (int64_t i = 0; i < n; i += 256) {
      const int64_t len = std::min<int64_t>(256, n - i);
      torch::Tensor rows =
          torch::arange(i, i + len, torch::dtype(torch::kLong).device(in_.w_u.device()));
      torch::Tensor w = in_.w_u.narrow(0, i, len);
      Targets t = targets_.For(w, in_.forget_labels.narrow(0, i, len), rows,
                               std::max<int64_t>(0, iteration - 1));
      torch::Tensor now = in_.g->Synthesize(w, models::NoiseMode::kConst);
      closer += CloserToSubstituteCount(now, in_.forget_images.narrow(0, i, len), t.images);
    }
    return n > 0 ? double(closer) / double(n) : 0.0;
  }

  // One ordinary GAN step with `real` as the real batch (few-shot), or the zero-shot step
  // with raw-generator samples and distillation of D0.
  void LearningStep(const RealBatch& real, bool zero_shot) {
    auto& g = in_.g;
    auto& d = in_.d;
    const GanStepOptions& gan = in_.gan;
    const int64_t n = real.images.size(0);
    const bool regularise =
        !zero_shot && gan.r1_gamma > 0 && learning_steps_ % gan.r1_interval == 0;
    torch::Tensor fake, fake_logits, real_in, real_logits, raw_logits;
    {
      train::AutocastScope autocast(opts_.precision, device_);
      torch::Tensor z = torch::randn({n, z_dim_}, real.images.options());
      torch::Tensor w = g->Map(z, real.labels);
      g->UpdateWAvg(w.detach(), gan.w_avg_beta);
      fake = g->Synthesize(w, models::NoiseMode::kRandom);
      fake_logits = d->forward(fake.detach(), real.labels).to(torch::kFloat32);
      real_in = regularise ? real.images.detach().requires_grad_(true) : real.images;
      real_logits = d->forward(real_in, real.labels).to(torch::kFloat32);
      if (zero_shot) {
        torch::NoGradGuard no_grad;
        raw_logits = in_.d0->forward(real.images, real.labels).to(torch::kFloat32);
      }
    }
    torch::Tensor d_loss;
    if (zero_shot) {
      d_loss = torch::nn::functional::softplus(-real_logits).mean() +
               opts_.distill_weight * (real_logits - raw_logits).pow(2).mean() +
               train::FakeLoss(fake_logits);
    } else {
      d_loss = train::DiscriminatorLoss(real_logits, fake_logits);
      if (regularise)
        d_loss = d_loss + train::LazyR1Loss(real_in, real_logits, gan.r1_gamma, gan.r1_interval);
    }
    d_opt_->zero_grad();
    d_loss.backward();
    d_opt_->step();

    {
      FreezeScope frozen(*d);
      torch::Tensor logits;
      {
        train::AutocastScope autocast(opts_.precision, device_);
        logits = d->forward(fake, real.labels).to(torch::kFloat32);
      }
      torch::Tensor g_loss = train::GeneratorLoss(logits);
      g_opt_->zero_grad();
      g_loss.backward();
    }
    g_opt_->step();
    ++learning_steps_;
  }

  CascadeResult Run(DestinationProbe& probe, const ProgressFn& progress,
                    const CancelToken* cancel) {
    CascadeResult r;
    const auto start = Clock::now();
    const bool zero_shot = request_.mode == Mode::kZeroShot;
    const DestinationOptions& dest = request_.destination;
    auto measure = [&](int64_t it) {
      if (progress) {
        Progress p = Report(r, it, start);
        p.phase = Phase::kEvaluating;
        progress(p);
      }
      const auto t0 = Clock::now();
      Measurement m = probe.Measure(in_.g, in_.d, it);
      if (in_.w_u.defined()) m.closer_to_substitute = CloserToSubstitute(it);
      // The attack costs a re-inversion: only when it can decide the generator policy.
      if (dest.policy == DestinationPolicy::kGenerator && request_.kind == RequestKind::kItem &&
          probe.generator_attack_armed() && GeneratorPrerequisitesHold(dest, m)) {
        DestinationProbe::GeneratorAttack attack = probe.AttackGenerator(in_.g);
        m.generator_auc = attack.auc;
        if (opts_.chase_reinverted_codes) Chase(attack.member_codes, attack.member_labels);
      }
      r.seconds_evaluation += Since(t0);
      r.trace.push_back(m);
      r.last = m;
      r.paper = JudgePaper(request_.kind, dest, m);
      r.non_member = JudgeNonMember(request_.kind, dest, m);
      r.generator = JudgeGenerator(request_.kind, dest, m);
      r.reached = Judge(dest.policy, request_.kind, dest, m).reached;
      return m;
    };
    r.initial = measure(0);
    r.reached = false;  // the run always unlearns for at least one evaluation interval
    int64_t it = 0;
    double step_seconds = 0;
    while (true) {
      if (cancel && cancel->cancelled()) throw Cancelled();
      const auto t0 = Clock::now();
      UnlearningStep(it);
      for (int64_t k = 0; k < opts_.learning_steps; ++k)
        LearningStep(source_.Draw(batch_), zero_shot);
      ++it;
      step_seconds += Since(t0);
      r.iterations = it;
      r.seconds_unlearning = step_seconds;
      const bool out_of_iterations = it >= opts_.max_iterations;
      const bool out_of_time = opts_.max_seconds > 0 && Since(start) >= opts_.max_seconds;
      if (it % opts_.eval_every == 0 || out_of_iterations || out_of_time) {
        const auto ts = Clock::now();  // the steps still queued on a GPU are unlearning time
        models::Synchronize(device_);
        step_seconds += Since(ts);
        r.seconds_unlearning = step_seconds;
        measure(it);
        if (r.reached) {
          r.stop_reason = "destination reached";
          break;
        }
      }
      if (out_of_iterations || out_of_time) {
        r.stop_reason = out_of_iterations ? "iteration budget" : "time budget";
        break;
      }
      if (progress) progress(Report(r, it, start));
    }
    if (progress) progress(Report(r, it, start));
    return r;
  }

 private:
  Progress Report(const CascadeResult& r, int64_t it, Clock::time_point start) const {
    Progress p;
    p.phase = Phase::kUnlearning;
    p.iteration = it;
    p.total = opts_.max_iterations;
    if (!r.trace.empty()) {
      p.auc_u = r.last.auc_u;
      p.logan_auc = std::isfinite(r.last.logan_auc) ? r.last.logan_auc : -1;
      p.fd_u = std::isfinite(r.last.fd_u) ? r.last.fd_u : -1;
    }
    p.seconds = Since(start);
    if (it > 0) {
      const double per = p.seconds / double(it);
      p.eta_seconds = per * double(opts_.max_iterations - it);
      if (opts_.max_seconds > 0)
        p.eta_seconds = std::min(p.eta_seconds, std::max(0.0, opts_.max_seconds - p.seconds));
    }
    return p;
  }

  CascadeInputs& in_;
  const UnlearnRequest& request_;
  const CascadeOptions& opts_;
  RetainedSource& source_;
  torch::Device device_;
  int64_t batch_;
  int64_t z_dim_;
  IndexCycler forget_rows_;
  double alpha_pixel_, alpha_perceptual_;  // resolved per request kind (request.h)
  SubstituteTargets targets_;
  std::unique_ptr<torch::optim::Adam> g_opt_, d_opt_;
  torch::Tensor z_pool_;
  std::unique_ptr<IndexCycler> pool_rows_;
  torch::Tensor chase_w_, chase_labels_;  // codes the generator-side attack found
  std::unique_ptr<IndexCycler> chase_rows_;
  int64_t learning_steps_ = 0;
};

}  // namespace

int64_t ForgetBatchSize(const UnlearnRequest& request) {
  const int64_t n = request.forget.size();
  if (request.cascade.batch > 0) return request.cascade.batch;
  return std::max<int64_t>(1, std::min<int64_t>(n, kDefaultForgetBatch));
}

CascadeResult RunCascade(CascadeInputs& in, const UnlearnRequest& request, RetainedSource& source,
                         DestinationProbe& probe, const ProgressFn& progress,
                         const CancelToken* cancel) {
  if (!in.g || !in.d || !in.g0 || !in.d0) throw Error("cascade: a network is missing");
  if (!in.forget_images.defined() || in.forget_images.size(0) == 0)
    throw Error("cascade: no forgotten images");
  if (request.mode == Mode::kZeroShot && source.reads_retained_images())
    throw Error("zero-shot unlearning was handed a source of retained images");
  Cascade cascade(in, request, source);
  return cascade.Run(probe, progress, cancel);
}

}  // namespace lethe::unlearn
