#include "controller/store/row_batch.h"

#include <algorithm>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "soci/soci.h"

namespace l4d2::controller {

RowBatch::RowBatch(std::string head, size_t columns, std::string tail, size_t rows_per_statement)
    : head_(std::move(head)),
      columns_(columns),
      tail_(std::move(tail)),
      rows_per_statement_(std::max<size_t>(
          1, std::min(rows_per_statement, 30000 / std::max<size_t>(1, columns)))) {}

void RowBatch::Add(std::initializer_list<Value> row) {
  if (row.size() != columns_) {
    throw std::invalid_argument(
        absl::StrCat(head_, ": a row of ", row.size(), " values, not ", columns_));
  }
  values_.insert(values_.end(), row.begin(), row.end());
}

void RowBatch::Write(soci::session& sql) {
  const size_t total = rows();
  // SQLite looks a named parameter up in a list (quadratic in a statement of thousands):
  // anonymous ones there; PostgreSQL needs SOCI's names, which it numbers ($1, $2, ...).
  const bool sqlite = sql.get_backend_name() == "sqlite3";
  for (size_t first = 0; first < total; first += rows_per_statement_) {
    const size_t count = std::min(rows_per_statement_, total - first);
    std::string text = head_ + " VALUES ";
    // SOCI binds `long long`, not int64_t (long on this platform): copies of that type, alive
    // until the statement has run.
    std::deque<long long> numbers;
    soci::statement statement(sql);
    for (size_t row = 0; row < count; ++row) {
      absl::StrAppend(&text, row > 0 ? ", (" : "(");
      for (size_t column = 0; column < columns_; ++column) {
        const size_t index = (first + row) * columns_ + column;
        if (sqlite) {
          text += column > 0 ? ", ?" : "?";
        } else {
          absl::StrAppend(&text, column > 0 ? ", :v" : ":v", index);
        }
        if (const auto* text_value = std::get_if<std::string>(&values_[index])) {
          statement.exchange(soci::use(*text_value));
        } else {
          statement.exchange(soci::use(numbers.emplace_back(std::get<int64_t>(values_[index]))));
        }
      }
      text += ")";
    }
    text += tail_;
    statement.alloc();
    statement.prepare(text);
    statement.define_and_bind();
    statement.execute(true);
  }
  values_.clear();
}

}  // namespace l4d2::controller
