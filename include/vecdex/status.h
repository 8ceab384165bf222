// Status and Result<T>: how every fallible public function in vecdex reports failure.
//
// A Status is either OK or carries a code and a message that says what failed and where
// ("base.fvecs: row 12 has dimension 64, expected 128"). Result<T> holds a value or a
// non-OK Status. Both are cheap to move and [[nodiscard]]; neither throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vecdex {

// Persisted and mapped to HTTP/Python/CLI codes: values are never renumbered.
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument = 1,
  kNotFound = 2,
  kAlreadyExists = 3,
  kFailedPrecondition = 4,
  kCorruption = 5,
  kIOError = 6,
  kResourceExhausted = 7,
  kUnavailable = 8,
  kInternal = 9,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) {
    return {StatusCode::kResourceExhausted, std::move(msg)};
  }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>", for adding where an error happened.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Holds a T or a non-OK Status. Accessing value() of an error is a bug (checked, aborts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : storage_(std::move(status)) {  // NOLINT: implicit by design
    CheckNotOk();
  }

  bool ok() const { return std::holds_alternative<T>(storage_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(storage_);
  }
  T& value() & {
    CheckOk();
    return std::get<T>(storage_);
  }
  const T& value() const& {
    CheckOk();
    return std::get<T>(storage_);
  }
  T&& value() && {
    CheckOk();
    return std::get<T>(std::move(storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void CheckOk() const;
  void CheckNotOk() const;
  std::variant<T, Status> storage_;
};

namespace internal {
[[noreturn]] void ResultCheckFailed(const char* what);
}  // namespace internal

template <typename T>
void Result<T>::CheckOk() const {
  if (!ok()) internal::ResultCheckFailed(std::get<Status>(storage_).ToString().c_str());
}
template <typename T>
void Result<T>::CheckNotOk() const {
  if (std::get<Status>(storage_).ok()) internal::ResultCheckFailed("Result built from an OK Status");
}

}  // namespace vecdex

#define VECDEX_STATUS_CONCAT_INNER(a, b) a##b
#define VECDEX_STATUS_CONCAT(a, b) VECDEX_STATUS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define VECDEX_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::vecdex::Status vecdex_status_ = (expr);         \
    if (!vecdex_status_.ok()) return vecdex_status_;  \
  } while (0)

// `lhs` = the value of Result `rexpr`, or returns its Status from the enclosing function.
#define VECDEX_ASSIGN_OR_RETURN(lhs, rexpr) \
  VECDEX_ASSIGN_OR_RETURN_IMPL(VECDEX_STATUS_CONCAT(vecdex_result_, __LINE__), lhs, rexpr)
#define VECDEX_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
