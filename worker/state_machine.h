// The life cycle of forget requests and jobs, in one place. Every state change the worker
// writes to PostgreSQL is first checked here, and the SQL that performs it is conditioned
// on the "from" state (`... WHERE state = $from`), so a row that moved meanwhile (a
// cancellation, another worker) is never overwritten.
//
//   request: received -> queued -> running -> completed | failed | cancelled
//            (received/queued may also go straight to cancelled)
//   phase of a running request: inverting -> unlearning -> evaluating -> publishing,
//            forward only (phases may be skipped); a new attempt starts again at none
//   job:     queued -> running -> succeeded | failed | cancelled
//            running -> running is a takeover (attempt + 1) after the lease expired;
//            running -> queued is a release (graceful shutdown), the next claim is a new
//            attempt; queued -> cancelled when every request was cancelled first.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lethe::worker {

enum class RequestState { kReceived, kQueued, kRunning, kCompleted, kFailed, kCancelled };
enum class Phase { kNone, kInverting, kUnlearning, kEvaluating, kPublishing };
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

inline constexpr RequestState kAllRequestStates[] = {
    RequestState::kReceived,  RequestState::kQueued, RequestState::kRunning,
    RequestState::kCompleted, RequestState::kFailed, RequestState::kCancelled};
inline constexpr Phase kAllPhases[] = {Phase::kNone, Phase::kInverting, Phase::kUnlearning,
                                       Phase::kEvaluating, Phase::kPublishing};
inline constexpr JobState kAllJobStates[] = {JobState::kQueued, JobState::kRunning,
                                             JobState::kSucceeded, JobState::kFailed,
                                             JobState::kCancelled};

// Names as stored in the database ("queued", "inverting", "succeeded"...). Phase::kNone
// is "" (SQL NULL).
const char* RequestStateName(RequestState state);
const char* PhaseName(Phase phase);
const char* JobStateName(JobState state);
absl::StatusOr<RequestState> ParseRequestState(std::string_view name);
absl::StatusOr<Phase> ParsePhase(std::string_view name);
absl::StatusOr<JobState> ParseJobState(std::string_view name);

bool IsTerminal(RequestState state);
bool IsTerminal(JobState state);

// OK when the transition is allowed; FAILED_PRECONDITION naming both states otherwise.
absl::Status CheckRequestTransition(RequestState from, RequestState to);
absl::Status CheckJobTransition(JobState from, JobState to);
// Within a running request: staying in a phase (progress) or moving forward.
absl::Status CheckPhaseTransition(Phase from, Phase to);

// How a job ended, and what that means for its requests.
enum class JobOutcome {
  kPublished,  // succeeded: requests completed
  kFailed,     // failed: requests failed
  kCancelled,  // cancelled: the cancelled requests are cancelled (see below)
  kEscalated,  // failed: requests stay running, handed to a retraining job
  kReleased,   // queued again (graceful shutdown): requests stay running
};
const char* JobOutcomeName(JobOutcome outcome);
JobState JobStateAfter(JobOutcome outcome);
// The state of a request that belonged to a job with this outcome. For kCancelled, a
// request whose own cancellation was asked for is cancelled; the others stay running and
// move to a follow-up job (`cancel_requested` says which).
RequestState RequestStateAfter(JobOutcome outcome, bool cancel_requested);

}  // namespace lethe::worker
