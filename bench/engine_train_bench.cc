// Time per G+D training iteration (the unit of both base training and the retraining
// baseline) and the modulated-convolution variants, on synthetic data so that only
// compute is measured. Peak RSS is reported as a counter (getrusage).
//
//   engine_train_bench --benchmark_format=json
//   engine_train_bench --benchmark_filter='TrainStep/small'
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <string>

#include "engine/models/config.h"
#include "engine/models/device.h"
#include "engine/models/layers.h"
#include "engine/train/trainer.h"

namespace {

using lethe::models::ModelConfig;

double PeakRssMb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Args: batch, threads.
void TrainStep(benchmark::State& state, const std::string& preset,
               lethe::train::Precision precision) {
  const int batch = int(state.range(0));
  const int threads = int(state.range(1));
  lethe::models::ConfigureThreads(threads);
  ModelConfig config = ModelConfig::Preset(preset, 32, 1, 10);
  lethe::train::TrainOptions options;
  options.batch = batch;
  options.seed = 1;
  options.precision = precision;
  lethe::train::Trainer trainer(config, options);
  torch::Tensor real = torch::rand({batch, 1, 32, 32}) * 2 - 1;
  torch::Tensor labels = torch::randint(10, {batch}, torch::kInt64);
  // Warm-up: first steps allocate buffers and build oneDNN primitives; one of them
  // carries the R1 pass, which later runs every r1_interval steps (included below).
  for (int i = 0; i < 2; ++i) trainer.Step(real, labels);
  for (auto _ : state) trainer.Step(real, labels);
  state.counters["batch"] = batch;
  state.counters["threads"] = threads;
  state.counters["images_per_s"] =
      benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["peak_rss_mb"] = PeakRssMb();
}

void RegisterTrainStep(const std::string& preset, double min_time,
                       lethe::train::Precision precision = lethe::train::Precision::kFloat32) {
  const bool bf16 = precision == lethe::train::Precision::kBFloat16;
  auto* b = benchmark::RegisterBenchmark(
      ((bf16 ? "TrainStepBf16/" : "TrainStep/") + preset).c_str(),
      [preset, precision](benchmark::State& s) { TrainStep(s, preset, precision); });
  b->ArgNames({"batch", "threads"})->Args({32, 1})->Args({32, 2})->Args({64, 1})->Args({64, 2});
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(min_time);
}

// Forward + backward of one modulated 3x3 conv at a `small` preset shape.
// Args: fused (0/1), batch, channels, resolution.
void BM_ModulatedConv(benchmark::State& state) {
  const bool fused = state.range(0) != 0;
  const int64_t n = state.range(1), c = state.range(2), r = state.range(3);
  lethe::models::ConfigureThreads(2);
  torch::Tensor x = torch::randn({n, c, r, r}, torch::requires_grad());
  torch::Tensor weight = torch::randn({c, c, 3, 3}, torch::requires_grad());
  torch::Tensor styles = torch::randn({n, c}, torch::requires_grad());
  for (auto _ : state) {
    torch::Tensor y = lethe::models::ModulatedConv2d(x, weight, styles, true, fused);
    y.sum().backward();
  }
  state.counters["fused"] = fused;
}
BENCHMARK(BM_ModulatedConv)
    ->ArgNames({"fused", "batch", "channels", "res"})
    ->Args({0, 32, 64, 16})
    ->Args({1, 32, 64, 16})
    ->Args({0, 32, 32, 32})
    ->Args({1, 32, 32, 32})
    ->Args({0, 32, 128, 8})
    ->Args({1, 32, 128, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A float32 matrix product on one thread: what the BLAS library (reference vs OpenBLAS,
// bench/blas_compare.sh) changes directly. Args: n (n x n times n x n).
void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  lethe::models::ConfigureThreads(1);
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(torch::mm(a, b).data_ptr<float>());
  // GFLOP per product, divided by the time per product: GFLOP/s.
  state.counters["gflops"] = benchmark::Counter(2e-9 * double(n) * double(n) * double(n),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Matmul)->ArgName("n")->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  RegisterTrainStep("tiny", 0.5);
  RegisterTrainStep("small", 2.0);
  RegisterTrainStep("small", 2.0, lethe::train::Precision::kBFloat16);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
