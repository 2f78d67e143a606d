#pragma once

// Many rows written with a few multi-row statements instead of one statement per row:
//
//   RowBatch jobs("INSERT INTO jobs (id, kind, created_at_ms)", 3);
//   for (...) jobs.Add({id, kind, created});
//   jobs.Write(sql);   // INSERT ... VALUES (:v0, :v1, :v2), (:v3, :v4, :v5), ...
//
// Every value is bound, never spliced into the text. SOCI's own bulk binding (soci::use of a
// vector) runs its statement once per row, which on PostgreSQL is a round trip per row: a
// 2,000-server bulk action took about 1 s that way, and takes a few statements this way
// (docs/benchmarks.md, Scale).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

namespace soci {
class session;
}  // namespace soci

namespace l4d2::controller {

class RowBatch {
 public:
  using Value = std::variant<std::string, int64_t>;

  // `head`: the statement up to VALUES; `columns`: values per row; `tail`: what follows the
  // rows (" ON CONFLICT ... DO NOTHING"). Rows per statement: at most `rows_per_statement`,
  // and never more than 30,000 values (SQLite's default limit is 32,766 parameters).
  RowBatch(std::string head, size_t columns, std::string tail = "",
           size_t rows_per_statement = 250);

  // A row of exactly `columns` values; another count throws std::invalid_argument (a bug),
  // which Database::Transact turns into INTERNAL.
  void Add(std::initializer_list<Value> row);
  size_t rows() const { return values_.size() / columns_; }

  // Runs the statements on `sql` (within the caller's transaction) and forgets the rows.
  void Write(soci::session& sql);

 private:
  std::string head_;
  size_t columns_;
  std::string tail_;
  size_t rows_per_statement_;
  std::vector<Value> values_;
};

}  // namespace l4d2::controller
