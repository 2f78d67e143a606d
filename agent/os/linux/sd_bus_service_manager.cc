#include "agent/os/linux/sd_bus_service_manager.h"

#include <string.h>
#include <systemd/sd-bus.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

constexpr char kService[] = "org.freedesktop.systemd1";
constexpr char kPath[] = "/org/freedesktop/systemd1";
constexpr char kManager[] = "org.freedesktop.systemd1.Manager";
constexpr char kUnit[] = "org.freedesktop.systemd1.Unit";
constexpr char kServiceInterface[] = "org.freedesktop.systemd1.Service";

struct BusUnref {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct MessageUnref {
  void operator()(sd_bus_message* message) const { sd_bus_message_unref(message); }
};
using Bus = std::unique_ptr<sd_bus, BusUnref>;
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;

// An sd_bus_error that frees itself.
struct BusError {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  ~BusError() { sd_bus_error_free(&error); }
  bool Is(const char* name) const { return sd_bus_error_has_name(&error, name); }
};

// A failed call: systemd's refusal is FAILED_PRECONDITION with its message; a broken
// connection or a timeout is UNAVAILABLE.
absl::Status CallError(absl::string_view what, int r, const BusError& error) {
  std::string detail = sd_bus_error_is_set(&error.error) && error.error.message != nullptr
                           ? error.error.message
                           : strerror(-r);
  if (sd_bus_error_is_set(&error.error) && !error.Is(SD_BUS_ERROR_NO_REPLY) &&
      !error.Is(SD_BUS_ERROR_TIMEOUT) && !error.Is(SD_BUS_ERROR_DISCONNECTED)) {
    return absl::FailedPreconditionError(absl::StrCat("systemd ", what, ": ", detail));
  }
  return absl::UnavailableError(absl::StrCat("systemd ", what, ": ", detail));
}

absl::StatusOr<Bus> Connect(const SdBusOptions& options) {
  sd_bus* raw = nullptr;
  int r = sd_bus_new(&raw);
  if (r < 0) return absl::UnavailableError(absl::StrCat("sd_bus_new: ", strerror(-r)));
  Bus bus(raw);
  if ((r = sd_bus_set_address(raw, options.address.c_str())) < 0 ||
      (r = sd_bus_set_method_call_timeout(raw, absl::ToInt64Microseconds(options.timeout))) < 0 ||
      (r = sd_bus_start(raw)) < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach systemd at '", options.address, "': ", strerror(-r)));
  }
  return bus;
}

// Results of the jobs that ended, by job object path.
int OnJobRemoved(sd_bus_message* message, void* userdata, sd_bus_error*) {
  uint32_t id = 0;
  const char* job = nullptr;
  const char* unit = nullptr;
  const char* result = nullptr;
  if (sd_bus_message_read(message, "uoss", &id, &job, &unit, &result) >= 0) {
    (*static_cast<std::map<std::string, std::string>*>(userdata))[job] = result;
  }
  return 0;
}

}  // namespace

SdBusServiceManager::SdBusServiceManager(SdBusOptions options) : options_(std::move(options)) {}

absl::Status SdBusServiceManager::RunJob(const char* method, const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  L4D2_ASSIGN_OR_RETURN(Bus bus, Connect(options_));
  const std::string what = absl::StrCat(method, " ", unit);
  std::map<std::string, std::string> ended;
  // The peer of the private socket is the manager itself: no sender to match.
  int r = sd_bus_match_signal(bus.get(), nullptr, nullptr, kPath, kManager, "JobRemoved",
                              OnJobRemoved, &ended);
  if (r < 0) return absl::UnavailableError(absl::StrCat("systemd match: ", strerror(-r)));
  BusError error;
  r = sd_bus_call_method(bus.get(), kService, kPath, kManager, "Subscribe", &error.error, nullptr,
                         "");
  if (r < 0) return CallError("subscribe", r, error);
  sd_bus_message* raw_reply = nullptr;
  r = sd_bus_call_method(bus.get(), kService, kPath, kManager, method, &error.error, &raw_reply,
                         "ss", unit.c_str(), "replace");
  Message reply(raw_reply);
  if (r < 0) {
    // Stopping a unit that is not loaded: nothing runs, which is what was asked.
    if (strcmp(method, "StopUnit") == 0 && error.Is("org.freedesktop.systemd1.NoSuchUnit")) {
      return absl::OkStatus();
    }
    return CallError(what, r, error);
  }
  const char* job_path = nullptr;
  if ((r = sd_bus_message_read(reply.get(), "o", &job_path)) < 0) {
    return absl::UnavailableError(absl::StrCat("systemd ", what, ": bad reply"));
  }
  const std::string job = job_path;
  const absl::Time deadline = RealDeadline(options_.timeout);
  while (ended.find(job) == ended.end()) {
    r = sd_bus_process(bus.get(), nullptr);
    if (r < 0) return absl::UnavailableError(absl::StrCat("systemd ", what, ": ", strerror(-r)));
    if (r > 0) continue;
    const absl::Duration left = RealTimeLeft(deadline);
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat("systemd ", what, ": the job did not end within ",
                                                 absl::FormatDuration(options_.timeout)));
    }
    r = sd_bus_wait(bus.get(), absl::ToInt64Microseconds(left));
    if (r < 0) return absl::UnavailableError(absl::StrCat("systemd ", what, ": ", strerror(-r)));
  }
  const std::string& result = ended[job];
  if (result == "done") return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("job for ", unit, " ended with result '", result, "' (see its journal)"));
}

absl::Status SdBusServiceManager::Start(const std::string& unit) {
  return RunJob("StartUnit", unit);
}

absl::Status SdBusServiceManager::Stop(const std::string& unit) { return RunJob("StopUnit", unit); }

absl::Status SdBusServiceManager::Signal(const std::string& unit, int signal) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  L4D2_ASSIGN_OR_RETURN(Bus bus, Connect(options_));
  BusError error;
  int r = sd_bus_call_method(bus.get(), kService, kPath, kManager, "KillUnit", &error.error,
                             nullptr, "ssi", unit.c_str(), "all", signal);
  // A unit that is not loaded, or has no process, has nothing to signal.
  if (r < 0 && !error.Is("org.freedesktop.systemd1.NoSuchUnit") &&
      !error.Is("org.freedesktop.systemd1.NoSuchProcess")) {
    return CallError("kill " + unit, r, error);
  }
  return absl::OkStatus();
}

absl::Status SdBusServiceManager::ResetFailed(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  L4D2_ASSIGN_OR_RETURN(Bus bus, Connect(options_));
  BusError error;
  int r = sd_bus_call_method(bus.get(), kService, kPath, kManager, "ResetFailedUnit", &error.error,
                             nullptr, "s", unit.c_str());
  // A unit that is not failed, or not loaded, has nothing to reset.
  if (r < 0 && !error.Is("org.freedesktop.systemd1.NoSuchUnit")) {
    absl::Status status = CallError("reset-failed " + unit, r, error);
    if (!absl::IsFailedPrecondition(status)) return status;
  }
  return absl::OkStatus();
}

namespace {

// Method calls sent at once on one connection, their replies awaited together: N calls cost
// one round trip's wait, not N.
class Pipeline {
 public:
  explicit Pipeline(sd_bus* bus) : bus_(bus) {}

  // Sends `member` of `interface` on `path` with one string argument; its reply is
  // reply(index) once Wait returns. -errno when it could not be sent.
  int Call(const char* path, const char* interface, const char* member, const char* argument) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, kService, path, interface, member);
    Message call(raw);
    if (r < 0 || (r = sd_bus_message_append(call.get(), "s", argument)) < 0) return r;
    auto pending = std::make_unique<Pending>();
    pending->pipeline = this;
    r = sd_bus_call_async(bus_, &pending->slot, call.get(), &Pipeline::OnReply, pending.get(), 0);
    if (r < 0) return r;
    pending_.push_back(std::move(pending));
    ++outstanding_;
    return static_cast<int>(pending_.size() - 1);
  }

  // Until every call was answered (a reply or an error), or `deadline`.
  absl::Status Wait(absl::Time deadline) {
    while (outstanding_ > 0) {
      int r = sd_bus_process(bus_, nullptr);
      if (r < 0) return absl::UnavailableError(absl::StrCat("systemd: ", strerror(-r)));
      if (r > 0) continue;
      const absl::Duration left = RealTimeLeft(deadline);
      if (left <= absl::ZeroDuration()) return absl::UnavailableError("systemd: no answer");
      r = sd_bus_wait(bus_, absl::ToInt64Microseconds(left));
      if (r < 0) return absl::UnavailableError(absl::StrCat("systemd: ", strerror(-r)));
    }
    return absl::OkStatus();
  }

  // The reply of call `index` (an error reply is one too: sd_bus_message_get_error).
  sd_bus_message* reply(int index) const { return pending_[index]->reply.get(); }

 private:
  struct Pending {
    ~Pending() { sd_bus_slot_unref(slot); }  // No callback after this (a call given up on).
    Pipeline* pipeline = nullptr;
    sd_bus_slot* slot = nullptr;
    Message reply;
  };

  static int OnReply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto* pending = static_cast<Pending*>(userdata);
    pending->reply.reset(sd_bus_message_ref(reply));
    --pending->pipeline->outstanding_;
    return 0;
  }

  sd_bus* bus_;
  std::vector<std::unique_ptr<Pending>> pending_;
  int outstanding_ = 0;
};

// A failed reply as CallError words it.
absl::Status ReplyError(absl::string_view what, sd_bus_message* reply) {
  BusError error;
  sd_bus_error_copy(&error.error, sd_bus_message_get_error(reply));
  return CallError(what, -EIO, error);
}

// Reads the properties of a GetAll reply: `read` reads the variant of those it knows
// (returning true) and the rest are skipped.
absl::Status ReadProperties(sd_bus_message* reply, const std::string& path,
                            const std::function<bool(absl::string_view, sd_bus_message*)>& read) {
  auto bad = [&] {
    return absl::UnavailableError(absl::StrCat("systemd: bad properties of ", path));
  };
  int r = 0;
  if (sd_bus_message_enter_container(reply, 'a', "{sv}") < 0) return bad();
  while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
    const char* name = nullptr;
    if (sd_bus_message_read(reply, "s", &name) < 0) return bad();
    if (!read(name, reply) && sd_bus_message_skip(reply, "v") < 0) return bad();
    if (sd_bus_message_exit_container(reply) < 0) return bad();
  }
  if (r < 0) return bad();
  return absl::OkStatus();
}

bool ReadText(sd_bus_message* m, std::string* out) {
  const char* value = nullptr;
  if (sd_bus_message_read(m, "v", "s", &value) < 0) return false;
  *out = value;
  return true;
}

// The Unit interface's properties UnitFacts holds.
bool ReadUnitProperty(absl::string_view name, sd_bus_message* m, UnitFacts& facts) {
  if (name == "LoadState") return ReadText(m, &facts.load_state);
  if (name == "ActiveState") return ReadText(m, &facts.active_state);
  if (name == "SubState") return ReadText(m, &facts.sub_state);
  if (name == "ActiveEnterTimestamp") {
    uint64_t usec = 0;
    if (sd_bus_message_read(m, "v", "t", &usec) < 0) return false;
    if (usec > 0) facts.active_since = absl::FromUnixMicros(static_cast<int64_t>(usec));
    return true;
  }
  return false;
}

// The Service interface's.
bool ReadServiceProperty(absl::string_view name, sd_bus_message* m, UnitFacts& facts) {
  if (name == "Result") return ReadText(m, &facts.result);
  uint32_t u32 = 0;
  int32_t i32 = 0;
  uint64_t u64 = 0;
  if (name == "MainPID" && sd_bus_message_read(m, "v", "u", &u32) >= 0) {
    facts.main_pid = static_cast<int>(u32);
    return true;
  }
  if (name == "NRestarts") return sd_bus_message_read(m, "v", "u", &facts.restarts) >= 0;
  if (name == "ExecMainStatus" && sd_bus_message_read(m, "v", "i", &i32) >= 0) {
    facts.exec_main_status = i32;
    return true;
  }
  // UINT64_MAX: not accounted.
  if (name == "MemoryCurrent" && sd_bus_message_read(m, "v", "t", &u64) >= 0) {
    if (u64 != UINT64_MAX) facts.memory_bytes = u64;
    return true;
  }
  if (name == "CPUUsageNSec" && sd_bus_message_read(m, "v", "t", &u64) >= 0) {
    if (u64 != UINT64_MAX) facts.cpu_usage = absl::Nanoseconds(u64);
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<UnitFacts> SdBusServiceManager::Facts(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  return std::move(FactsOfAll({unit}).front());
}

std::vector<absl::StatusOr<UnitFacts>> SdBusServiceManager::FactsOfAll(
    const std::vector<std::string>& units) {
  std::vector<absl::StatusOr<UnitFacts>> facts(units.size(), UnitFacts());
  auto fail_all = [&](const absl::Status& status) {
    for (absl::StatusOr<UnitFacts>& each : facts) {
      if (each.ok()) each = status;
    }
    return facts;
  };
  for (size_t i = 0; i < units.size(); ++i) {
    if (absl::Status valid = ValidateUnitName(units[i]); !valid.ok()) facts[i] = valid;
  }
  absl::StatusOr<Bus> bus = Connect(options_);
  if (!bus.ok()) return fail_all(bus.status());
  const absl::Time deadline = RealDeadline(options_.timeout);
  // First every unit's object (GetUnit, not LoadUnit: loading a unit only to learn that it is
  // inactive costs the manager a pass over the unit directories, ~10 ms), then the Unit and
  // Service properties of every loaded one, each wave all at once.
  Pipeline objects(bus->get());
  std::vector<int> object_call(units.size(), -1);
  for (size_t i = 0; i < units.size(); ++i) {
    if (!facts[i].ok()) continue;
    object_call[i] = objects.Call(kPath, kManager, "GetUnit", units[i].c_str());
    if (object_call[i] < 0)
      return fail_all(absl::UnavailableError(
          absl::StrCat("systemd get ", units[i], ": ", strerror(-object_call[i]))));
  }
  if (absl::Status waited = objects.Wait(deadline); !waited.ok()) return fail_all(waited);
  Pipeline properties(bus->get());
  std::vector<std::string> paths(units.size());
  std::vector<std::pair<int, int>> property_calls(units.size(), {-1, -1});
  for (size_t i = 0; i < units.size(); ++i) {
    if (object_call[i] < 0) continue;
    sd_bus_message* reply = objects.reply(object_call[i]);
    if (sd_bus_message_is_method_error(reply, "org.freedesktop.systemd1.NoSuchUnit")) {
      facts[i]->load_state = "not-loaded";
      facts[i]->active_state = "inactive";
      facts[i]->sub_state = "dead";
      continue;
    }
    const char* path = nullptr;
    if (sd_bus_message_is_method_error(reply, nullptr)) {
      facts[i] = ReplyError("get " + units[i], reply);
      continue;
    }
    if (sd_bus_message_read(reply, "o", &path) < 0) {
      facts[i] = absl::UnavailableError("systemd get: bad reply");
      continue;
    }
    paths[i] = path;
    const int unit_call = properties.Call(path, "org.freedesktop.DBus.Properties", "GetAll", kUnit);
    const int service_call =
        properties.Call(path, "org.freedesktop.DBus.Properties", "GetAll", kServiceInterface);
    if (unit_call < 0 || service_call < 0) {
      return fail_all(absl::UnavailableError(absl::StrCat(
          "systemd properties of ", path, ": ", strerror(-std::min(unit_call, service_call)))));
    }
    property_calls[i] = {unit_call, service_call};
  }
  if (absl::Status waited = properties.Wait(deadline); !waited.ok()) return fail_all(waited);
  for (size_t i = 0; i < units.size(); ++i) {
    const auto [unit_call, service_call] = property_calls[i];
    if (unit_call < 0) continue;
    UnitFacts& unit_facts = *facts[i];
    sd_bus_message* unit_reply = properties.reply(unit_call);
    if (sd_bus_message_is_method_error(unit_reply, nullptr)) {
      facts[i] = ReplyError("properties of " + paths[i], unit_reply);
      continue;
    }
    if (absl::Status read = ReadProperties(unit_reply, paths[i],
                                           [&](absl::string_view name, sd_bus_message* m) {
                                             return ReadUnitProperty(name, m, unit_facts);
                                           });
        !read.ok()) {
      facts[i] = read;
      continue;
    }
    // A unit that is not loaded has no service properties to read.
    if (unit_facts.load_state != "loaded") continue;
    sd_bus_message* service_reply = properties.reply(service_call);
    if (sd_bus_message_is_method_error(service_reply, nullptr)) {
      facts[i] = ReplyError("properties of " + paths[i], service_reply);
      continue;
    }
    if (absl::Status read = ReadProperties(service_reply, paths[i],
                                           [&](absl::string_view name, sd_bus_message* m) {
                                             return ReadServiceProperty(name, m, unit_facts);
                                           });
        !read.ok()) {
      facts[i] = read;
    }
  }
  return facts;
}

absl::Status SdBusServiceManager::Reload() {
  L4D2_ASSIGN_OR_RETURN(Bus bus, Connect(options_));
  BusError error;
  // The manager answers once the reload is done.
  int r =
      sd_bus_call_method(bus.get(), kService, kPath, kManager, "Reload", &error.error, nullptr, "");
  if (r < 0) return CallError("daemon-reload", r, error);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UnitListing>> SdBusServiceManager::ListUnits(
    const std::string& pattern) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(pattern));
  L4D2_ASSIGN_OR_RETURN(Bus bus, Connect(options_));
  BusError error;
  sd_bus_message* raw_call = nullptr;
  int r = sd_bus_message_new_method_call(bus.get(), &raw_call, kService, kPath, kManager,
                                         "ListUnitsByPatterns");
  Message call(raw_call);
  const char* patterns[] = {pattern.c_str(), nullptr};
  char* no_states[] = {nullptr};
  if (r < 0 || (r = sd_bus_message_append_strv(call.get(), no_states)) < 0 ||
      (r = sd_bus_message_append_strv(call.get(), const_cast<char**>(patterns))) < 0) {
    return absl::UnavailableError(absl::StrCat("systemd list-units: ", strerror(-r)));
  }
  sd_bus_message* raw_reply = nullptr;
  r = sd_bus_call(bus.get(), call.get(), 0, &error.error, &raw_reply);
  Message reply(raw_reply);
  if (r < 0) return CallError("list-units", r, error);
  std::vector<UnitListing> units;
  if ((r = sd_bus_message_enter_container(reply.get(), 'a', "(ssssssouso)")) < 0) {
    return absl::UnavailableError("systemd list-units: bad reply");
  }
  const char *name, *description, *load, *active, *sub, *following, *unit_path, *job_type,
      *job_path;
  uint32_t job_id;
  while ((r = sd_bus_message_read(reply.get(), "(ssssssouso)", &name, &description, &load, &active,
                                  &sub, &following, &unit_path, &job_id, &job_type, &job_path)) >
         0) {
    units.push_back({.name = name, .active_state = active, .sub_state = sub});
  }
  if (r < 0) return absl::UnavailableError("systemd list-units: bad reply");
  return units;
}

}  // namespace l4d2::agent
