#include "controller/store/hosts.h"

#include <algorithm>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/host_port.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controller/store/ids.h"
#include "soci/soci.h"
#include "tls/certificates.h"

namespace l4d2::controller {
namespace {

absl::Status ValidateAddress(const std::string& address) {
  const std::optional<HostPort> split = SplitHostPort(address);
  bool ok = split.has_value() && split->port >= 1 && address.size() <= 255;
  for (char c : address) ok = ok && c > ' ' && c < 0x7f && c != '/' && c != '@';
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: expected host:port, got '", absl::CHexEscape(address), "'"));
  }
  return absl::OkStatus();
}

// Unmanaged instances are stored as "name:port:state" joined by ',' (instance names and
// states have neither character). Written by this file alone.
std::string EncodeUnmanaged(const std::vector<UnmanagedInstance>& instances) {
  return absl::StrJoin(instances, ",", [](std::string* out, const UnmanagedInstance& instance) {
    absl::StrAppend(out, instance.name, ":", instance.port, ":", instance.state);
  });
}

std::vector<UnmanagedInstance> DecodeUnmanaged(absl::string_view text) {
  std::vector<UnmanagedInstance> instances;
  for (absl::string_view each : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(each, ':');
    UnmanagedInstance instance;
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[1], &instance.port)) continue;
    instance.name = std::move(fields[0]);
    instance.state = std::move(fields[2]);
    instances.push_back(std::move(instance));
  }
  return instances;
}

constexpr char kHostColumns[] =
    "id, name, address, state, max_instances, port_first, port_last, installed_build,"
    " last_seen_ms, created_at_ms, memory_bytes, drained, ports_in_use, unmanaged_instances,"
    " cert_not_after_ms, disk_low";

// hosts.cert_not_after_ms of a certificate, bound as a value and its indicator (NULL when it
// cannot be read). Keep it alive while its statement runs: SOCI binds by reference.
struct CertificateExpiry {
  explicit CertificateExpiry(const std::string& certificate_pem) {
    absl::StatusOr<tls::CertificateFacts> facts = tls::InspectCertificate(certificate_pem);
    if (facts.ok()) {
      millis = absl::ToUnixMillis(facts->not_after);
      indicator = soci::i_ok;
    }
  }
  long long millis = 0;
  soci::indicator indicator = soci::i_null;
};

// Reads rows of kHostColumns from `query`, with `params` bound to its placeholders in order;
// with `server_counts`, the query has one more column, each row's count of servers.
std::vector<Host> ReadHosts(soci::session& sql, const std::string& query,
                            const std::vector<std::string>& params,
                            std::vector<int>* server_counts = nullptr) {
  std::vector<Host> hosts;
  Host host;
  std::string build;
  soci::indicator build_indicator, seen_indicator, expires_indicator;
  long long seen = 0, created = 0, memory = 0, expires = 0;
  int drained = 0, disk_low = 0;
  std::string ports, unmanaged;
  int servers = 0;
  soci::statement statement(sql);
  for (const std::string& param : params) statement.exchange(soci::use(param));
  statement.exchange(soci::into(host.id));
  statement.exchange(soci::into(host.name));
  statement.exchange(soci::into(host.address));
  statement.exchange(soci::into(host.state));
  statement.exchange(soci::into(host.max_instances));
  statement.exchange(soci::into(host.port_first));
  statement.exchange(soci::into(host.port_last));
  statement.exchange(soci::into(build, build_indicator));
  statement.exchange(soci::into(seen, seen_indicator));
  statement.exchange(soci::into(created));
  statement.exchange(soci::into(memory));
  statement.exchange(soci::into(drained));
  statement.exchange(soci::into(ports));
  statement.exchange(soci::into(unmanaged));
  statement.exchange(soci::into(expires, expires_indicator));
  statement.exchange(soci::into(disk_low));
  if (server_counts != nullptr) statement.exchange(soci::into(servers));
  statement.alloc();
  statement.prepare(query);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) {
    Host row = host;
    row.installed_build = build_indicator == soci::i_ok ? build : "";
    if (seen_indicator == soci::i_ok) row.last_seen = absl::FromUnixMillis(seen);
    row.created_at = absl::FromUnixMillis(created);
    row.memory_bytes = memory;
    row.drained = drained != 0;
    row.disk_low = disk_low != 0;
    row.ports_in_use = DecodePorts(ports);
    row.unmanaged = DecodeUnmanaged(unmanaged);
    if (expires_indicator == soci::i_ok) row.certificate_expires = absl::FromUnixMillis(expires);
    hosts.push_back(std::move(row));
    if (server_counts != nullptr) server_counts->push_back(servers);
  }
  return hosts;
}

}  // namespace

std::string EncodePorts(const std::vector<int>& ports) { return absl::StrJoin(ports, ","); }

std::vector<int> DecodePorts(absl::string_view text) {
  std::vector<int> ports;
  for (absl::string_view each : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int port = 0;
    if (absl::SimpleAtoi(each, &port)) ports.push_back(port);
  }
  return ports;
}

HostStore::HostStore(Database& db, Clock& clock) : db_(db), clock_(clock) {}

absl::StatusOr<std::pair<Host, std::string>> HostStore::Create(const NewHost& request,
                                                               absl::Duration token_ttl) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(request.name));
  L4D2_RETURN_IF_ERROR(ValidateAddress(request.address));
  if (request.port_first < 1024 || request.port_last > 65535 ||
      request.port_first > request.port_last || request.max_instances < 1) {
    return absl::InvalidArgumentError(
        "ports: 1024 <= first <= last <= 65535, and at least one instance");
  }
  const std::string token = RandomHex(32);
  const absl::Time now = clock_.Now();
  Host host{.id = "h" + RandomHex(12),
            .name = request.name,
            .address = request.address,
            .state = "enrolling",
            .max_instances = request.max_instances,
            .port_first = request.port_first,
            .port_last = request.port_last,
            .created_at = now};
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM hosts WHERE name = :n", soci::use(host.name), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(absl::StrCat("host '", host.name, "' already exists"));
    }
    long long created = absl::ToUnixMillis(now);
    long long expires = absl::ToUnixMillis(now + token_ttl);
    std::string hash = SecretHash(token);
    sql << "INSERT INTO hosts (id, name, address, state, enroll_token_hash, enroll_expires_ms,"
           " max_instances, port_first, port_last, created_at_ms) VALUES (:id, :name, :address,"
           " 'enrolling', :hash, :expires, :max, :first, :last, :created)",
        soci::use(host.id), soci::use(host.name), soci::use(host.address), soci::use(hash),
        soci::use(expires), soci::use(host.max_instances), soci::use(host.port_first),
        soci::use(host.port_last), soci::use(created);
    return absl::OkStatus();
  }));
  return std::make_pair(host, token);
}

namespace {

// The id of the host a valid token was made for.
absl::StatusOr<std::string> HostOfToken(soci::session& sql, const std::string& token,
                                        long long now) {
  const std::string hash = SecretHash(token);
  std::string id;
  soci::indicator found = soci::i_null;
  sql << "SELECT id FROM hosts WHERE enroll_token_hash = :hash AND enroll_expires_ms > :now",
      soci::use(hash), soci::use(now), soci::into(id, found);
  if (!sql.got_data() || found != soci::i_ok) {
    return absl::UnauthenticatedError("unknown, spent or expired enrollment token");
  }
  return id;
}

}  // namespace

absl::StatusOr<Host> HostStore::FindByEnrollmentToken(const std::string& token) {
  absl::StatusOr<std::string> id = absl::UnauthenticatedError("");
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    id = HostOfToken(sql, token, absl::ToUnixMillis(clock_.Now()));
    return absl::OkStatus();
  }));
  if (!id.ok()) return id.status();
  return Get(*id);
}

absl::StatusOr<Host> HostStore::RedeemEnrollmentToken(const std::string& token,
                                                      const std::string& certificate_pem) {
  std::string id;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    long long now = absl::ToUnixMillis(clock_.Now());
    L4D2_ASSIGN_OR_RETURN(id, HostOfToken(sql, token, now));
    std::string fingerprint = certificate_pem.empty() ? "" : SecretHash(certificate_pem);
    soci::indicator has_fingerprint = fingerprint.empty() ? soci::i_null : soci::i_ok;
    CertificateExpiry expiry(certificate_pem);
    soci::statement spend =
        (sql.prepare << "UPDATE hosts SET state = 'ready', enroll_token_hash = NULL,"
                        " enroll_expires_ms = NULL, cert_fingerprint = :f, certificate_pem = :c,"
                        " cert_not_after_ms = :e, last_seen_ms = :now"
                        " WHERE id = :id AND enroll_token_hash IS NOT NULL",
         soci::use(fingerprint, has_fingerprint), soci::use(certificate_pem, has_fingerprint),
         soci::use(expiry.millis, expiry.indicator), soci::use(now), soci::use(id));
    spend.execute(true);
    if (spend.get_affected_rows() != 1) {
      return absl::UnauthenticatedError("unknown, spent or expired enrollment token");
    }
    return absl::OkStatus();
  }));
  return Get(id);
}

absl::StatusOr<Host> HostStore::Get(const std::string& id) {
  // Every job reads its host: a one-time query (on PostgreSQL one round trip, where a prepared
  // statement costs three).
  Host host;
  bool found = false;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::vector<Host> hosts =
        ReadHosts(sql, absl::StrCat("SELECT ", kHostColumns, " FROM hosts WHERE id = :id"), {id});
    found = !hosts.empty();
    if (found) host = std::move(hosts.front());
    return absl::OkStatus();
  }));
  if (!found) return absl::NotFoundError(absl::StrCat("no host '", id, "'"));
  return host;
}

absl::StatusOr<std::vector<Host>> HostStore::List() {
  return List({.limit = std::numeric_limits<int>::max()}, "");
}

absl::StatusOr<std::vector<Host>> HostStore::List(const PageQuery& page, const std::string& state,
                                                  std::vector<int>* server_counts) {
  std::vector<Host> hosts;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    std::string where = "1 = 1";
    std::vector<std::string> params;
    if (!state.empty()) {
      params.push_back(state);
      where += " AND state = :p1";
    }
    AppendPageConditions(page, "name", "id", where, params);
    // Each host's servers counted from the servers' (host_id, port) index in the same query.
    const char* count = server_counts == nullptr
                            ? ""
                            : ", (SELECT COUNT(*) FROM servers s WHERE s.host_id = hosts.id)";
    hosts = ReadHosts(sql,
                      absl::StrCat("SELECT ", kHostColumns, count, " FROM hosts WHERE ", where,
                                   " ORDER BY name, id LIMIT ", page.limit),
                      params, server_counts);
    return absl::OkStatus();
  }));
  return hosts;
}

absl::StatusOr<std::string> HostStore::Certificate(const std::string& id) {
  std::string pem;
  soci::indicator indicator = soci::i_null;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    sql << "SELECT certificate_pem FROM hosts WHERE id = :id AND state <> 'enrolling'",
        soci::use(id), soci::into(pem, indicator);
    return absl::OkStatus();
  }));
  if (indicator != soci::i_ok || pem.empty()) {
    return absl::NotFoundError(absl::StrCat("host ", id, " has no certificate"));
  }
  return pem;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> HostStore::Certificates() {
  std::vector<std::pair<std::string, std::string>> certificates;
  L4D2_RETURN_IF_ERROR(db_.WithSession([&](soci::session& sql) {
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT id, certificate_pem FROM hosts WHERE state <> 'enrolling'"
                        " AND certificate_pem IS NOT NULL ORDER BY id");
    for (const soci::row& row : rows) {
      certificates.emplace_back(row.get<std::string>(0), row.get<std::string>(1));
    }
    return absl::OkStatus();
  }));
  return certificates;
}

absl::Status HostStore::ReplaceCertificate(const std::string& id, const std::string& current_pem,
                                           const std::string& renewed_pem) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    const std::string current = SecretHash(current_pem);
    const std::string renewed = SecretHash(renewed_pem);
    CertificateExpiry expiry(renewed_pem);
    soci::statement replace =
        (sql.prepare << "UPDATE hosts SET cert_fingerprint = :renewed, certificate_pem = :pem,"
                        " cert_not_after_ms = :e"
                        " WHERE id = :id AND cert_fingerprint = :current AND state <> 'enrolling'",
         soci::use(renewed), soci::use(renewed_pem), soci::use(expiry.millis, expiry.indicator),
         soci::use(id), soci::use(current));
    replace.execute(true);
    if (replace.get_affected_rows() != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "host ", id, ": its certificate changed meanwhile (revoked, enrolled again or renewed)"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> HostStore::RevokeCertificate(const std::string& id,
                                                         absl::Duration token_ttl) {
  const std::string token = RandomHex(32);
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    const std::string hash = SecretHash(token);
    long long expires = absl::ToUnixMillis(clock_.Now() + token_ttl);
    soci::statement revoke =
        (sql.prepare
             << "UPDATE hosts SET state = 'enrolling', cert_fingerprint = NULL,"
                " certificate_pem = NULL, cert_not_after_ms = NULL, enroll_token_hash = :hash,"
                " enroll_expires_ms = :expires WHERE id = :id",
         soci::use(hash), soci::use(expires), soci::use(id));
    revoke.execute(true);
    if (revoke.get_affected_rows() != 1) {
      return absl::NotFoundError(absl::StrCat("host '", id, "' not found"));
    }
    return absl::OkStatus();
  }));
  return token;
}

absl::Status HostStore::SetInstalledBuild(const std::string& id, const std::string& build) {
  return db_.Transact([&](soci::session& sql) {
    sql << "UPDATE hosts SET installed_build = :b WHERE id = :id", soci::use(build), soci::use(id);
    return absl::OkStatus();
  });
}

absl::Status HostStore::SetMemory(const std::string& id, int64_t memory_bytes) {
  return db_.Transact([&](soci::session& sql) {
    long long memory = memory_bytes;
    sql << "UPDATE hosts SET memory_bytes = :m WHERE id = :id", soci::use(memory), soci::use(id);
    return absl::OkStatus();
  });
}

absl::Status HostStore::SetPortsInUse(const std::string& id, const std::vector<int>& ports) {
  // Bound by reference and read when the statement runs, after the full expression: a named
  // value, not a temporary.
  const std::string text = EncodePorts(ports);
  return db_.Transact([&](soci::session& sql) {
    sql << "UPDATE hosts SET ports_in_use = :p WHERE id = :id", soci::use(text), soci::use(id);
    return absl::OkStatus();
  });
}

absl::Status HostStore::AddPortInUse(const std::string& id, int port) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    std::string text;
    sql << "SELECT ports_in_use FROM hosts WHERE id = :id", soci::use(id), soci::into(text);
    if (!sql.got_data()) return absl::NotFoundError(absl::StrCat("no host '", id, "'"));
    std::vector<int> ports = DecodePorts(text);
    auto at = std::lower_bound(ports.begin(), ports.end(), port);
    if (at != ports.end() && *at == port) return absl::OkStatus();
    ports.insert(at, port);
    text = EncodePorts(ports);
    sql << "UPDATE hosts SET ports_in_use = :p WHERE id = :id", soci::use(text), soci::use(id);
    return absl::OkStatus();
  });
}

absl::Status HostStore::SetUnmanaged(const std::string& id,
                                     const std::vector<UnmanagedInstance>& unmanaged) {
  const std::string text = EncodeUnmanaged(unmanaged);
  return db_.Transact([&](soci::session& sql) {
    sql << "UPDATE hosts SET unmanaged_instances = :u WHERE id = :id", soci::use(text),
        soci::use(id);
    return absl::OkStatus();
  });
}

absl::Status HostStore::MarkSeen(const std::vector<std::pair<std::string, absl::Time>>& sightings) {
  if (sightings.empty()) return absl::OkStatus();
  return db_.Transact([&](soci::session& sql) {
    for (size_t first = 0; first < sightings.size(); first += kIdsPerStatement) {
      const size_t count = std::min(kIdsPerStatement, sightings.size() - first);
      // UPDATE hosts SET last_seen_ms = CASE id WHEN :i0 THEN :s0 ... END WHERE id IN (...)
      std::vector<long long> seen(count);
      std::string cases, in;
      soci::statement update(sql);
      for (size_t i = 0; i < count; ++i) {
        const auto& [id, at] = sightings[first + i];
        seen[i] = absl::ToUnixMillis(at);
        absl::StrAppend(&cases, " WHEN :i", i, " THEN :s", i);
        update.exchange(soci::use(id));
        update.exchange(soci::use(seen[i]));
      }
      for (size_t i = 0; i < count; ++i) {
        absl::StrAppend(&in, i > 0 ? ", :w" : ":w", i);
        update.exchange(soci::use(sightings[first + i].first));
      }
      update.alloc();
      update.prepare(absl::StrCat("UPDATE hosts SET last_seen_ms = CASE id", cases,
                                  " ELSE last_seen_ms END WHERE id IN (", in, ")"));
      update.define_and_bind();
      update.execute(true);
    }
    return absl::OkStatus();
  });
}

absl::Status HostStore::SetState(const std::string& id, const std::string& from,
                                 const std::string& to) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    soci::statement update = (sql.prepare << "UPDATE hosts SET state = :to WHERE id = :id AND"
                                             " state = :from",
                              soci::use(to), soci::use(id), soci::use(from));
    update.execute(true);
    if (update.get_affected_rows() != 1) {
      return absl::FailedPreconditionError(absl::StrCat("host '", id, "' is not ", from));
    }
    return absl::OkStatus();
  });
}

absl::Status HostStore::SetDrained(const std::string& id, bool drained) {
  const int flag = drained ? 1 : 0;
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    soci::statement update = (sql.prepare << "UPDATE hosts SET drained = :d WHERE id = :id",
                              soci::use(flag), soci::use(id));
    update.execute(true);
    if (update.get_affected_rows() != 1) {
      return absl::NotFoundError(absl::StrCat("no host '", id, "'"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> HostStore::SetDiskLow(const std::string& id, bool low) {
  const int to = low ? 1 : 0, from = low ? 0 : 1;
  bool changed = false;
  L4D2_RETURN_IF_ERROR(db_.Transact([&](soci::session& sql) -> absl::Status {
    soci::statement update =
        (sql.prepare << "UPDATE hosts SET disk_low = :t WHERE id = :id AND disk_low = :f",
         soci::use(to), soci::use(id), soci::use(from));
    update.execute(true);
    changed = update.get_affected_rows() == 1;
    return absl::OkStatus();
  }));
  return changed;
}

absl::Status HostStore::Delete(const std::string& id) {
  return db_.Transact([&](soci::session& sql) -> absl::Status {
    long long servers = 0;
    sql << "SELECT COUNT(*) FROM servers WHERE host_id = :id", soci::use(id), soci::into(servers);
    if (servers > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("host '", id, "' still has ", servers, " servers: delete them first"));
    }
    soci::statement remove = (sql.prepare << "DELETE FROM hosts WHERE id = :id", soci::use(id));
    remove.execute(true);
    if (remove.get_affected_rows() != 1) {
      return absl::NotFoundError(absl::StrCat("no host '", id, "'"));
    }
    return absl::OkStatus();
  });
}

}  // namespace l4d2::controller
