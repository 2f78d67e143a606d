#include "controller/store/page.h"

#include "absl/strings/str_cat.h"
#include "soci/soci.h"

namespace l4d2::controller {

void AppendPageConditions(const PageQuery& page, const std::string& name, const std::string& id,
                          std::string& where, std::vector<std::string>& params) {
  auto param = [&](std::string value) {
    params.push_back(std::move(value));
    return absl::StrCat(":p", params.size());
  };
  // Placeholders are bound by position: each is made (and its value pushed) in text order,
  // one statement at a time (the order a call evaluates its arguments in is unspecified).
  if (!page.name_prefix.empty()) {
    // Names and refs are printable ASCII below '~': all with the prefix sort below prefix + "~".
    const std::string low = param(page.name_prefix);
    const std::string high = param(page.name_prefix + "~");
    absl::StrAppend(&where, " AND ", name, " >= ", low, " AND ", name, " < ", high);
  }
  const size_t slash = page.after.rfind('/');
  if (slash != std::string::npos) {
    const std::string after_name = page.after.substr(0, slash);
    const std::string first = param(after_name);
    const std::string second = param(after_name);
    const std::string after_id = param(page.after.substr(slash + 1));
    absl::StrAppend(&where, " AND (", name, " > ", first, " OR (", name, " = ", second, " AND ", id,
                    " > ", after_id, "))");
  }
}

std::string IdIn(absl::Span<const std::string> ids, std::vector<std::string>& params,
                 absl::string_view column) {
  std::string in = absl::StrCat(column, " IN (");
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StrAppend(&in, i > 0 ? ", " : "", ":i", i);
    params.push_back(ids[i]);
  }
  return in + ")";
}

std::vector<std::string> ReadColumn(soci::session& sql, const std::string& query,
                                    const std::vector<std::string>& params) {
  std::vector<std::string> values;
  std::string value;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(value));
  statement.alloc();
  statement.prepare(query);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) values.push_back(value);
  return values;
}

std::vector<RowRevision> ReadRowRevisions(soci::session& sql, const std::string& query,
                                          const std::vector<std::string>& params) {
  std::vector<RowRevision> rows;
  RowRevision row;
  long long revision = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(row.id));
  statement.exchange(soci::into(row.name));
  statement.exchange(soci::into(revision));
  statement.alloc();
  statement.prepare(query);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) {
    RowRevision& entry = rows.emplace_back(std::move(row));
    entry.revision = revision;
  }
  return rows;
}

std::string OwnedPageWhere(const Actor& actor, const PageQuery& page,
                           std::vector<std::string>& params) {
  std::string where = "1 = 1";
  if (!actor.admin) {
    params.push_back(actor.user_id);
    where += absl::StrCat(" AND owner_id = :p", params.size());
  }
  AppendPageConditions(page, "name", "id", where, params);
  return where;
}

}  // namespace l4d2::controller
