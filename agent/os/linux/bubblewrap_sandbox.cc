#include "agent/os/linux/bubblewrap_sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>

#include "absl/algorithm/container.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/os/linux/passwd_server_users.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace l4d2::agent {
namespace {

// Where things appear inside the sandbox.
constexpr char kWorkdir[] = "/overlay";
constexpr char kScript[] = "/run/left4me/script";

// Files of /etc that ordinary tools need; bound read-only when they exist.
constexpr const char* kEtcFiles[] = {
    "/etc/alternatives",  "/etc/passwd",          "/etc/group",
    "/etc/nsswitch.conf", "/etc/localtime",       "/etc/mime.types",
    "/etc/ssl",           "/etc/ca-certificates", "/etc/ld.so.cache"};
constexpr const char* kEtcNetworkFiles[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/gai.conf",
                                            "/etc/host.conf"};
constexpr int kMaxDepth = 64;

// A unit name no other run uses.
std::string UnitName() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat("left4me-overlay-script-", ::getpid(), "-", counter.fetch_add(1), "-",
                      absl::ToUnixMicros(Clock::Real().Now()), ".service");
}

absl::Status ReclaimDirectory(int directory, const std::string& path, int depth) {
  if (depth > kMaxDepth) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is nested more than ", kMaxDepth, " levels deep"));
  }
  struct stat st;
  if (::fstat(directory, &st) != 0) return ErrnoError(errno, "stat", path);
  // Owned by root first: from here on, nobody else can change what this directory holds.
  if (::fchown(directory, 0, 0) != 0) return ErrnoError(errno, "chown", path);
  if (::fchmod(directory, st.st_mode & 0755) != 0) return ErrnoError(errno, "chmod", path);
  int listing_fd = ::dup(directory);
  if (listing_fd < 0) return ErrnoError(errno, "dup", path);
  DIR* listing = ::fdopendir(listing_fd);
  if (listing == nullptr) {
    ::close(listing_fd);
    return ErrnoError(errno, "list", path);
  }
  absl::Cleanup close_listing = [listing] { ::closedir(listing); };
  while (struct dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string child = absl::StrCat(path, "/", name);
    if (::fstatat(directory, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, "stat", child);
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(directory, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) return ErrnoError(errno, "open", child);
      absl::Status status = ReclaimDirectory(sub, child, depth + 1);
      ::close(sub);
      L4D2_RETURN_IF_ERROR(status);
      continue;
    }
    if (::fchownat(directory, name.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, "chown", child);
    }
    // The parent is root's now, so the entry checked above cannot have been swapped.
    if (!S_ISLNK(st.st_mode) && ::fchmodat(directory, name.c_str(), st.st_mode & 0755, 0) != 0) {
      return ErrnoError(errno, "chmod", child);
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> HostAddresses() {
  std::vector<std::string> addresses;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return addresses;
  for (struct ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (entry->ifa_addr->sa_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr, text,
                  sizeof(text));
    } else if (entry->ifa_addr->sa_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(entry->ifa_addr)->sin6_addr, text,
                  sizeof(text));
    } else {
      continue;
    }
    if (std::find(addresses.begin(), addresses.end(), text) == addresses.end()) {
      addresses.emplace_back(text);
    }
  }
  ::freeifaddrs(list);
  return addresses;
}

std::vector<RootEntry> ProbeRootEntries(const std::string& root) {
  std::vector<RootEntry> entries;
  for (const char* name : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    const std::filesystem::path path = std::filesystem::path(root) / name;
    std::error_code error;
    std::filesystem::file_status status = std::filesystem::symlink_status(path, error);
    if (error) continue;
    if (std::filesystem::is_symlink(status)) {
      std::filesystem::path target = std::filesystem::read_symlink(path, error);
      if (!error) entries.push_back({name, target.string()});
    } else if (std::filesystem::is_directory(status)) {
      entries.push_back({name, ""});
    }
  }
  return entries;
}

std::string QuotaDirectory(const ScriptJob& job) { return job.workdir + ".quota"; }

std::vector<std::string> ScriptArgv(const BubblewrapOptions& options, const std::string& unit,
                                    const std::vector<RootEntry>& root_entries,
                                    const ScriptJob& job, const std::string& script,
                                    const ServerAccount& account) {
  // The script writes into a tmpfs of the disk quota, mounted by the manager in the unit's
  // namespace over <workdir>.quota; when it succeeds, its files are copied into the workdir
  // (by its own account, outside bubblewrap: the script never sees the workdir).
  const std::string quota = QuotaDirectory(job);
  std::vector<std::string> argv = options.systemd_run;
  // Killed by the manager at the time limit; the agent waits a little longer than that.
  const int64_t runtime =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(job.timeout, absl::Seconds(1))));
  argv.insert(
      argv.end(),
      {"--wait",
       "--pipe",
       "--quiet",
       "--collect",
       "--service-type=exec",
       "--unit=" + unit,
       "-p",
       "User=" + options.user,
       "-p",
       absl::StrCat("RuntimeMaxSec=", runtime),
       "-p",
       absl::StrCat("MemoryMax=", options.memory_max_mib + options.disk_quota_mib, "M"),
       "-p",
       "OOMScoreAdjust=800",
       "-p",
       absl::StrFormat("TemporaryFileSystem=%s:size=%dM,mode=0700,uid=%d,gid=%d,nosuid,nodev",
                       quota, options.disk_quota_mib, account.uid, account.gid),
       "-p",
       absl::StrCat("TasksMax=", options.tasks_max),
       "-p",
       "CPUQuota=" + options.cpu_quota,
       "-p",
       "NoNewPrivileges=yes",
       "-p",
       "ProtectSystem=strict",
       "-p",
       "ReadWritePaths=" + job.workdir});
  if (!options.slice.empty()) argv.push_back("--slice=" + options.slice);
  if (!options.cpus.empty()) argv.insert(argv.end(), {"-p", "CPUAffinity=" + options.cpus});
  // Build work yields to the games on a busy host.
  argv.insert(argv.end(), {"-p", "Nice=10"});
  if (job.network) {
    // Outbound only: nothing of this host (its loopback, its own addresses).
    // localhost, link-local and multicast, spelled out: systemd-run 252 does not parse the names.
    std::vector<std::string> denied = {"127.0.0.0/8", "::1/128",     "169.254.0.0/16",
                                       "fe80::/64",   "224.0.0.0/4", "ff00::/8"};
    denied.insert(denied.end(), options.denied_addresses.begin(), options.denied_addresses.end());
    argv.insert(argv.end(), {"-p", "IPAddressDeny=" + absl::StrJoin(denied, " ")});
  }
  argv.insert(argv.end(),
              {"--", "/bin/sh", "-ec", R"(q=$1 w=$2; shift 2; "$@"; exec cp -a -- "$q"/. "$w"/)",
               "left4me-script", quota, job.workdir});
  argv.insert(argv.end(), {options.bwrap, "--unshare-all", "--die-with-parent", "--new-session"});
  if (job.network) argv.push_back("--share-net");
  argv.insert(argv.end(), {"--ro-bind", "/usr", "/usr"});
  for (const RootEntry& entry : root_entries) {
    const std::string inside = "/" + entry.name;
    if (entry.symlink_target.empty()) {
      argv.insert(argv.end(), {"--ro-bind", inside, inside});
    } else {
      argv.insert(argv.end(), {"--symlink", entry.symlink_target, inside});
    }
  }
  auto bind_etc = [&argv](const char* path) {
    argv.insert(argv.end(), {"--ro-bind-try", path, path});
  };
  for (const char* path : kEtcFiles) bind_etc(path);
  if (job.network) {
    for (const char* path : kEtcNetworkFiles) bind_etc(path);
  }
  argv.insert(argv.end(), {"--proc",     "/proc",
                           "--dev",      "/dev",
                           "--tmpfs",    "/tmp",
                           "--bind",     quota,
                           kWorkdir,     "--ro-bind",
                           script,       kScript,
                           "--chdir",    kWorkdir,
                           "--clearenv", "--setenv",
                           "PATH",       "/usr/local/bin:/usr/bin:/bin",
                           "--setenv",   "HOME",
                           "/tmp",       "--setenv",
                           "LANG",       "C.UTF-8",
                           "--setenv",   "LEFT4ME_OVERLAY",
                           kWorkdir,     "--"});
  if (absl::StartsWith(job.source, "#!")) {
    argv.push_back(kScript);
  } else {
    argv.insert(argv.end(), {"/bin/sh", "-e", kScript});
  }
  return argv;
}

absl::Status ReclaimTree(const std::string& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open", directory);
  absl::Status status = ReclaimDirectory(fd, directory, 0);
  ::close(fd);
  return status;
}

BubblewrapSandbox::BubblewrapSandbox(ProcessRunner& runner, BubblewrapOptions options)
    : runner_(runner), options_(std::move(options)) {}

absl::Status BubblewrapSandbox::Run(const ScriptJob& job, const LineSink& output) {
  L4D2_ASSIGN_OR_RETURN(ServerAccount account,
                        UnprivilegedAccount(options_.user, "overlay scripts (scripts.user)"));
  // The script file: readable and executable by the script's group only, never writable.
  const std::string script = job.workdir + ".script";
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(script, job.source, 0550, Durability::kRegenerable));
  absl::Cleanup remove_script = [&script] { ::unlink(script.c_str()); };
  // The quota's mount point (the manager mounts the tmpfs over it, in the unit's namespace only).
  const std::string quota = QuotaDirectory(job);
  if (::mkdir(quota.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoError(errno, "create", quota);
  absl::Cleanup remove_quota = [&quota] { ::rmdir(quota.c_str()); };
  if (::chown(script.c_str(), 0, account.gid) != 0) return ErrnoError(errno, "chown", script);
  if (::chown(job.workdir.c_str(), account.uid, account.gid) != 0 ||
      ::chmod(job.workdir.c_str(), 0700) != 0) {
    return ErrnoError(errno, "hand over", job.workdir);
  }
  // The host's addresses as they are now (they may change while the agent runs).
  BubblewrapOptions options = options_;
  if (job.network) {
    for (std::string& address : HostAddresses()) {
      options.denied_addresses.push_back(std::move(address));
    }
  }
  // Taken back whatever happens; a failure to do so is reported over the script's outcome.
  std::vector<std::string> env = options_.env;
  env.push_back("PATH=/usr/bin:/bin");
  absl::Status ran = [&]() -> absl::Status {
    L4D2_ASSIGN_OR_RETURN(std::unique_ptr<RunningProcess> process,
                          runner_.Start({.argv = ScriptArgv(options, UnitName(), ProbeRootEntries(),
                                                            job, script, account),
                                         .env = env,
                                         .cwd = "/"}));
    // The script's time limit is systemd's (RuntimeMaxSec), in real time.
    const absl::Time timed_out = RealDeadline(job.timeout);
    const absl::Time deadline = timed_out + absl::Seconds(10);
    std::deque<std::string> tail;
    int lines = 0;
    while (true) {
      absl::StatusOr<std::string> line = process->ReadLine(deadline);
      if (absl::IsOutOfRange(line.status())) break;
      if (!line.ok()) {
        // The manager should have ended the unit at RuntimeMaxSec; ending systemd-run leaves
        // that to it.
        process->Signal(SIGKILL);
        (void)process->Wait(RealDeadline(absl::Seconds(10)));
        return absl::DeadlineExceededError(absl::StrCat("overlay script did not finish within ",
                                                        absl::FormatDuration(job.timeout)));
      }
      if (++lines <= options_.max_output_lines) {
        output(*line);
      } else if (lines == options_.max_output_lines + 1) {
        output(absl::StrCat("[left4me: more than ", options_.max_output_lines,
                            " lines of output; the rest is not shown]"));
      }
      tail.push_back(line->substr(0, 300));
      if (tail.size() > 5) tail.pop_front();
    }
    L4D2_ASSIGN_OR_RETURN(ExitStatus exit, process->Wait(RealDeadline(absl::Seconds(10))));
    if (!exit.success() && RealTimeLeft(timed_out) <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("overlay script did not finish within ", absl::FormatDuration(job.timeout)));
    }
    if (!exit.success()) {
      const bool full = absl::c_any_of(
          tail, [](const std::string& line) { return absl::StrContains(line, "No space left"); });
      return absl::FailedPreconditionError(absl::StrCat(
          "overlay script failed (", exit.ToString(), ")",
          full ? absl::StrCat(": its files exceed the disk quota (scripts.disk_quota_mib, ",
                              options_.disk_quota_mib, " MiB)")
               : "",
          tail.empty() ? "" : ": ", absl::StrJoin(tail, " | ")));
    }
    return absl::OkStatus();
  }();
  absl::Status reclaimed = ReclaimTree(job.workdir);
  if (!reclaimed.ok()) return reclaimed;
  if (::chmod(job.workdir.c_str(), 0755) != 0) return ErrnoError(errno, "chmod", job.workdir);
  return ran;
}

}  // namespace l4d2::agent
