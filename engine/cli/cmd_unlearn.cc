// Placeholder until the command is implemented; prints a clear error.
#include "engine/base/error.h"
#include "engine/cli/commands.h"

namespace lethe::cli {

int RunUnlearn(int, char**) { throw Error("not implemented in this build"); }

int RunRetrain(int, char**) { throw Error("not implemented in this build"); }

int RunInvert(int, char**) { throw Error("not implemented in this build"); }

}  // namespace lethe::cli
