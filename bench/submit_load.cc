// Load generator for lethe-server: N concurrent gRPC callers submit durable forget
// requests on loopback for a bounded time and count, then print one JSON object with
// throughput and latency percentiles. With --register-fake-model it first registers a
// model with a synthetic training manifest (no LibTorch, no real weights) so it can run
// against an empty server.
//   submit_load --target 127.0.0.1:7443 --token T --model M [--concurrency 32]
//               [--duration-s 10] [--max-requests 100000] [--items-per-request 1]
//               [--register-fake-model N --admin-token T --work-dir DIR]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/flag_set.h"
#include "common/validation.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "lethe/v1/models.grpc.pb.h"
#include "lethe/v1/unlearning.grpc.pb.h"

namespace lethe {
namespace {

namespace pb = ::lethe::v1;

struct Options {
  std::string target = "127.0.0.1:7443";
  std::string token;
  std::string admin_token;
  std::string model = "bench";
  int64_t concurrency = 32;
  int64_t channels = 4;
  double duration_s = 10;
  double warmup_s = 1;
  int64_t max_requests = 1000000;
  int64_t items_per_request = 1;
  int64_t register_fake_model = 0;  // items; 0 = the model exists
  std::string work_dir = "/tmp";
};

absl::Status RegisterFakeModel(const Options& o, pb::Models::Stub& models) {
  std::string dir = JoinPath(o.work_dir, "submit-load-model");
  MakeDirs(dir);
  std::string weights = "synthetic weights for the submit benchmark";
  WriteFileAtomic(JoinPath(dir, "generator.pt"), weights);
  Json manifest = Json::Object();
  manifest["format_version"] = 1;
  Json config = Json::Object();
  config["num_classes"] = 10;
  config["resolution"] = 32;
  config["img_channels"] = 1;
  config["preset"] = "bench";
  manifest["config"] = config;
  Json files = Json::Object();
  files["generator.pt"] = Sha256Hex(weights);
  manifest["files"] = files;
  WriteFileAtomic(JoinPath(dir, "manifest.json"), manifest.Dump(2));
  std::string tsv;
  for (int64_t i = 0; i < o.register_fake_model; ++i) {
    absl::StrAppend(&tsv, "train/", i, "\t", Sha256Hex(absl::StrCat("item ", i)), "\t", i % 10,
                    "\ttrain\n");
  }
  WriteFileAtomic(JoinPath(dir, "items.tsv"), tsv);
  pb::RegisterModelRequest req;
  req.set_name(o.model);
  req.set_checkpoint_dir(dir);
  req.set_dataset_items_file(JoinPath(dir, "items.tsv"));
  req.set_item_width(28);
  req.set_item_height(28);
  req.set_item_channels(1);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + o.admin_token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  pb::Model m;
  grpc::Status st = models.RegisterModel(&ctx, req, &m);
  if (!st.ok() && st.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    return absl::UnavailableError("RegisterModel: " + st.error_message());
  }
  return absl::OkStatus();
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = size_t(p * double(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int Run(const Options& o) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int64_t i = 0; i < std::max<int64_t>(1, o.channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("lethe.bench.channel", int(i));  // distinct channels, distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args));
  }
  if (o.register_fake_model > 0) {
    auto models = pb::Models::NewStub(channels[0]);
    absl::Status s = RegisterFakeModel(o, *models);
    if (!s.ok()) {
      std::fprintf(stderr, "submit_load: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  int64_t item_space = o.register_fake_model > 0 ? o.register_fake_model : 60000;
  std::atomic<int64_t> issued{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::map<std::string, int64_t> errors;
  auto start = std::chrono::steady_clock::now();
  auto measure_from = start + std::chrono::duration<double>(o.warmup_s);
  auto stop = measure_from + std::chrono::duration<double>(o.duration_s);
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      auto stub = pb::Unlearning::NewStub(channels[size_t(t) % channels.size()]);
      std::mt19937_64 rng(uint64_t(t) * 7919 + 17);
      std::vector<double> mine;
      std::map<std::string, int64_t> my_errors;
      while (std::chrono::steady_clock::now() < stop) {
        if (issued.fetch_add(1) >= o.max_requests) break;
        pb::SubmitForgetRequestRequest req;
        req.set_request_id(NewUuid());
        req.set_model(o.model);
        int64_t base = int64_t(rng() % uint64_t(item_space));
        for (int64_t k = 0; k < o.items_per_request; ++k) {
          req.mutable_items()->add_item_ids(absl::StrCat("train/", (base + k * 7919) % item_space));
        }
        req.set_legal_ground(pb::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN);
        req.set_subject_reference(absl::StrCat("bench-subject-", t));
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", "Bearer " + o.token);
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        pb::ForgetRequest resp;
        auto t0 = std::chrono::steady_clock::now();
        grpc::Status st = stub->SubmitForgetRequest(&ctx, req, &resp);
        auto t1 = std::chrono::steady_clock::now();
        if (t0 < measure_from) continue;  // warm-up
        if (st.ok()) {
          mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          my_errors[absl::StrCat(int(st.error_code()), ": ", st.error_message().substr(0, 80))]++;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (const auto& [k, v] : my_errors) errors[k] += v;
    });
  }
  for (auto& th : threads) th.join();
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - measure_from).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  double sum = 0;
  for (double l : latencies_ms) sum += l;
  Json out = Json::Object();
  out["target"] = o.target;
  out["concurrency"] = o.concurrency;
  out["items_per_request"] = o.items_per_request;
  out["duration_s"] = elapsed;
  out["ok"] = int64_t(latencies_ms.size());
  int64_t failed = 0;
  Json err = Json::Object();
  for (const auto& [k, v] : errors) {
    err[k] = v;
    failed += v;
  }
  out["failed"] = failed;
  out["errors"] = err;
  out["requests_per_s"] = elapsed > 0 ? double(latencies_ms.size()) / elapsed : 0.0;
  Json lat = Json::Object();
  lat["p50"] = Percentile(latencies_ms, 0.50);
  lat["p90"] = Percentile(latencies_ms, 0.90);
  lat["p99"] = Percentile(latencies_ms, 0.99);
  lat["max"] = latencies_ms.empty() ? 0.0 : latencies_ms.back();
  lat["mean"] = latencies_ms.empty() ? 0.0 : sum / double(latencies_ms.size());
  out["latency_ms"] = lat;
  std::printf("%s\n", out.Dump(2).c_str());
  return failed == 0 ? 0 : 3;
}

}  // namespace
}  // namespace lethe

int main(int argc, char** argv) {
  lethe::Options o;
  lethe::FlagSet flags(
      "usage: submit_load --target HOST:PORT --token TOKEN --model NAME [flags]\n"
      "Concurrent durable SubmitForgetRequest calls; prints JSON (requests/s, latency).");
  flags.AddString("target", "", &o.target, "server address");
  flags.AddString("token", "LETHE_TOKEN", &o.token, "bearer token of a dpo/service role");
  flags.AddString("admin-token", "", &o.admin_token, "token for --register-fake-model");
  flags.AddString("model", "", &o.model, "model name");
  flags.AddInt("concurrency", "", &o.concurrency, "concurrent callers");
  flags.AddInt("channels", "", &o.channels, "gRPC channels (connections) shared by the callers");
  flags.AddDouble("duration-s", "", &o.duration_s, "measured seconds");
  flags.AddDouble("warmup-s", "", &o.warmup_s, "unmeasured seconds before");
  flags.AddInt("max-requests", "", &o.max_requests, "stop after this many requests");
  flags.AddInt("items-per-request", "", &o.items_per_request, "item ids per request");
  flags.AddInt("register-fake-model", "", &o.register_fake_model,
               "register --model with this many synthetic items first (0 = it exists)");
  flags.AddString("work-dir", "", &o.work_dir, "where --register-fake-model writes files");
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::Status s = flags.Parse(args, nullptr);
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  if (!s.ok() || o.token.empty() || o.concurrency < 1 || o.items_per_request < 1) {
    std::fprintf(stderr, "submit_load: %s\n",
                 s.ok() ? "--token, --concurrency >= 1, --items-per-request >= 1 are required"
                        : std::string(s.message()).c_str());
    return 2;
  }
  return lethe::Run(o);
}
