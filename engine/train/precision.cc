#include "engine/train/precision.h"

#include "engine/base/error.h"

namespace lethe::train {

Precision ParsePrecision(const std::string& name) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  throw Error("unknown precision \"" + name + "\" (expected fp32 or bf16)");
}

const char* PrecisionName(Precision precision) {
  return precision == Precision::kBFloat16 ? "bf16" : "fp32";
}

}  // namespace lethe::train
