#pragma once

// One page of a list read in SQL: keyset pagination over (name, id), so a page costs the page
// and never the table (an index on the list's order covers it).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "controller/store/actor.h"

namespace soci {
class session;
}  // namespace soci

namespace l4d2::controller {

// A row of a list page as an index gives it: its id, its key in the list's order (a name, a
// ref) and its revision, which every change to the row bumps. The API shows the row's JSON
// from memory while its revision is unchanged (controller/api/row_json.h).
struct RowRevision {
  std::string id;
  std::string name;
  int64_t revision = 0;
};

struct PageQuery {
  std::string name_prefix;  // names starting with it ("" any)
  // The last row of the previous page as "<name>/<id>" ("" for the first page). Names are
  // [a-z0-9_/.-] without '/' where it ends the name: the last '/' separates the id.
  std::string after;
  int limit = 100;
};

// Appends to `where` the prefix and keyset conditions of `page` on columns `name` and `id`,
// with their parameters to `params` (":p<n>" placeholders, numbered after those already in it).
void AppendPageConditions(const PageQuery& page, const std::string& name, const std::string& id,
                          std::string& where, std::vector<std::string>& params);

// The conditions of a page of objects owned by users (blueprints, schedules, webhooks): an
// operator's own (`owner_id`), every one for an admin, then AppendPageConditions over name and
// id. `params` gets their values.
std::string OwnedPageWhere(const Actor& actor, const PageQuery& page,
                           std::vector<std::string>& params);

// At most this many ids in one IN list (or rows keyed in one statement): well under SQLite's
// 32,766 parameters and PostgreSQL's 65,535. Longer lists are read or written in chunks.
inline constexpr size_t kIdsPerStatement = 500;

// "<column> IN (:i0, :i1, ...)" for `ids`, their values appended to `params` (bound by
// position).
std::string IdIn(absl::Span<const std::string> ids, std::vector<std::string>& params,
                 absl::string_view column = "id");

// The one text column `query` selects, with `params` bound in order.
std::vector<std::string> ReadColumn(soci::session& sql, const std::string& query,
                                    const std::vector<std::string>& params);

// A page as ListRevisions answers it: the rows of `query`, which selects id, key and revision,
// with `params` bound in order.
std::vector<RowRevision> ReadRowRevisions(soci::session& sql, const std::string& query,
                                          const std::vector<std::string>& params);

// The key of a row for PageQuery::after.
inline std::string PageKeyOf(const std::string& name, const std::string& id) {
  return name + "/" + id;
}

}  // namespace l4d2::controller
