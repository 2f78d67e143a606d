#pragma once

// Status propagation macros. Abseil 20220623 ships none, so the project defines its own once.
//
//   L4D2_RETURN_IF_ERROR(WriteFileAtomically(path, text));
//   L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define L4D2_STATUS_CONCAT_INNER(a, b) a##b
#define L4D2_STATUS_CONCAT(a, b) L4D2_STATUS_CONCAT_INNER(a, b)

#define L4D2_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status l4d2_status_ = (expr);        \
    if (!l4d2_status_.ok()) return l4d2_status_; \
  } while (0)

#define L4D2_ASSIGN_OR_RETURN(lhs, expr) \
  L4D2_ASSIGN_OR_RETURN_IMPL(L4D2_STATUS_CONCAT(l4d2_statusor_, __LINE__), lhs, expr)

#define L4D2_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr)    \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)
