#include "store/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace vecdex::store {

namespace {

// Long enough to ride out another process's checkpoint; short enough that a wedged peer turns
// into an Unavailable error instead of a hang.
constexpr int kBusyTimeoutMs = 5000;

// Statements are quoted in messages, cut so a long INSERT stays readable.
std::string ShortSql(std::string_view sql) {
  constexpr size_t kMax = 60;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

}  // namespace

Status SqliteStatus(int rc, std::string_view file, std::string_view what, std::string_view detail) {
  std::string msg(file);
  msg += ": ";
  msg += what;
  msg += ": ";
  msg += detail.empty() ? std::string_view(sqlite3_errstr(rc)) : detail;
  switch (rc & 0xff) {  // the primary code; extended codes carry detail in the upper bits
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Status::IOError(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(msg));
    case SQLITE_NOMEM:
      return Status::ResourceExhausted(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

// ---------------------------------------------------------------------------- Statement

Statement::Statement(Statement&& other) noexcept : conn_(other.conn_), stmt_(other.stmt_), sql_(other.sql_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);  // its error code repeats the one Step() already reported
  sqlite3_clear_bindings(stmt_);
}

void Statement::BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }
void Statement::BindText(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
void Statement::BindBlob(int index, std::span<const uint8_t> bytes) {
  // A null pointer would bind NULL rather than an empty blob.
  static const uint8_t kEmpty = 0;
  sqlite3_bind_blob(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(rc, "step '" + ShortSql(*sql_) + "'");
}

Status Statement::Run() {
  Result<bool> row = Step();
  if (!row.ok()) return row.status();
  return Status::Ok();
}

int Statement::ColumnType(int column) const { return sqlite3_column_type(stmt_, column); }
bool Statement::ColumnIsNull(int column) const { return ColumnType(column) == SQLITE_NULL; }
int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }
std::string_view Statement::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int bytes = sqlite3_column_bytes(stmt_, column);  // after _text, per the SQLite docs
  return text == nullptr ? std::string_view() : std::string_view(text, static_cast<size_t>(bytes));
}
std::span<const uint8_t> Statement::ColumnBlob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int bytes = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::span<const uint8_t>() : std::span<const uint8_t>(data, static_cast<size_t>(bytes));
}

// ---------------------------------------------------------------------------- Connection

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool create,
                                                     std::string file_label) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return SqliteStatus(rc, file_label, "open", detail);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return std::unique_ptr<Connection>(new Connection(db, std::move(file_label)));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  // The last connection to close checkpoints the WAL and removes it; a failure here leaves a
  // WAL that the next open recovers, so there is nothing more useful to do with the code.
  sqlite3_close_v2(db_);
}

Status Connection::Error(int rc, std::string_view what) const {
  return SqliteStatus(rc, file_label_, what, sqlite3_errmsg(db_));
}

Status Connection::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string detail = err != nullptr ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  return SqliteStatus(rc, file_label_, "exec '" + ShortSql(sql) + "'", detail);
}

Result<Statement> Connection::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "prepare '" + ShortSql(sql) + "'");
    it = statements_.emplace(sql, stmt).first;
  }
  return Statement(this, it->second, &it->first);
}

Result<int64_t> Connection::QueryInt(const std::string& sql) {
  VECDEX_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  VECDEX_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::Corruption(file_label_ + ": '" + ShortSql(sql) + "' returned no row");
  return stmt.ColumnInt(0);
}

// ---------------------------------------------------------------------------- Transaction

Status Transaction::Begin(bool immediate) {
  VECDEX_RETURN_IF_ERROR(conn_->Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  Status st = conn_->Exec("COMMIT");
  // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); the destructor rolls back.
  if (st.ok()) open_ = false;
  return st;
}

Transaction::~Transaction() {
  if (!open_) return;
  // Rolling back can only fail if the transaction is already gone; the error is not actionable.
  char* err = nullptr;
  sqlite3_exec(conn_->handle(), "ROLLBACK", nullptr, nullptr, &err);
  sqlite3_free(err);
}

}  // namespace vecdex::store
