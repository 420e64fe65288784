#include "worker/state_machine.h"

#include "absl/strings/str_cat.h"

namespace lethe::worker {

const char* RequestStateName(RequestState state) {
  switch (state) {
    case RequestState::kReceived:
      return "received";
    case RequestState::kQueued:
      return "queued";
    case RequestState::kRunning:
      return "running";
    case RequestState::kCompleted:
      return "completed";
    case RequestState::kFailed:
      return "failed";
    case RequestState::kCancelled:
      return "cancelled";
  }
  return "?";
}

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kNone:
      return "";
    case Phase::kInverting:
      return "inverting";
    case Phase::kUnlearning:
      return "unlearning";
    case Phase::kEvaluating:
      return "evaluating";
    case Phase::kPublishing:
      return "publishing";
  }
  return "?";
}

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "?";
}

absl::StatusOr<RequestState> ParseRequestState(std::string_view name) {
  for (RequestState s : kAllRequestStates) {
    if (name == RequestStateName(s)) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown request state \"", std::string(name), "\""));
}

absl::StatusOr<Phase> ParsePhase(std::string_view name) {
  for (Phase p : kAllPhases) {
    if (name == PhaseName(p)) return p;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown phase \"", std::string(name), "\""));
}

absl::StatusOr<JobState> ParseJobState(std::string_view name) {
  for (JobState s : kAllJobStates) {
    if (name == JobStateName(s)) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown job state \"", std::string(name), "\""));
}

bool IsTerminal(RequestState state) {
  return state == RequestState::kCompleted || state == RequestState::kFailed ||
         state == RequestState::kCancelled;
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

absl::Status CheckRequestTransition(RequestState from, RequestState to) {
  using S = RequestState;
  bool ok = false;
  switch (from) {
    case S::kReceived:
      ok = to == S::kQueued || to == S::kCancelled;
      break;
    case S::kQueued:
      ok = to == S::kRunning || to == S::kCancelled;
      break;
    case S::kRunning:
      ok = to == S::kCompleted || to == S::kFailed || to == S::kCancelled;
      break;
    case S::kCompleted:
    case S::kFailed:
    case S::kCancelled:
      ok = false;
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "request state cannot move from ", RequestStateName(from), " to ", RequestStateName(to)));
}

absl::Status CheckJobTransition(JobState from, JobState to) {
  using S = JobState;
  bool ok = false;
  switch (from) {
    case S::kQueued:
      ok = to == S::kRunning || to == S::kCancelled;
      break;
    case S::kRunning:
      ok = to == S::kRunning || to == S::kQueued || to == S::kSucceeded || to == S::kFailed ||
           to == S::kCancelled;
      break;
    case S::kSucceeded:
    case S::kFailed:
    case S::kCancelled:
      ok = false;
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("job state cannot move from ", JobStateName(from), " to ", JobStateName(to)));
}

absl::Status CheckPhaseTransition(Phase from, Phase to) {
  if (int(to) >= int(from) && to != Phase::kNone) return absl::OkStatus();
  if (from == Phase::kNone && to == Phase::kNone) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("phase cannot move from ", from == Phase::kNone ? "none" : PhaseName(from),
                   " to ", to == Phase::kNone ? "none" : PhaseName(to)));
}

const char* JobOutcomeName(JobOutcome outcome) {
  switch (outcome) {
    case JobOutcome::kPublished:
      return "published";
    case JobOutcome::kFailed:
      return "failed";
    case JobOutcome::kCancelled:
      return "cancelled";
    case JobOutcome::kEscalated:
      return "escalated";
    case JobOutcome::kReleased:
      return "released";
  }
  return "?";
}

JobState JobStateAfter(JobOutcome outcome) {
  switch (outcome) {
    case JobOutcome::kPublished:
      return JobState::kSucceeded;
    case JobOutcome::kFailed:
    case JobOutcome::kEscalated:
      return JobState::kFailed;
    case JobOutcome::kCancelled:
      return JobState::kCancelled;
    case JobOutcome::kReleased:
      return JobState::kQueued;
  }
  return JobState::kFailed;
}

RequestState RequestStateAfter(JobOutcome outcome, bool cancel_requested) {
  switch (outcome) {
    case JobOutcome::kPublished:
      return RequestState::kCompleted;
    case JobOutcome::kFailed:
      return RequestState::kFailed;
    case JobOutcome::kCancelled:
      return cancel_requested ? RequestState::kCancelled : RequestState::kRunning;
    case JobOutcome::kEscalated:
    case JobOutcome::kReleased:
      return RequestState::kRunning;
  }
  return RequestState::kFailed;
}

}  // namespace lethe::worker
