#include "agent/os/linux/sd_bus_service_manager.h"

#include <string.h>
#include <systemd/sd-bus.h>

#include <functional>
#include <map>
#include <memory>

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

// Reads every property of `interface` on `path` with one GetAll; `read` reads the variant of
// the properties it knows (returning true) and the rest are skipped.
absl::Status ReadAllProperties(
    sd_bus* bus, const std::string& path, const char* interface,
    const std::function<bool(absl::string_view, sd_bus_message*)>& read) {
  BusError error;
  sd_bus_message* raw_reply = nullptr;
  int r = sd_bus_call_method(bus, kService, path.c_str(), "org.freedesktop.DBus.Properties",
                             "GetAll", &error.error, &raw_reply, "s", interface);
  Message reply(raw_reply);
  if (r < 0) return CallError(absl::StrCat("properties of ", path), r, error);
  auto bad = [&] {
    return absl::UnavailableError(absl::StrCat("systemd: bad properties of ", path));
  };
  if (sd_bus_message_enter_container(reply.get(), 'a', "{sv}") < 0) return bad();
  while ((r = sd_bus_message_enter_container(reply.get(), 'e', "sv")) > 0) {
    const char* name = nullptr;
    if (sd_bus_message_read(reply.get(), "s", &name) < 0) return bad();
    if (!read(name, reply.get()) && sd_bus_message_skip(reply.get(), "v") < 0) return bad();
    if (sd_bus_message_exit_container(reply.get()) < 0) return bad();
  }
  if (r < 0) return bad();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UnitFacts> SdBusServiceManager::Facts(const std::string& unit) {
  L4D2_RETURN_IF_ERROR(ValidateUnitName(unit));
  L4D2_ASSIGN_OR_RETURN(Bus bus, Connect(options_));
  UnitFacts facts;
  BusError error;
  sd_bus_message* raw_reply = nullptr;
  // GetUnit, not LoadUnit: loading a unit only to learn that it is inactive costs the manager
  // a pass over the unit directories (~10 ms).
  int r = sd_bus_call_method(bus.get(), kService, kPath, kManager, "GetUnit", &error.error,
                             &raw_reply, "s", unit.c_str());
  Message reply(raw_reply);
  if (r < 0 && error.Is("org.freedesktop.systemd1.NoSuchUnit")) {
    facts.load_state = "not-loaded";
    facts.active_state = "inactive";
    facts.sub_state = "dead";
    return facts;
  }
  if (r < 0) return CallError("get " + unit, r, error);
  const char* path_raw = nullptr;
  if (sd_bus_message_read(reply.get(), "o", &path_raw) < 0) {
    return absl::UnavailableError("systemd get: bad reply");
  }
  const std::string path = path_raw;
  auto text = [](sd_bus_message* m, std::string* out) {
    const char* value = nullptr;
    if (sd_bus_message_read(m, "v", "s", &value) < 0) return false;
    *out = value;
    return true;
  };
  L4D2_RETURN_IF_ERROR(
      ReadAllProperties(bus.get(), path, kUnit, [&](absl::string_view name, sd_bus_message* m) {
        if (name == "LoadState") return text(m, &facts.load_state);
        if (name == "ActiveState") return text(m, &facts.active_state);
        if (name == "SubState") return text(m, &facts.sub_state);
        if (name == "ActiveEnterTimestamp") {
          uint64_t usec = 0;
          if (sd_bus_message_read(m, "v", "t", &usec) < 0) return false;
          if (usec > 0) facts.active_since = absl::FromUnixMicros(static_cast<int64_t>(usec));
          return true;
        }
        return false;
      }));
  if (facts.load_state != "loaded") return facts;  // No service properties to read.
  L4D2_RETURN_IF_ERROR(ReadAllProperties(
      bus.get(), path, kServiceInterface, [&](absl::string_view name, sd_bus_message* m) {
        if (name == "Result") return text(m, &facts.result);
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
      }));
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
