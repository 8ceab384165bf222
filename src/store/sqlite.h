// A thin RAII layer over the SQLite C API: a connection with a cache of prepared statements, a
// statement lease that resets its statement when it goes out of scope, and a transaction guard.
//
// Every SQLite error becomes a Status that names the database file and the operation
// ("store.db: step 'INSERT INTO points ...': database disk image is malformed"), with the code
// mapped once in SqliteStatus().
//
// Thread safety: a Connection belongs to one thread at a time (the Store hands connections out
// under its own locks). SQLite is built threadsafe on Debian; we open connections with
// SQLITE_OPEN_NOMUTEX because no connection is ever shared between threads concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "vecdex/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vecdex::store {

// Maps a SQLite result code to a Status: CORRUPT/NOTADB -> Corruption, IOERR/FULL/CANTOPEN/
// PERM/READONLY -> IOError, BUSY/LOCKED -> Unavailable, NOMEM -> ResourceExhausted, anything
// else -> Internal. The message is "<file>: <what>: <sqlite message>".
Status SqliteStatus(int rc, std::string_view file, std::string_view what, std::string_view detail);

class Connection;

// A prepared statement borrowed from a Connection's cache. Binding indexes are 1-based (as in
// SQLite); column indexes are 0-based. The destructor resets the statement and clears its
// bindings, so the next user starts clean and no read transaction is held open by accident.
class Statement {
 public:
  Statement(Connection* conn, sqlite3_stmt* stmt, const std::string* sql) : conn_(conn), stmt_(stmt), sql_(sql) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;

  void BindInt(int index, int64_t value);
  void BindNull(int index);
  // Not copied (SQLITE_STATIC): the bytes must stay alive until this Statement is destroyed,
  // which resets it and clears its bindings. Callers bind their own buffers right before Step().
  void BindText(int index, std::string_view text);
  void BindBlob(int index, std::span<const uint8_t> bytes);

  // Advances; true when a row is available, false when done. Errors become a Status naming the
  // file and the statement.
  [[nodiscard]] Result<bool> Step();
  // Steps a statement that returns no rows (INSERT/UPDATE/DELETE).
  [[nodiscard]] Status Run();

  // Column access for the current row.
  int ColumnType(int column) const;  // SQLITE_INTEGER, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL ...
  bool ColumnIsNull(int column) const;
  int64_t ColumnInt(int column) const;
  std::string_view ColumnText(int column) const;
  std::span<const uint8_t> ColumnBlob(int column) const;

  const std::string& sql() const { return *sql_; }

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  const std::string* sql_;
};

// One SQLite connection to one database file.
class Connection {
 public:
  // Opens `path` (read-write; created only when `create`). `file_label` is how messages name the
  // file. Sets a busy timeout so concurrent writers in other processes wait instead of failing.
  [[nodiscard]] static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool create,
                                                                std::string file_label);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  [[nodiscard]] Status Exec(const std::string& sql);
  // A cached prepared statement for `sql`. The SQL text is the cache key.
  [[nodiscard]] Result<Statement> Prepare(const std::string& sql);
  // Runs a query that yields one integer (e.g. "PRAGMA user_version").
  [[nodiscard]] Result<int64_t> QueryInt(const std::string& sql);

  Status Error(int rc, std::string_view what) const;
  const std::string& file_label() const { return file_label_; }
  sqlite3* handle() const { return db_; }

 private:
  Connection(sqlite3* db, std::string file_label) : db_(db), file_label_(std::move(file_label)) {}

  sqlite3* db_;
  std::string file_label_;
  // Finalized in the destructor. std::map keeps the key strings stable for Statement::sql_.
  std::map<std::string, sqlite3_stmt*> statements_;
};

// BEGIN IMMEDIATE (writers) or BEGIN (readers: a snapshot for several statements) on
// construction via Begin(); ROLLBACK in the destructor unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  [[nodiscard]] Status Begin(bool immediate);
  [[nodiscard]] Status Commit();

 private:
  Connection* conn_;
  bool open_ = false;
};

}  // namespace vecdex::store
