// lethe-engine: the unlearning engine as an offline CLI. No server, no database.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "engine/base/error.h"
#include "engine/cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

constexpr Command kCommands[] = {
    {"train", lethe::cli::RunTrain, "train a base conditional GAN on a data set"},
    {"sample", lethe::cli::RunSample, "write a PNG grid of a model (one row per class)"},
    {"export-model", lethe::cli::RunExportModel,
     "copy a checkpoint without its resumable training state"},
    {"train-evaluator", lethe::cli::RunTrainEvaluator,
     "train the domain classifier used for FD, accuracy and feature distance"},
    {"evaluate", lethe::cli::RunEvaluate, "print a model's metrics as one JSON object"},
    {"invert", lethe::cli::RunInvert, "project images into a model's latent space W"},
    {"unlearn", lethe::cli::RunUnlearn, "cascaded unlearning of items or a class"},
    {"retrain", lethe::cli::RunRetrain,
     "exact unlearning baseline: retrain without the forget set"},
    {"manifest", lethe::cli::RunManifest,
     "write a data set's item manifest (ids, content hashes, labels) for registration"},
    {"export-items", lethe::cli::RunExportItems, "write training items as PNG files"},
};

void Usage(FILE* out) {
  std::fprintf(out, "usage: lethe-engine COMMAND [flags]   (COMMAND --help for its flags)\n\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-16s %s\n", c.name, c.help);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      for (char& ch : msg)
        if (ch == '\n') ch = ' ';
      std::fprintf(stderr, "lethe-engine %s: error: %s\n", c.name, msg.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "lethe-engine: unknown command \"%s\"\n", argv[1]);
  Usage(stderr);
  return 2;
}
