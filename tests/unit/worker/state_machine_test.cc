#include "worker/state_machine.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace lethe::worker {
namespace {

using RS = RequestState;
using JS = JobState;

TEST(RequestStateMachine, EveryAllowedAndForbiddenTransition) {
  const std::set<std::pair<RS, RS>> allowed = {
      {RS::kReceived, RS::kQueued},   {RS::kReceived, RS::kCancelled}, {RS::kQueued, RS::kRunning},
      {RS::kQueued, RS::kCancelled},  {RS::kRunning, RS::kCompleted},  {RS::kRunning, RS::kFailed},
      {RS::kRunning, RS::kCancelled},
  };
  int checked = 0;
  for (RS from : kAllRequestStates) {
    for (RS to : kAllRequestStates) {
      absl::Status s = CheckRequestTransition(from, to);
      bool expect = allowed.count({from, to}) > 0;
      EXPECT_EQ(s.ok(), expect) << RequestStateName(from) << " -> " << RequestStateName(to);
      if (!expect) {
        EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_NE(s.message().find(RequestStateName(from)), absl::string_view::npos);
        EXPECT_NE(s.message().find(RequestStateName(to)), absl::string_view::npos);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 36);
}

TEST(RequestStateMachine, TerminalStatesAreFinal) {
  for (RS s : kAllRequestStates) {
    bool terminal = s == RS::kCompleted || s == RS::kFailed || s == RS::kCancelled;
    EXPECT_EQ(IsTerminal(s), terminal) << RequestStateName(s);
    if (terminal) {
      for (RS to : kAllRequestStates) EXPECT_FALSE(CheckRequestTransition(s, to).ok());
    }
  }
}

TEST(JobStateMachine, EveryAllowedAndForbiddenTransition) {
  const std::set<std::pair<JS, JS>> allowed = {
      {JS::kQueued, JS::kRunning},    {JS::kQueued, JS::kCancelled},  {JS::kRunning, JS::kRunning},
      {JS::kRunning, JS::kQueued},    {JS::kRunning, JS::kSucceeded}, {JS::kRunning, JS::kFailed},
      {JS::kRunning, JS::kCancelled},
  };
  for (JS from : kAllJobStates) {
    for (JS to : kAllJobStates) {
      EXPECT_EQ(CheckJobTransition(from, to).ok(), allowed.count({from, to}) > 0)
          << JobStateName(from) << " -> " << JobStateName(to);
    }
  }
  EXPECT_FALSE(IsTerminal(JS::kQueued));
  EXPECT_FALSE(IsTerminal(JS::kRunning));
  EXPECT_TRUE(IsTerminal(JS::kSucceeded));
  EXPECT_TRUE(IsTerminal(JS::kFailed));
  EXPECT_TRUE(IsTerminal(JS::kCancelled));
}

TEST(PhaseMachine, ForwardOnlyWithSkips) {
  // Order: none < inverting < unlearning < evaluating < publishing.
  for (Phase from : kAllPhases) {
    for (Phase to : kAllPhases) {
      bool expect = (to == Phase::kNone) ? from == Phase::kNone : int(to) >= int(from);
      EXPECT_EQ(CheckPhaseTransition(from, to).ok(), expect) << int(from) << " -> " << int(to);
    }
  }
  EXPECT_TRUE(CheckPhaseTransition(Phase::kNone, Phase::kUnlearning).ok());  // class, sampled
  EXPECT_FALSE(CheckPhaseTransition(Phase::kEvaluating, Phase::kInverting).ok());
  EXPECT_FALSE(CheckPhaseTransition(Phase::kPublishing, Phase::kNone).ok());
}

TEST(StateNames, RoundTripAndMatchTheSchema) {
  for (RS s : kAllRequestStates) {
    auto parsed = ParseRequestState(RequestStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  for (JS s : kAllJobStates) {
    auto parsed = ParseJobState(JobStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  for (Phase p : kAllPhases) {
    auto parsed = ParsePhase(PhaseName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  // The CHECK constraints of migrations/0001_init.sql spell them like this.
  EXPECT_STREQ(RequestStateName(RS::kCancelled), "cancelled");
  EXPECT_STREQ(JobStateName(JS::kSucceeded), "succeeded");
  EXPECT_STREQ(PhaseName(Phase::kInverting), "inverting");
  EXPECT_FALSE(ParseRequestState("done").ok());
  EXPECT_FALSE(ParseJobState("completed").ok());
  EXPECT_FALSE(ParsePhase("training").ok());
}

TEST(JobOutcomes, MapToAllowedStates) {
  const JobOutcome outcomes[] = {JobOutcome::kPublished, JobOutcome::kFailed,
                                 JobOutcome::kCancelled, JobOutcome::kEscalated,
                                 JobOutcome::kReleased};
  for (JobOutcome o : outcomes) {
    EXPECT_TRUE(CheckJobTransition(JS::kRunning, JobStateAfter(o)).ok()) << JobOutcomeName(o);
    for (bool cancel : {false, true}) {
      RS after = RequestStateAfter(o, cancel);
      if (after != RS::kRunning) {
        EXPECT_TRUE(CheckRequestTransition(RS::kRunning, after).ok()) << JobOutcomeName(o);
      }
    }
  }
  EXPECT_EQ(RequestStateAfter(JobOutcome::kPublished, false), RS::kCompleted);
  EXPECT_EQ(RequestStateAfter(JobOutcome::kCancelled, true), RS::kCancelled);
  EXPECT_EQ(RequestStateAfter(JobOutcome::kCancelled, false), RS::kRunning);
  EXPECT_EQ(RequestStateAfter(JobOutcome::kEscalated, false), RS::kRunning);
  // A missed destination never completes a request.
  EXPECT_NE(RequestStateAfter(JobOutcome::kEscalated, false), RS::kCompleted);
  EXPECT_EQ(JobStateAfter(JobOutcome::kEscalated), JS::kFailed);
  EXPECT_EQ(JobStateAfter(JobOutcome::kReleased), JS::kQueued);
}

}  // namespace
}  // namespace lethe::worker
