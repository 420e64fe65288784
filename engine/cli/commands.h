// Each lethe-engine subcommand is one function taking the arguments after its name.
// It returns the process exit status; it may throw lethe::Error, which main() prints as
// one line on stderr with exit status 1.
#pragma once

namespace lethe::cli {

int RunTrain(int argc, char** argv);           // cmd_train.cc
int RunSample(int argc, char** argv);          // cmd_train.cc
int RunExportModel(int argc, char** argv);     // cmd_train.cc
int RunTrainEvaluator(int argc, char** argv);  // cmd_evaluate.cc
int RunEvaluate(int argc, char** argv);        // cmd_evaluate.cc
int RunUnlearn(int argc, char** argv);         // cmd_unlearn.cc
int RunRetrain(int argc, char** argv);         // cmd_unlearn.cc
int RunInvert(int argc, char** argv);          // cmd_unlearn.cc
int RunManifest(int argc, char** argv);        // cmd_data.cc
int RunExportItems(int argc, char** argv);     // cmd_data.cc

}  // namespace lethe::cli
