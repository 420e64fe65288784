// End-to-end cost of one forget request through lethe-worker, against the engine's own
// time for the same work, and the worker's peak memory.
//
//   worker_e2e_bench [--preset small] [--items 64] [--train-iterations 60] [--threads 2]
//                    [--device cpu] [--assets DIR] [--inversion-steps 0] [--eval-every 0]
//                    [--threshold 0.8] [--budget 2000]
//
// Prepares (once, cached under --assets) a GAN of the preset trained briefly on the real
// Fashion-MNIST and a domain classifier, registers the model in a fresh database, starts a
// lethe-worker process, submits an item request for --items random training items (with
// NOTIFY, as lethe-server does) and reports: enqueue -> claim, the phases the report
// records, publish, end to end (received_at -> completed_at), the service overhead (end
// to end minus the engine's unlearning call and the before/after evaluation), and the
// worker's peak RSS (VmHWM). Needs LETHE_TEST_DATABASE_URL.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/model_store.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/data/dataset.h"
#include "engine/metrics/evaluator.h"
#include "engine/models/checkpoint.h"
#include "engine/models/config.h"
#include "engine/models/device.h"
#include "engine/train/trainer.h"
#include "tests/integration/worker_test_support.h"

namespace lethe::worker {
namespace {

std::string Arg(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return argv[i + 1];
  }
  return def;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Status(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return "?";
}

int Run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string preset = Arg(argc, argv, "preset", "small");
  const int items = std::atoi(Arg(argc, argv, "items", "64").c_str());
  const int train_iterations = std::atoi(Arg(argc, argv, "train-iterations", "60").c_str());
  const std::string threads = Arg(argc, argv, "threads", "2");
  const std::string device = Arg(argc, argv, "device", "cpu");
  const std::string assets =
      Arg(argc, argv, "assets", "/tmp/lethe-worker-e2e-" + preset + "-" + device);
  const std::string threshold = Arg(argc, argv, "threshold", "0.8");
  const std::string budget = Arg(argc, argv, "budget", "2000");

  // 1. Assets (cached).
  const std::string evaluator_dir = JoinPath(assets, "evaluator");
  const std::string ckpt_dir = JoinPath(assets, "model");
  models::ConfigureThreads(std::atoi(threads.c_str()));
  if (!PathExists(JoinPath(assets, "ready"))) {
    MakeDirs(assets);
    torch::Device dev = models::ParseDevice(device);
    data::LoadOptions lo;
    lo.resolution = 32;
    double t0 = Now();
    data::Dataset train = data::LoadDataset("fashion-mnist", data::Split::kTrain, lo);
    data::Dataset test = data::LoadDataset("fashion-mnist", data::Split::kTest, lo);
    std::printf("loaded Fashion-MNIST in %.1f s\n", Now() - t0);
    if (!PathExists(JoinPath(evaluator_dir, "manifest.json"))) {
      metrics::EvaluatorOptions eo;
      eo.iterations = 300;
      eo.batch = 128;
      eo.device = dev;
      t0 = Now();
      metrics::TrainEvaluator(train, test, eo).Save(evaluator_dir);
      std::printf("trained the evaluator in %.1f s\n", Now() - t0);
    }
    models::ModelConfig cfg = models::ModelConfig::Preset(preset, 32, 1, 10);
    train::TrainOptions to;
    to.iterations = train_iterations;
    to.batch = 32;
    to.device = dev;
    to.class_mean_samples = 512;
    to.log_every = 1000;
    to.out_dir = ckpt_dir;
    t0 = Now();
    train::TrainGan(train, cfg, to);
    std::printf("trained a %s GAN for %d iterations in %.1f s\n", preset.c_str(), train_iterations,
                Now() - t0);
    WriteFileAtomic(JoinPath(assets, "ready"), "ok\n");
  }
  Json manifest = Json::Parse(ReadFile(JoinPath(ckpt_dir, models::kManifestFile)));
  const std::string digest = models::CheckpointDigest(ckpt_dir);

  // 2. Database and model store.
  const std::string db = "lethe_bench_e2e_" + std::to_string(getpid());
  const std::string url = testing::CreateTestDatabase(db);
  if (url.empty()) return 1;
  const std::string store_dir = JoinPath(assets, "store-" + std::to_string(getpid()));
  auto store = DirectoryModelStore::Create(store_dir);
  std::map<std::string, std::string> files;
  for (const auto& [name, sha] : manifest.at("files").items()) files[name] = sha.AsString();
  auto key = (*store)->PutVersion("bench", digest, ckpt_dir, files);
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", std::string(key.status().message()).c_str());
    return 1;
  }
  testing::Fixture fx(url);
  fx.AddModel("bench", digest, *key, 32, 10, manifest.at("dataset").GetString("name", ""),
              manifest.at("dataset").GetString("fingerprint", ""));

  // 3. The worker.
  const std::string log_path = JoinPath(assets, "worker-" + std::to_string(getpid()) + ".log");
  std::vector<std::string> args = {
      LETHE_WORKER_BINARY,          "--database-url=" + url,
      "--model-store=" + store_dir, "--evaluator=" + evaluator_dir,
      "--data=fashion-mnist",       "--worker-id=bench",
      "--device=" + device,         "--threads=" + threads,
      "--metrics-listen=",          "--purge-grace=24h",
  };
  for (const char* opt : {"inversion-steps", "eval-every", "eval-samples", "metric-samples"}) {
    std::string v = Arg(argc, argv, opt, "");
    if (!v.empty()) args.push_back("--" + std::string(opt) + "=" + v);
  }
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv2;
    for (auto& a : args) argv2.push_back(a.data());
    argv2.push_back(nullptr);
    execv(argv2[0], argv2.data());
    _exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    if (PathExists(log_path) && ReadFile(log_path).find("worker started") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("worker started, VmRSS idle:%s\n", Status(pid, "VmRSS").c_str());

  // 4. One item request of `items` random training items.
  data::LoadOptions lo;
  lo.resolution = 32;
  data::Dataset train = data::LoadDataset("fashion-mnist", data::Split::kTrain, lo);
  std::mt19937 rng(42);
  std::vector<testing::ItemSpec> specs;
  std::vector<int64_t> idx(size_t(train.size()));
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = int64_t(i);
  std::shuffle(idx.begin(), idx.end(), rng);
  for (int i = 0; i < items; ++i) {
    specs.push_back({train.ids[size_t(idx[size_t(i)])], train.hashes[size_t(idx[size_t(i)])], {}});
  }
  train = data::Dataset{};
  std::string params = "{\"destination\": \"forget_auc\", \"destination_threshold\": " + threshold +
                       ", \"iteration_budget\": " + budget + "}";
  std::string id = fx.AddItemsRequest("bench", specs, params);
  std::string state;
  double t0 = Now();
  while (Now() - t0 < 7200) {
    state = fx.Scalar("SELECT state FROM forget_requests WHERE id = '" + id + "'");
    if (state == "completed" || state == "failed" || state == "cancelled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string peak = Status(pid, "VmHWM");
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);

  // 5. Report.
  auto num = [&](const std::string& sql) {
    std::string v = fx.Scalar(sql);
    return v.empty() ? -1.0 : std::atof(v.c_str());
  };
  const std::string where = " FROM forget_requests WHERE id = '" + id + "'";
  double e2e = num("SELECT extract(epoch FROM completed_at - received_at)" + where);
  double claim = num(
      "SELECT extract(epoch FROM min(j.started_at) - min(f.received_at)) FROM forget_requests f "
      "JOIN job_requests jr ON jr.request_id = f.id JOIN jobs j ON j.id = jr.job_id WHERE f.id = "
      "'" +
      id + "'");
  Json report = Json::Parse(fx.Scalar("SELECT coalesce(result->'report', '{}')::text" + where));
  auto sec = [&](const char* group, const char* key) {
    return report.Has(group) && report.at(group).is_object() ? report.at(group).GetDouble(key, -1)
                                                             : -1.0;
  };
  double engine = sec("seconds", "total");
  double evaluating = sec("phase_seconds", "evaluating");
  std::printf("request %s: %s\n", id.c_str(), state.c_str());
  std::printf("  items=%d preset=%s device=%s threads=%s iterations=%lld reached=%s\n", items,
              preset.c_str(), device.c_str(), threads.c_str(),
              (long long)report.GetInt("iterations", -1),
              report.GetBool("destination_reached", false) ? "yes" : "no");
  std::printf("  enqueue->claim      %8.3f s\n", claim);
  std::printf("  loading (model+data)%8.3f s\n", sec("phase_seconds", "loading"));
  std::printf("  inversion           %8.3f s\n", sec("seconds", "inversion"));
  std::printf("  cascade             %8.3f s (checks %.3f s)\n", sec("seconds", "unlearning"),
              sec("seconds", "evaluation"));
  std::printf("  engine Unlearn()    %8.3f s\n", engine);
  std::printf("  before/after eval   %8.3f s\n", evaluating);
  std::printf("  end to end          %8.3f s\n", e2e);
  std::printf("  service overhead    %8.3f s (end to end - Unlearn() - evaluation)\n",
              e2e - engine - evaluating);
  std::printf("  worker peak RSS    %s\n", peak.c_str());
  testing::DropTestDatabase(db);
  return state == "completed" ? 0 : 1;
}

}  // namespace
}  // namespace lethe::worker

int main(int argc, char** argv) { return lethe::worker::Run(argc, argv); }
