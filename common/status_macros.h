// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr: Debian's Abseil
// (2022) ships none, and writing the early return by hand at every call hides the logic.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LETHE_STATUS_CONCAT_INNER(a, b) a##b
#define LETHE_STATUS_CONCAT(a, b) LETHE_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status lethe_status_macro_status = (expr); \
    if (!lethe_status_macro_status.ok()) {             \
      return lethe_status_macro_status;                \
    }                                                  \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error returns
// its status, otherwise moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, expr) \
  LETHE_ASSIGN_OR_RETURN_IMPL(LETHE_STATUS_CONCAT(lethe_statusor_, __LINE__), lhs, expr)

#define LETHE_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) {                                  \
    return std::move(statusor).status();                 \
  }                                                      \
  lhs = std::move(statusor).value()
