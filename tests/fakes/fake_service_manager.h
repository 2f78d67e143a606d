#pragma once

// A stateful in-memory service manager: units start (active/running with a made-up PID) and
// stop (inactive/dead); a unit can be made to fail its next start. Records every call.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/os/service_manager.h"

namespace l4d2::testing {

class FakeServiceManager final : public agent::ServiceManager {
 public:
  absl::Status Start(const std::string& unit) override {
    absl::MutexLock lock(&mutex_);
    calls_.push_back("start " + unit);
    if (fail_next_start_.erase(unit) > 0) {
      units_[unit] = Facts("failed", "failed", "exit-code", 0);
      return absl::FailedPreconditionError("Job for " + unit + " failed");
    }
    units_[unit] = Facts("active", "running", "success", next_pid_++);
    return absl::OkStatus();
  }
  absl::Status Stop(const std::string& unit) override {
    absl::MutexLock lock(&mutex_);
    calls_.push_back("stop " + unit);
    auto it = units_.find(unit);
    if (it != units_.end() && it->second.active_state != "failed") {
      it->second = Facts("inactive", "dead", "success", 0);
    }
    return absl::OkStatus();
  }
  absl::Status Signal(const std::string& unit, int signal) override {
    absl::MutexLock lock(&mutex_);
    calls_.push_back(absl::StrCat("signal ", signal, " ", unit));
    return absl::OkStatus();
  }
  absl::Status ResetFailed(const std::string& unit) override {
    absl::MutexLock lock(&mutex_);
    auto it = units_.find(unit);
    if (it != units_.end() && it->second.active_state == "failed") {
      it->second = Facts("inactive", "dead", "success", 0);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<agent::UnitFacts> Facts(const std::string& unit) override {
    absl::MutexLock lock(&mutex_);
    ++facts_calls_;
    auto it = units_.find(unit);
    return it != units_.end() ? it->second : Facts("inactive", "dead", "success", 0);
  }
  std::vector<absl::StatusOr<agent::UnitFacts>> FactsOfAll(
      const std::vector<std::string>& units) override {
    std::vector<absl::StatusOr<agent::UnitFacts>> facts = ServiceManager::FactsOfAll(units);
    absl::MutexLock lock(&mutex_);
    facts_calls_ -= static_cast<int>(units.size());  // one call to the manager, not N
    ++facts_calls_;
    return facts;
  }
  absl::Status Reload() override {
    absl::MutexLock lock(&mutex_);
    ++reloads_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<agent::UnitListing>> ListUnits(const std::string& pattern) override {
    absl::MutexLock lock(&mutex_);
    std::vector<agent::UnitListing> units;
    std::string prefix = pattern.substr(0, pattern.find('*'));
    for (const auto& [name, facts] : units_) {
      if (absl::StartsWith(name, prefix)) {
        units.push_back({name, facts.active_state, facts.sub_state});
      }
    }
    return units;
  }

  // Test controls.
  void FailNextStart(const std::string& unit) {
    absl::MutexLock lock(&mutex_);
    fail_next_start_[unit] = true;
  }
  void Set(const std::string& unit, agent::UnitFacts facts) {
    absl::MutexLock lock(&mutex_);
    units_[unit] = std::move(facts);
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }
  // Reads of unit facts asked of the manager (FactsOfAll counts as one).
  int facts_calls() {
    absl::MutexLock lock(&mutex_);
    return facts_calls_;
  }
  int reloads() {
    absl::MutexLock lock(&mutex_);
    return reloads_;
  }

 private:
  static agent::UnitFacts Facts(const char* active, const char* sub, const char* result, int pid) {
    agent::UnitFacts facts;
    facts.load_state = "loaded";
    facts.active_state = active;
    facts.sub_state = sub;
    facts.result = result;
    facts.main_pid = pid;
    return facts;
  }

  absl::Mutex mutex_;
  std::map<std::string, agent::UnitFacts> units_;
  std::map<std::string, bool> fail_next_start_;
  std::vector<std::string> calls_;
  int reloads_ = 0;
  int facts_calls_ = 0;
  int next_pid_ = 4000;
};

}  // namespace l4d2::testing
