#include "agent/os/linux/linux_host_probe.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "agent/os/proc_parsers.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::agent {

absl::StatusOr<std::string> LinuxHostProbe::Hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return ErrnoError(errno, "read", "hostname");
  return std::string(name);
}

absl::StatusOr<std::string> LinuxHostProbe::BootId() {
  L4D2_ASSIGN_OR_RETURN(std::string id, ReadFileToString("/proc/sys/kernel/random/boot_id", 4096));
  return std::string(absl::StripAsciiWhitespace(id));
}

int LinuxHostProbe::CpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
}

absl::StatusOr<MemoryFacts> LinuxHostProbe::Memory() {
  L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString("/proc/meminfo", 1 << 20));
  return ParseMeminfo(text);
}

absl::StatusOr<DiskFacts> LinuxHostProbe::Disk(const std::string& path) {
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) != 0) return ErrnoError(errno, "statvfs", path);
  return DiskFacts{.total_bytes = uint64_t{fs.f_blocks} * fs.f_frsize,
                   .free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize};
}

absl::StatusOr<double> LinuxHostProbe::LoadAverage1m() {
  L4D2_ASSIGN_OR_RETURN(std::string text, ReadFileToString("/proc/loadavg", 4096));
  return ParseLoadavg(text);
}

absl::StatusOr<std::vector<int>> LinuxHostProbe::BoundPorts(int first, int last) {
  std::vector<int> ports;
  for (auto [table, listening_only] :
       {std::pair{"/proc/net/udp", false}, std::pair{"/proc/net/udp6", false},
        std::pair{"/proc/net/tcp", true}, std::pair{"/proc/net/tcp6", true}}) {
    // Tables of a busy host run to megabytes; 64 MiB is far beyond any.
    absl::StatusOr<std::string> text = ReadFileToString(table, 64 << 20);
    if (absl::IsNotFound(text.status())) continue;
    L4D2_RETURN_IF_ERROR(text.status());
    L4D2_RETURN_IF_ERROR(AppendSocketPorts(*text, listening_only, first, last, ports));
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

absl::StatusOr<std::vector<std::string>> HostIpv4Addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return ErrnoError(errno, "getifaddrs", "");
  std::vector<std::string> addresses;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    if ((entry->ifa_flags & IFF_UP) == 0 || (entry->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if (inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text)) != nullptr) {
      addresses.emplace_back(text);
    }
  }
  freeifaddrs(list);
  return addresses;
}

}  // namespace l4d2::agent
