#pragma once

// A database of a bench's own: a SQLite file in a directory, or a PostgreSQL database made on a
// server the bench may create databases on (tests/pg/start --env prints its conninfo).

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "controller/store/database.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"

namespace l4d2::controller {

// A database of the bench's own, dropped at the end (PostgreSQL) or removed (SQLite).
struct BenchDatabase {
  std::string conninfo;  // "" for SQLite
  std::string name;
  std::string dir;

  std::string Url() const {
    return conninfo.empty() ? absl::StrCat("sqlite3:", dir, "/", name, ".db")
                            : absl::StrCat("postgresql:", conninfo, " dbname=", name);
  }
  void Create() {
    if (conninfo.empty()) return;
    soci::session admin(soci::postgresql, conninfo + " dbname=postgres");
    admin << "CREATE DATABASE " << name;
  }
  void Drop() {
    if (conninfo.empty()) {
      std::filesystem::remove(absl::StrCat(dir, "/", name, ".db"));
      return;
    }
    soci::session admin(soci::postgresql, conninfo + " dbname=postgres");
    admin << "DROP DATABASE IF EXISTS " << name;
  }
  // Bytes in use (SQLite: pages not on the free list).
  int64_t Size(Database& db) {
    long long bytes = 0;
    (void)db.WithSession([&](soci::session& sql) {
      if (conninfo.empty()) {
        long long pages = 0, free_pages = 0, page_size = 0;
        sql << "PRAGMA page_count", soci::into(pages);
        sql << "PRAGMA freelist_count", soci::into(free_pages);
        sql << "PRAGMA page_size", soci::into(page_size);
        bytes = (pages - free_pages) * page_size;
      } else {
        sql << "SELECT pg_database_size(current_database())", soci::into(bytes);
      }
      return absl::OkStatus();
    });
    return bytes;
  }
};

}  // namespace l4d2::controller
