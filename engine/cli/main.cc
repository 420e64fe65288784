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
  std::fputs(
      "\nData sets (--data SPEC; default: the data set recorded in --model's manifest, else\n"
      "the installed Fashion-MNIST):\n"
      "  fashion-mnist      /usr/share/datasets/fashion-mnist (Debian's package)\n"
      "  DIR with IDX files train-images-idx3-ubyte[.gz] + labels (t10k-* = test split)\n"
      "  DIR with CIFAR-10  data_batch_*.bin (test_batch.bin = test split)\n"
      "  DIR of PNG folders one sub-folder per class (labels: folder names in order, by\n"
      "                     number when every name is a number: 2 before 10); DIR/train and\n"
      "                     DIR/test give a test split. Ids: <class>/<file> (train/<class>/\n"
      "                     <file> with splits). Smaller images are padded, larger ones\n"
      "                     resized; all greyscale or all colour (a mix is refused).\n"
      "docs/dataset-manifest.md has the details.\n",
      out);
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
