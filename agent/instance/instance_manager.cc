#include "agent/instance/instance_manager.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agent/game/rcon_status.h"
#include "agent/instance/server_tree.h"
#include "agent/overlay_helper/mount_plan.h"
#include "agent/steam/keyvalues.h"
#include "common/crash_points.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "spec/ports.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;

std::string NewPassword() {
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::random_device random;
  std::string password;
  for (int i = 0; i < 24; ++i) password.push_back(kAlphabet[random() % (sizeof(kAlphabet) - 1)]);
  return password;
}

// sv_logsecret is an integer cvar: 9 random digits, never 0 (the game's "none").
std::string NewLogSecret() {
  std::random_device random;
  std::uniform_int_distribution<int> digits(100000000, 999999999);
  return std::to_string(digits(random));
}

absl::Status MakeDirs(const std::string& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) return ErrnoError(error.value(), "create directory", path);
  return absl::OkStatus();
}

void SetDuration(google::protobuf::Duration* out, absl::Duration duration) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// systemd 252 keeps Result=exit-code (not start-limit-hit) when the start limit stops automatic
// restarts, so a failed unit whose policy would restart it means systemd gave up.
v1::InstanceState StateOf(const UnitFacts& unit, bool game_answers,
                          v1::RestartPolicy::Mode restart) {
  if (unit.active_state == "active") {
    return game_answers ? v1::INSTANCE_STATE_RUNNING : v1::INSTANCE_STATE_STARTING;
  }
  if (unit.active_state == "activating") {
    return unit.sub_state == "auto-restart" ? v1::INSTANCE_STATE_CRASHED
                                            : v1::INSTANCE_STATE_STARTING;
  }
  if (unit.active_state == "deactivating") return v1::INSTANCE_STATE_STOPPING;
  if (unit.active_state == "failed") {
    const bool would_restart = restart != v1::RestartPolicy::MODE_NEVER;
    return unit.result == "start-limit-hit" || would_restart ? v1::INSTANCE_STATE_CRASH_LOOP
                                                             : v1::INSTANCE_STATE_CRASHED;
  }
  return v1::INSTANCE_STATE_STOPPED;
}

}  // namespace

InstanceManager::InstanceManager(HostLayout layout, ServiceManager& systemd, GameClient& game,
                                 Clock& clock, InstanceManagerOptions options,
                                 std::function<bool(const std::string&)> mounted)
    : layout_(std::move(layout)),
      systemd_(systemd),
      game_(game),
      clock_(clock),
      options_(std::move(options)),
      mounted_(std::move(mounted)) {}

std::string InstanceManager::InstanceDir(const std::string& name) const {
  return absl::StrCat(layout_.instances_dir(), "/", name);
}
std::string InstanceManager::RuntimeDir(const std::string& name) const {
  return absl::StrCat(layout_.runtime_dir(), "/", name);
}
std::string InstanceManager::UnitOf(const std::string& name) const {
  return UnitName(options_.unit.unit_prefix, name);
}
std::string InstanceManager::DropInPath(const std::string& name) const {
  return absl::StrCat(options_.unit_dir, "/", UnitOf(name), ".d/50-instance.conf");
}

absl::Status InstanceManager::InstallUnitTemplate() {
  L4D2_RETURN_IF_ERROR(MakeDirs(options_.unit_dir));
  std::vector<std::pair<std::string, std::string>> units = RenderSlices(options_.unit);
  units.emplace_back(absl::StrCat(options_.unit.unit_prefix, "@.service"),
                     RenderUnitTemplate(options_.unit));
  bool changed = false;
  for (const auto& [file, text] : units) {
    const std::string path = absl::StrCat(options_.unit_dir, "/", file);
    absl::StatusOr<std::string> existing = ReadFileToString(path, 1 << 20);
    if (existing.ok() && *existing == text) continue;
    L4D2_RETURN_IF_ERROR(WriteFileAtomically(path, text, 0644));
    changed = true;
  }
  return changed ? systemd_.Reload() : absl::OkStatus();
}

absl::StatusOr<internal::InstanceRecord> InstanceManager::Record(const std::string& name) const {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  absl::StatusOr<std::string> bytes =
      ReadFileToString(InstanceDir(name) + "/instance.binpb", 1 << 20);
  if (absl::IsNotFound(bytes.status())) {
    return absl::NotFoundError(absl::StrCat("no instance '", name, "'"));
  }
  L4D2_RETURN_IF_ERROR(bytes.status());
  internal::InstanceRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("instance '", name, "': corrupt record"));
  }
  return record;
}

absl::Status InstanceManager::WriteRecord(const internal::InstanceRecord& record) const {
  return WriteFileAtomically(InstanceDir(record.name()) + "/instance.binpb",
                             record.SerializeAsString(), 0600);
}

absl::StatusOr<std::string> InstanceManager::RconPassword(const std::string& name) const {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  L4D2_ASSIGN_OR_RETURN(std::string password,
                        ReadFileToString(InstanceDir(name) + "/rcon_password", 4096));
  password = std::string(absl::StripAsciiWhitespace(password));
  if (password.empty()) {
    return absl::NotFoundError(absl::StrCat("instance '", name, "' has no RCON password yet"));
  }
  return password;
}

absl::StatusOr<std::string> InstanceManager::EnsureRconPassword(const std::string& name) {
  absl::StatusOr<std::string> password = RconPassword(name);
  if (!absl::IsNotFound(password.status())) return password;
  // A new instance's password is written without fsync (initializing many instances costs one
  // sync each, for the record); one lost to a crash is made again here, before any server
  // could have been started with it.
  std::string fresh = NewPassword();
  L4D2_RETURN_IF_ERROR(
      WriteFileAtomically(InstanceDir(name) + "/rcon_password", fresh + "\n", 0600));
  return fresh;
}

absl::StatusOr<std::string> InstanceManager::LogSecret(const std::string& name) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  const std::string path = InstanceDir(name) + "/log_secret";
  absl::StatusOr<std::string> secret = ReadFileToString(path, 64);
  if (secret.ok()) {
    std::string digits(absl::StripAsciiWhitespace(*secret));
    if (!digits.empty() && absl::c_all_of(digits, absl::ascii_isdigit)) return digits;
  } else if (!absl::IsNotFound(secret.status())) {
    return secret.status();
  }
  if (!std::filesystem::is_directory(InstanceDir(name))) {
    return absl::NotFoundError(absl::StrCat("instance '", name, "' does not exist"));
  }
  // Made at first use (instances from before the log stream have none) or again when damaged;
  // a server started with the old one is told the new one at its next start.
  std::string fresh = NewLogSecret();
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(path, fresh + "\n", 0600));
  return fresh;
}

void InstanceManager::LoadPortsLocked() {
  if (ports_loaded_) return;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(layout_.instances_dir(), error)) {
    const std::string other = entry.path().filename().string();
    if (!ValidateInstanceName(other).ok()) continue;
    absl::StatusOr<internal::InstanceRecord> record = Record(other);
    if (!record.ok()) continue;
    ports_.emplace(record->spec().port(), other);
    if (!record->account().empty()) accounts_.emplace(record->account(), other);
  }
  ports_loaded_ = true;
}

absl::StatusOr<bool> InstanceManager::ReservePort(const std::string& name, int port) {
  absl::MutexLock lock(&ports_mutex_);
  LoadPortsLocked();
  auto [it, inserted] = ports_.emplace(port, name);
  if (it->second != name) {
    return spec::PortTakenError(port, absl::StrCat("instance '", it->second, "'"));
  }
  return inserted;
}

std::vector<int> InstanceManager::HeldPorts() {
  absl::MutexLock lock(&ports_mutex_);
  LoadPortsLocked();
  std::vector<int> held;
  held.reserve(ports_.size());
  for (const auto& [port, name] : ports_) held.push_back(port);
  std::sort(held.begin(), held.end());
  return held;
}

absl::StatusOr<bool> InstanceManager::AssignAccount(internal::InstanceRecord* record) {
  if (options_.server_users.empty() || !record->account().empty()) return false;
  if (options_.accounts == nullptr) {
    return absl::FailedPreconditionError("no user database to take server accounts from");
  }
  L4D2_ASSIGN_OR_RETURN(std::vector<ServerAccount> pool,
                        options_.accounts->Pool(options_.server_users));
  absl::MutexLock lock(&ports_mutex_);
  LoadPortsLocked();
  for (const ServerAccount& account : pool) {
    // Free, or this instance's already (reserved by an attempt that did not get recorded).
    auto [it, inserted] = accounts_.emplace(account.name, record->name());
    if (!inserted && it->second != record->name()) continue;
    record->set_account(account.name);
    record->set_account_uid(account.uid);
    record->set_account_gid(account.gid);
    return true;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no free server account: the ", pool.size(), " accounts named '", options_.server_users,
      "*' all run servers of this host; add accounts (deploy/sysusers.d/left4me.conf)"));
}

void InstanceManager::ReleaseAccount(const std::string& name) {
  absl::MutexLock lock(&ports_mutex_);
  absl::erase_if(accounts_, [&](const auto& entry) { return entry.second == name; });
}

absl::Status InstanceManager::GiveFilesToAccount(const internal::InstanceRecord& record,
                                                 const std::vector<std::string>& lowers) {
  const FileOwner owner{.uid = record.account_uid(), .gid = record.account_gid()};
  const std::string runtime = RuntimeDir(record.name());
  // Other servers cannot enter; the game reaches merged/ and nothing else of the host's tree.
  if (::chown(runtime.c_str(), owner.uid, owner.gid) != 0 || ::chmod(runtime.c_str(), 0700) != 0) {
    return ErrnoError(errno, "give to the server's account", runtime);
  }
  if (::chmod(InstanceDir(record.name()).c_str(), 0700) != 0) {
    return ErrnoError(errno, "chmod", InstanceDir(record.name()));
  }
  return GiveDirectoriesTo(runtime + "/upper", lowers, owner);
}

void InstanceManager::ReleasePorts(const std::string& name, std::optional<int> except) {
  absl::MutexLock lock(&ports_mutex_);
  absl::erase_if(ports_, [&](const auto& entry) {
    return entry.second == name && (!except || entry.first != *except);
  });
}

absl::StatusOr<v1::Instance> InstanceManager::Initialize(const std::string& name,
                                                         const v1::InstanceSpec& given) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  v1::InstanceSpec spec = spec::WithDefaults(name, given);
  L4D2_RETURN_IF_ERROR(spec::ValidateSpec(spec, options_.limits));
  for (const v1::OverlayLayer& overlay : spec.overlays()) {
    std::error_code error;
    if (!fs::is_symlink(layout_.overlay_dir(overlay.ref()) + "/current", error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.overlays: no overlay '", overlay.ref(), "' on this host"));
    }
  }
  // The port is reserved at once (two instances initialized together cannot both take it), and
  // given back if this initialization fails.
  L4D2_ASSIGN_OR_RETURN(const bool reserved, ReservePort(name, spec.port()));
  absl::Cleanup unreserve = [&] {
    if (reserved) {
      absl::MutexLock lock(&ports_mutex_);
      ports_.erase(spec.port());
    }
  };
  if (reserved && options_.ports != nullptr) {
    // A port new to this instance: another process (a server run by hand, another tool) may
    // hold it, and the game would then fail to bind at start. Its own port it may hold itself.
    L4D2_ASSIGN_OR_RETURN(std::vector<int> bound,
                          options_.ports->BoundPorts(spec.port(), spec.port()));
    if (!bound.empty()) return spec::PortTakenError(spec.port(), "another process on this host");
  }
  absl::StatusOr<internal::InstanceRecord> existing = Record(name);
  internal::InstanceRecord record;
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  if (existing.ok()) {
    record = *std::move(existing);
    record.set_restart_pending(record.restart_pending() ||
                               record.spec().SerializeAsString() != spec.SerializeAsString());
  } else if (absl::IsNotFound(existing.status())) {
    record.set_name(name);
    record.set_created_at_unix(now);
  } else {
    return existing.status();
  }
  *record.mutable_spec() = spec;
  record.set_updated_at_unix(now);
  L4D2_ASSIGN_OR_RETURN(const bool new_account, AssignAccount(&record));
  absl::Cleanup unassign = [&] {
    if (new_account) ReleaseAccount(name);
  };
  L4D2_RETURN_IF_ERROR(MakeDirs(InstanceDir(name)));
  for (const char* sub : {"/upper", "/work", "/merged"}) {
    L4D2_RETURN_IF_ERROR(MakeDirs(RuntimeDir(name) + sub));
  }
  if (!existing.ok()) {
    L4D2_RETURN_IF_ERROR(WriteFileAtomically(InstanceDir(name) + "/rcon_password",
                                             NewPassword() + "\n", 0600, Durability::kRegenerable));
  }
  // The instance's files are rendered now when nothing runs from them (a new instance, or a
  // stopped one on a host with the game installed), so that it is ready to mount and its
  // server.cfg can be read; a running one renders at its next start. Start renders again with
  // the versions current then.
  std::error_code error;
  bool render = fs::is_symlink(layout_.current_installation(), error);
  if (render && existing.ok()) {
    L4D2_ASSIGN_OR_RETURN(UnitFacts unit, systemd_.Facts(UnitOf(name)));
    render = (unit.active_state == "inactive" || unit.active_state == "failed") && !mounted_(name);
  }
  CrashPoint("initialize.before_record");
  L4D2_RETURN_IF_ERROR(render ? Prepare(&record) : WriteRecord(record));
  std::move(unreserve).Cancel();
  std::move(unassign).Cancel();
  ReleasePorts(name, spec.port());
  return Describe(record, /*query_game=*/false, false);
}

absl::Status InstanceManager::Prepare(internal::InstanceRecord* record) {
  const std::string& name = record->name();
  const std::string installation = [&] {
    std::error_code error;
    fs::path target = fs::read_symlink(layout_.current_installation(), error);
    return error ? std::string() : target.filename().string();
  }();
  if (installation.empty()) {
    return absl::FailedPreconditionError("the game is not installed on this host (run install)");
  }
  MountPlan plan{.instance = name, .installation = installation};
  // An instance made before servers had accounts gets one before it starts again: the template
  // no longer names a user, so without one it would run as the manager's (root).
  L4D2_RETURN_IF_ERROR(AssignAccount(record).status());
  // The server's own account, when it has one: what it reads is its alone.
  std::optional<FileOwner> owner;
  if (!record->account().empty()) {
    owner = FileOwner{.uid = record->account_uid(), .gid = record->account_gid()};
  }
  std::vector<std::string> lowers = {InstanceDir(name) + "/layer"};
  std::vector<std::string> exec_files;
  record->clear_layers();
  const std::string cfg_dir = InstanceDir(name) + "/layer/left4dead2/cfg";
  std::error_code error;
  fs::remove_all(InstanceDir(name) + "/layer", error);
  L4D2_RETURN_IF_ERROR(MakeDirs(cfg_dir));
  for (const v1::OverlayLayer& overlay : record->spec().overlays()) {
    const std::string base = layout_.overlay_dir(overlay.ref());
    fs::path version = fs::read_symlink(base + "/current", error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("overlay '", overlay.ref(), "' has no current version"));
    }
    v1::PinnedLayer* pinned = record->add_layers();
    pinned->set_ref(overlay.ref());
    pinned->set_version(version.filename().string());
    plan.overlays.push_back({.ref = overlay.ref(), .version = pinned->version()});
    lowers.push_back(absl::StrCat(base, "/", pinned->version()));
    // The overlay's own server.cfg, under a name of its own so that the rendered one wins.
    // Resolved by the kernel inside the version: a link chain out of it is refused, not read
    // (as root) into a file the server can read.
    absl::StatusOr<std::string> text =
        ReadFileBeneath(absl::StrCat(base, "/", pinned->version()), "left4dead2/cfg/server.cfg",
                        1 << 20, Symlinks::kFollowInside);
    if (!text.ok() && !absl::IsNotFound(text.status())) {
      return absl::FailedPreconditionError(absl::StrCat("overlay '", overlay.ref(), "' version ",
                                                        pinned->version(), ": ",
                                                        text.status().message()));
    }
    if (text.ok()) {
      const std::string cfg_name = spec::OverlayCfgName(overlay.ref());
      L4D2_RETURN_IF_ERROR(WriteFileAtomically(cfg_dir + "/" + cfg_name, *text, owner ? 0600 : 0644,
                                               Durability::kRegenerable, owner));
      if (overlay.exec_server_cfg()) exec_files.push_back(cfg_name);
    }
  }
  L4D2_ASSIGN_OR_RETURN(std::string password, EnsureRconPassword(name));
  std::string log_secret;
  if (!options_.game_log_address.empty()) {
    L4D2_ASSIGN_OR_RETURN(log_secret, LogSecret(name));
  }
  L4D2_RETURN_IF_ERROR(
      WriteFileAtomically(cfg_dir + "/server.cfg",
                          spec::RenderServerCfg({.name = name,
                                                 .spec = record->spec(),
                                                 .rcon_password = password,
                                                 .exec_files = exec_files,
                                                 .log_address = options_.game_log_address,
                                                 .log_secret = log_secret}),
                          owner ? 0600 : 0640, Durability::kRegenerable, owner));
  lowers.push_back(absl::StrCat(layout_.installation_dir(), "/", installation));
  if (owner) L4D2_RETURN_IF_ERROR(GiveFilesToAccount(*record, lowers));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(InstanceDir(name) + "/lower", RenderMountPlan(plan),
                                           0644, Durability::kRegenerable));
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(
      InstanceDir(name) + "/unit.env",
      absl::StrCat(
          "L4D2_ARGS=", absl::StrJoin(spec::LaunchArguments(record->spec(), options_.bind_ip), " "),
          "\n"),
      0644, Durability::kRegenerable));
  // Keeps the build from removal by updates while the instance may run from it. Written again
  // before every start, so one lost with the machine (nothing runs then) is harmless.
  L4D2_RETURN_IF_ERROR(WriteFileAtomically(layout_.instance_installation_file(name),
                                           installation + "\n", 0644, Durability::kRegenerable));
  // A drop-in only for specs that differ from the template's defaults; systemd reloads
  // (tens of milliseconds, more with many units) only when it changed.
  const std::string dropin = RenderInstanceDropIn(record->spec(), record->account());
  absl::StatusOr<std::string> current_dropin = ReadFileToString(DropInPath(name), 1 << 20);
  if (dropin.empty() && current_dropin.ok()) {
    fs::remove_all(fs::path(DropInPath(name)).parent_path(), error);
    L4D2_RETURN_IF_ERROR(systemd_.Reload());
  } else if (!dropin.empty() && (!current_dropin.ok() || *current_dropin != dropin)) {
    L4D2_RETURN_IF_ERROR(MakeDirs(fs::path(DropInPath(name)).parent_path().string()));
    L4D2_RETURN_IF_ERROR(WriteFileAtomically(DropInPath(name), dropin, 0644));
    L4D2_RETURN_IF_ERROR(systemd_.Reload());
  }
  absl::StatusOr<std::string> build = ReadFileToString(layout_.app_manifest(installation), 1 << 20);
  record->set_installation(installation);
  absl::StatusOr<std::string> build_id =
      build.ok() ? ParseAppManifestBuildId(*build) : build.status();
  record->set_build_id(build_id.ok() ? *build_id : "");
  record->set_restart_pending(false);
  return WriteRecord(*record);
}

absl::StatusOr<v1::Instance> InstanceManager::Start(const std::string& name) {
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, Record(name));
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  L4D2_ASSIGN_OR_RETURN(UnitFacts unit, systemd_.Facts(UnitOf(name)));
  if (unit.active_state == "active" || unit.active_state == "activating") {
    return Describe(record, true, false);  // Already running: starting again is a no-op.
  }
  if (mounted_(name)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "instance '", name, "' is stopped but its overlay is still mounted (orphan mount)"));
  }
  L4D2_RETURN_IF_ERROR(Prepare(&record));
  if (unit.active_state == "failed") L4D2_RETURN_IF_ERROR(systemd_.ResetFailed(UnitOf(name)));
  CrashPoint("start.before_unit_start");
  L4D2_RETURN_IF_ERROR(systemd_.Start(UnitOf(name)));
  return Describe(record, false, false);
}

absl::StatusOr<v1::Instance> InstanceManager::Stop(const std::string& name) {
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, Record(name));
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  L4D2_RETURN_IF_ERROR(systemd_.Stop(UnitOf(name)));
  // systemctl stop returns after ExecStopPost, whose failure it does not report.
  if (mounted_(name)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "instance '", name, "' stopped but its overlay is still mounted (see its journal)"));
  }
  return Describe(record, false, false);
}

absl::StatusOr<v1::Instance> InstanceManager::Restart(const std::string& name) {
  L4D2_RETURN_IF_ERROR(Stop(name).status());
  return Start(name);
}

absl::StatusOr<v1::Instance> InstanceManager::Reset(const std::string& name) {
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, Record(name));
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  absl::Status stopped = Stop(name).status();
  if (!stopped.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not wiping the writable layer: ", stopped.message()));
  }
  for (const char* sub : {"/upper", "/work"}) {
    std::error_code error;
    fs::remove_all(RuntimeDir(name) + sub, error);
    if (error) return ErrnoError(error.value(), "wipe", RuntimeDir(name) + sub);
    L4D2_RETURN_IF_ERROR(MakeDirs(RuntimeDir(name) + sub));
  }
  return Describe(record, false, false);
}

absl::StatusOr<bool> InstanceManager::Running(const std::string& name) {
  L4D2_ASSIGN_OR_RETURN(UnitFacts unit, systemd_.Facts(UnitOf(name)));
  return (unit.active_state != "inactive" && unit.active_state != "failed") || mounted_(name);
}

absl::Status InstanceManager::ReplaceWritableLayer(const std::string& name,
                                                   const std::string& layer) {
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, Record(name));
  L4D2_ASSIGN_OR_RETURN(bool running, Running(name));
  if (running) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance '", name, "' runs: stop it before its writable layer is replaced"));
  }
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  if (!record.account().empty()) {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(layer, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (::lchown(it->path().c_str(), record.account_uid(), record.account_gid()) != 0) {
        return ErrnoError(errno, "give to the server's account", it->path().string());
      }
    }
    if (error) return ErrnoError(error.value(), "walk", layer);
    if (::lchown(layer.c_str(), record.account_uid(), record.account_gid()) != 0) {
      return ErrnoError(errno, "give to the server's account", layer);
    }
  }
  const std::string upper = WritableLayer(name);
  const std::string old = RuntimeDir(name) + "/.replaced";
  std::error_code error;
  fs::remove_all(old, error);
  if (fs::exists(upper, error) && ::rename(upper.c_str(), old.c_str()) != 0) {
    return ErrnoError(errno, "move aside", upper);
  }
  if (::rename(layer.c_str(), upper.c_str()) != 0) {
    const int saved = errno;
    (void)::rename(old.c_str(), upper.c_str());
    return ErrnoError(saved, "put in place", layer);
  }
  fs::remove_all(old, error);
  if (error) return ErrnoError(error.value(), "remove", old);
  fs::remove_all(RuntimeDir(name) + "/work", error);
  if (error) return ErrnoError(error.value(), "empty", RuntimeDir(name) + "/work");
  return MakeDirs(RuntimeDir(name) + "/work");
}

absl::StatusOr<bool> InstanceManager::Delete(const std::string& name) {
  L4D2_RETURN_IF_ERROR(ValidateInstanceName(name));
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  std::error_code error;
  const bool existed = fs::exists(InstanceDir(name), error) || fs::exists(RuntimeDir(name), error);
  absl::StatusOr<UnitFacts> unit = systemd_.Facts(UnitOf(name));
  if (unit.ok() && unit->active_state != "inactive" && unit->active_state != "failed") {
    L4D2_RETURN_IF_ERROR(systemd_.Stop(UnitOf(name)));
  }
  (void)systemd_.ResetFailed(UnitOf(name));
  if (mounted_(name)) {
    // Never remove through a live mount: that would write into the layers below.
    return absl::FailedPreconditionError(
        absl::StrCat("instance '", name, "' is still mounted; not deleting its files"));
  }
  CrashPoint("delete.after_unit_stop");
  // systemd forgets the drop-in before the instance's directory goes: a crash in between
  // leaves the directory, so a retry still counts as existing and reloads.
  const std::string dropin_dir = fs::path(DropInPath(name)).parent_path().string();
  const bool had_dropin = fs::exists(dropin_dir, error);
  fs::remove_all(dropin_dir, error);
  if (error) return ErrnoError(error.value(), "remove", dropin_dir);
  if (existed || had_dropin) L4D2_RETURN_IF_ERROR(systemd_.Reload());
  CrashPoint("delete.after_reload");
  fs::remove_all(RuntimeDir(name), error);
  if (error) return ErrnoError(error.value(), "remove", RuntimeDir(name));
  fs::remove_all(InstanceDir(name), error);
  if (error) return ErrnoError(error.value(), "remove", InstanceDir(name));
  ReleasePorts(name, std::nullopt);
  ReleaseAccount(name);
  {
    absl::MutexLock lock(&cache_mutex_);
    answered_.erase(name);  // hang detection's memory of its game
  }
  return existed;
}

absl::StatusOr<v1::Instance> InstanceManager::Describe(const internal::InstanceRecord& record,
                                                       bool query_game, bool include_players,
                                                       const UnitFacts* known) {
  v1::Instance instance;
  instance.set_name(record.name());
  *instance.mutable_spec() = record.spec();
  *instance.mutable_layers() = record.layers();
  instance.set_build_id(record.build_id());
  instance.mutable_created_at()->set_seconds(record.created_at_unix());
  instance.mutable_updated_at()->set_seconds(record.updated_at_unix());
  v1::InstanceStatus* status = instance.mutable_status();
  status->set_restart_pending(record.restart_pending());
  const absl::Time now = clock_.Now();
  status->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(now));
  status->mutable_observed_at()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(absl::ToUnixSeconds(now)))));
  status->set_overlay_mounted(mounted_(record.name()));
  UnitFacts facts;
  if (known != nullptr) {
    facts = *known;
  } else {
    L4D2_ASSIGN_OR_RETURN(facts, systemd_.Facts(UnitOf(record.name())));
  }
  v1::UnitStatus* unit = status->mutable_unit();
  unit->set_unit_name(UnitOf(record.name()));
  unit->set_active_state(facts.active_state);
  unit->set_sub_state(facts.sub_state);
  unit->set_result(facts.result);
  unit->set_main_pid(facts.main_pid);
  if (facts.active_since)
    unit->mutable_active_since()->set_seconds(ToUnixSeconds(*facts.active_since));
  unit->set_restart_count(facts.restarts);
  if (facts.memory_bytes) unit->set_memory_current_bytes(*facts.memory_bytes);
  if (facts.cpu_usage) SetDuration(unit->mutable_cpu_usage(), *facts.cpu_usage);
  unit->set_last_exit_status(facts.exec_main_status);
  bool answers = false;
  if (query_game && facts.active_state == "active") {
    v1::GameStatus* game = status->mutable_game();
    const GameAddress address{options_.query_host, record.spec().port()};
    const absl::Time start = clock_.Now();
    absl::StatusOr<A2sInfo> info = game_.QueryInfo(address, options_.a2s_timeout);
    if (info.ok()) {
      answers = true;
      game->set_reachable(true);
      game->set_name(info->name);
      game->set_map(info->map);
      game->set_players(info->players);
      game->set_max_players(info->max_players);
      game->set_bots(info->bots);
      game->set_version(info->version);
      SetDuration(game->mutable_latency(), clock_.Now() - start);
      if (include_players) {
        absl::StatusOr<std::vector<A2sPlayer>> players =
            game_.QueryPlayers(address, options_.a2s_timeout);
        for (const A2sPlayer& player : players.ok() ? *players : std::vector<A2sPlayer>{}) {
          v1::Player* out = game->add_player_list();
          out->set_name(player.name);
          out->set_score(player.score);
          out->mutable_connected()->set_seconds(static_cast<int64_t>(player.duration_seconds));
        }
        if (game->player_list_size() > 0) AddPings(record, address, *game);
      }
    } else {
      game->set_reachable(false);
      game->set_error(std::string(info.status().message()));
    }
  }
  v1::InstanceState state = StateOf(facts, answers || !query_game, record.spec().restart().mode());
  if (query_game && facts.active_state == "active" &&
      Hung(record.name(), facts.main_pid, answers,
           absl::Seconds(record.spec().restart().hang_grace().seconds()))) {
    state = v1::INSTANCE_STATE_HUNG;
  }
  status->set_state(state);
  return instance;
}

bool InstanceManager::Hung(const std::string& name, int main_pid, bool answered,
                           absl::Duration grace) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&cache_mutex_);
  Answered& known = answered_[name];
  if (known.main_pid != main_pid) known = {.main_pid = main_pid};  // another process: booting
  if (answered) {
    known.last = now;
    return false;
  }
  return grace > absl::ZeroDuration() && known.last != absl::InfinitePast() &&
         now - known.last >= grace;
}

// A2S has no pings: `status` over RCON has, asked only for a player list someone asked for
// (at most once per status_ttl per server: the list is cached with the status). Without an
// answer the pings stay 0 (unknown).
void InstanceManager::AddPings(const internal::InstanceRecord& record, const GameAddress& address,
                               v1::GameStatus& game) {
  absl::StatusOr<std::string> password = EnsureRconPassword(record.name());
  if (!password.ok()) return;
  absl::StatusOr<std::string> reply =
      game_.RconExecute(address, *password, "status", options_.a2s_timeout);
  if (!reply.ok()) return;
  absl::flat_hash_map<std::string, int> pings;
  for (const RconStatusPlayer& player : ParseRconStatus(*reply).players) {
    if (!player.bot) pings[player.name] = player.ping_ms;
  }
  for (v1::Player& player : *game.mutable_player_list()) {
    auto it = pings.find(player.name());
    if (it != pings.end()) player.set_ping_ms(it->second);
  }
}

absl::StatusOr<std::string> InstanceManager::Console(const std::string& name,
                                                     const std::string& command,
                                                     absl::Duration timeout) {
  if (command.empty() || command.size() > 1000 ||
      command.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
    return absl::InvalidArgumentError(
        "console command: one line of 1 to 1000 bytes, without line breaks");
  }
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, Record(name));
  // A command may change what the game reports (players, map, name).
  Invalidate(name);
  absl::Cleanup invalidate = [this, &name] { Invalidate(name); };
  L4D2_ASSIGN_OR_RETURN(UnitFacts unit, systemd_.Facts(UnitOf(name)));
  if (unit.active_state != "active") {
    return absl::FailedPreconditionError(absl::StrCat("instance '", name, "' is not running"));
  }
  L4D2_ASSIGN_OR_RETURN(std::string password, EnsureRconPassword(name));
  absl::StatusOr<std::string> output =
      game_.RconExecute({options_.query_host, record.spec().port()}, password, command, timeout);
  if (absl::IsPermissionDenied(output.status())) {
    // The server's rcon_password is not the instance's: its server.cfg was changed by hand or
    // the server runs an old spec. Retrying would get the agent's address banned.
    return absl::FailedPreconditionError(absl::StrCat(
        "instance '", name, "' refused the agent's RCON password; restart it to apply its spec"));
  }
  return output;
}

std::map<std::string, std::vector<std::string>> InstanceManager::PinnedLayers() const {
  std::map<std::string, std::vector<std::string>> pinned;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(layout_.instances_dir(), error)) {
    absl::StatusOr<internal::InstanceRecord> record = Record(entry.path().filename().string());
    if (!record.ok()) continue;
    for (const v1::PinnedLayer& layer : record->layers()) {
      pinned[absl::StrCat(layer.ref(), "/", layer.version())].push_back(record->name());
    }
  }
  return pinned;
}

absl::StatusOr<int> InstanceManager::CountRunning() {
  L4D2_ASSIGN_OR_RETURN(std::vector<UnitListing> units,
                        systemd_.ListUnits(options_.unit.unit_prefix + "@*.service"));
  return static_cast<int>(std::count_if(units.begin(), units.end(), [](const UnitListing& unit) {
    return unit.active_state == "active";
  }));
}

void InstanceManager::Invalidate(const std::string& name) {
  absl::MutexLock lock(&cache_mutex_);
  ++generations_[name];
  observations_.erase({name, false});
  observations_.erase({name, true});
}

std::optional<v1::Instance> InstanceManager::Cached(const std::string& name, bool include_players) {
  absl::MutexLock lock(&cache_mutex_);
  auto it = observations_.find({name, include_players});
  if (it == observations_.end() || clock_.Now() - it->second.at >= options_.status_ttl) {
    return std::nullopt;
  }
  return it->second.instance;
}

absl::StatusOr<v1::Instance> InstanceManager::Get(const std::string& name, bool include_players) {
  if (std::optional<v1::Instance> cached = Cached(name, include_players)) return *cached;
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&cache_mutex_);
    generation = generations_[name];
  }
  const absl::Time at = clock_.Now();
  L4D2_ASSIGN_OR_RETURN(internal::InstanceRecord record, Record(name));
  L4D2_ASSIGN_OR_RETURN(v1::Instance instance, Describe(record, true, include_players));
  if (options_.status_ttl > absl::ZeroDuration()) {
    absl::MutexLock lock(&cache_mutex_);
    // Kept only if no change began meanwhile; generations_ of deleted instances stay (a few
    // bytes per name ever used).
    if (generations_[name] == generation) {
      observations_[{name, include_players}] = {instance, at};
    }
  }
  return instance;
}

absl::StatusOr<v1::ListInstancesResponse> InstanceManager::List(bool include_game_status) {
  v1::ListInstancesResponse response;
  std::vector<std::string> names;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(layout_.instances_dir(), error)) {
    std::string name = entry.path().filename().string();
    if (ValidateInstanceName(name).ok()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::vector<internal::InstanceRecord> records;
  for (const std::string& name : names) {
    absl::StatusOr<internal::InstanceRecord> record = Record(name);
    if (!record.ok()) {
      v1::Orphan* orphan = response.add_orphans();
      orphan->set_kind(v1::Orphan::KIND_DIRECTORY);
      orphan->set_name(InstanceDir(name));
      orphan->set_detail(std::string(record.status().message()));
      continue;
    }
    records.push_back(*std::move(record));
  }
  // Every unit's facts in one exchange with systemd (one connection, the calls pipelined).
  std::vector<std::string> instance_units;
  instance_units.reserve(records.size());
  for (const internal::InstanceRecord& record : records) {
    instance_units.push_back(UnitOf(record.name()));
  }
  std::vector<absl::StatusOr<UnitFacts>> facts = systemd_.FactsOfAll(instance_units);
  for (absl::StatusOr<UnitFacts>& each : facts) L4D2_RETURN_IF_ERROR(each.status());
  // Each instance is described on a thread of its own, so that their A2S queries overlap: a
  // server not answering yet (a mass restart) costs up to a2s_timeout, and 20 of them one after
  // another made a report take 10 s. At most kParallelDescribes at once.
  constexpr size_t kParallelDescribes = 64;
  std::vector<absl::StatusOr<v1::Instance>> described(records.size());
  for (size_t first = 0; first < records.size(); first += kParallelDescribes) {
    std::vector<std::thread> threads;
    for (size_t i = first; i < std::min(records.size(), first + kParallelDescribes); ++i) {
      threads.emplace_back(
          [&, i] { described[i] = Describe(records[i], include_game_status, false, &*facts[i]); });
    }
    for (std::thread& thread : threads) thread.join();
  }
  for (absl::StatusOr<v1::Instance>& instance : described) {
    L4D2_RETURN_IF_ERROR(instance.status());
    *response.add_instances() = *std::move(instance);
  }
  // Units and runtime directories without an instance. A dead unit is not one: systemd keeps
  // a stopped template instance loaded until it collects it (an instance just deleted), and
  // nothing of it runs.
  absl::StatusOr<std::vector<UnitListing>> units =
      systemd_.ListUnits(options_.unit.unit_prefix + "@*.service");
  for (const UnitListing& listing : units.ok() ? *units : std::vector<UnitListing>{}) {
    if (listing.active_state == "inactive") continue;
    const std::string& unit = listing.name;
    std::string name = unit.substr(options_.unit.unit_prefix.size() + 1);
    name = name.substr(0, name.size() - strlen(".service"));
    if (!std::binary_search(names.begin(), names.end(), name)) {
      v1::Orphan* orphan = response.add_orphans();
      orphan->set_kind(v1::Orphan::KIND_UNIT);
      orphan->set_name(unit);
    }
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(layout_.runtime_dir(), error)) {
    std::string name = entry.path().filename().string();
    if (std::binary_search(names.begin(), names.end(), name)) continue;
    v1::Orphan* orphan = response.add_orphans();
    orphan->set_kind(mounted_(name) ? v1::Orphan::KIND_MOUNT : v1::Orphan::KIND_DIRECTORY);
    orphan->set_name(entry.path().string());
  }
  return response;
}

}  // namespace l4d2::agent
