// Propagation macros for absl::Status / absl::StatusOr, the error type of every library.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RTO_CONCAT_INNER_(a, b) a##b
#define RTO_CONCAT_(a, b) RTO_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RTO_RETURN_IF_ERROR(expr)                               \
  do {                                                          \
    if (absl::Status rto_status_ = (expr); !rto_status_.ok()) { \
      return rto_status_;                                       \
    }                                                           \
  } while (0)

// `RTO_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from an absl::StatusOr or returns its error.
// It expands to several statements: never use it as the body of an unbraced if/for.
#define RTO_ASSIGN_OR_RETURN(lhs, expr) RTO_ASSIGN_OR_RETURN_IMPL_(RTO_CONCAT_(rto_statusor_, __LINE__), lhs, expr)
#define RTO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()
