#include "agent/host/host_info_collector.h"

#include <dirent.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/steam/keyvalues.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/version.h"

namespace l4d2::agent {
namespace {

absl::Status Unavailable(const absl::Status& cause) {
  return absl::UnavailableError(absl::StrCat("cannot read host facts: ", cause.message()));
}

// Instances are the directories below instances/ with valid names.
int CountInstances(const std::string& dir) {
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return 0;
  int count = 0;
  while (dirent* entry = ::readdir(stream)) {
    if (entry->d_type == DT_DIR && ValidateInstanceName(entry->d_name).ok()) ++count;
  }
  ::closedir(stream);
  return count;
}

}  // namespace

HostInfoCollector::HostInfoCollector(HostProbe& probe, HostLayout layout, int port_first,
                                     int port_last, absl::Time agent_started_at,
                                     RunningCounter running, PortLister held_ports)
    : probe_(probe),
      layout_(std::move(layout)),
      port_first_(port_first),
      port_last_(port_last),
      agent_started_at_(agent_started_at),
      running_(std::move(running)),
      held_ports_(std::move(held_ports)) {}

absl::StatusOr<v1::HostInfo> HostInfoCollector::Collect() const {
  v1::HostInfo info;
  info.set_agent_version(kVersion);
  absl::StatusOr<std::string> hostname = probe_.Hostname();
  if (!hostname.ok()) return Unavailable(hostname.status());
  info.set_hostname(*hostname);
  absl::StatusOr<std::string> boot_id = probe_.BootId();
  if (!boot_id.ok()) return Unavailable(boot_id.status());
  info.set_boot_id(*boot_id);
  info.set_cpu_count(probe_.CpuCount());
  absl::StatusOr<MemoryFacts> memory = probe_.Memory();
  if (!memory.ok()) return Unavailable(memory.status());
  info.set_memory_total_bytes(memory->total_bytes);
  info.set_memory_available_bytes(memory->available_bytes);
  absl::StatusOr<DiskFacts> disk = probe_.Disk(layout_.root());
  if (!disk.ok()) return Unavailable(disk.status());
  info.set_disk_total_bytes(disk->total_bytes);
  info.set_disk_free_bytes(disk->free_bytes);
  absl::StatusOr<double> load = probe_.LoadAverage1m();
  if (!load.ok()) return Unavailable(load.status());
  info.set_load_average_1m(*load);

  info.set_root(layout_.root());
  absl::StatusOr<std::string> manifest = ReadFileToString(layout_.current_app_manifest(), 1 << 20);
  if (manifest.ok()) {
    absl::StatusOr<std::string> build = ParseAppManifestBuildId(*manifest);
    if (build.ok()) info.set_installed_build_id(*build);
  }
  info.mutable_port_range()->set_first(port_first_);
  info.mutable_port_range()->set_last(port_last_);
  info.set_instance_count(CountInstances(layout_.instances_dir()));
  if (running_) {
    // Best effort: a heartbeat must not fail because systemd is slow or away.
    absl::StatusOr<int> running = running_();
    if (running.ok()) {
      info.set_running_instance_count(*running);
    } else {
      L4D2_LOG(WARNING) << "host info: running instances unknown: " << running.status().message();
    }
  }
  std::vector<int> in_use;
  if (held_ports_) in_use = held_ports_();
  // Best effort too: without the socket tables the controller still avoids instances' ports,
  // and a server placed on a port bound meanwhile is placed again.
  absl::StatusOr<std::vector<int>> bound = probe_.BoundPorts(port_first_, port_last_);
  if (bound.ok()) {
    in_use.insert(in_use.end(), bound->begin(), bound->end());
  } else {
    L4D2_LOG(WARNING) << "host info: bound ports unknown: " << bound.status().message();
  }
  std::sort(in_use.begin(), in_use.end());
  in_use.erase(std::unique(in_use.begin(), in_use.end()), in_use.end());
  for (int port : in_use) {
    if (port >= port_first_ && port <= port_last_) info.add_ports_in_use(port);
  }
  info.mutable_agent_started_at()->set_seconds(absl::ToUnixSeconds(agent_started_at_));
  return info;
}

}  // namespace l4d2::agent
