#include "engine/unlearn/schedule.h"

#include "engine/base/error.h"

namespace lethe::unlearn {

train::TrainOptions ScheduleFromManifest(const Json& manifest) {
  if (!manifest.is_object() || !manifest.Has("training") || !manifest.at("training").is_object())
    throw Error("model manifest has no training schedule (\"training\")");
  const Json& t = manifest.at("training");
  for (const char* key : {"iterations", "batch", "seed"})
    if (!t.Has(key)) throw Error(std::string("model manifest's training schedule lacks ") + key);
  train::TrainOptions o;
  o.iterations = t.at("iterations").AsInt();
  o.batch = int(t.at("batch").AsInt());
  o.seed = uint64_t(t.at("seed").AsInt());
  o.g_lr = t.GetDouble("g_lr", o.g_lr);
  o.d_lr = t.GetDouble("d_lr", o.d_lr);
  if (t.Has("betas")) {
    const Json& b = t.at("betas");
    if (!b.is_array() || b.size() != 2) throw Error("training.betas must be [beta1, beta2]");
    o.beta1 = b[0].AsDouble();
    o.beta2 = b[1].AsDouble();
  }
  o.r1_gamma = t.GetDouble("r1_gamma", o.r1_gamma);
  o.r1_interval = int(t.GetInt("r1_interval", o.r1_interval));
  o.ema_kimg = t.GetDouble("ema_kimg", o.ema_kimg);
  o.ema_rampup = t.GetDouble("ema_rampup", o.ema_rampup);
  o.w_avg_beta = t.GetDouble("w_avg_beta", o.w_avg_beta);
  o.class_mean_samples = t.GetInt("class_mean_samples", o.class_mean_samples);
  o.precision = train::ParsePrecision(t.GetString("precision", "fp32"));
  if (o.iterations <= 0 || o.batch <= 0)
    throw Error("model manifest's training schedule has a non-positive iterations or batch");
  return o;
}

}  // namespace lethe::unlearn
