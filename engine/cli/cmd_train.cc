// Placeholder until the command is implemented; prints a clear error.
#include "engine/base/error.h"
#include "engine/cli/commands.h"

namespace lethe::cli {

int RunTrain(int, char**) { throw Error("not implemented in this build"); }

int RunSample(int, char**) { throw Error("not implemented in this build"); }

}  // namespace lethe::cli
