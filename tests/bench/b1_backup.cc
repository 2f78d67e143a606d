// B1 (docs/benchmarks.md): a backup of a 1 GiB writable layer by the agent's BackupStore (zstd
// through libarchive, from a hard-link snapshot taken while the server is paused) beside
// `tar czf` of the same directory, on the same machine; then its restore beside `tar xzf`, and
// its copy into the controller's vault beside cp + sha256sum.
//
//   ./build/tests/l4d2_bench_b1 [--mib 1024] [--dir /var/tmp]
//
// The layer is what a game's writable layer holds after months: 40 % downloaded content that
// does not compress (random bytes, as compressed .vpk/.bsp downloads are), 40 % binary that
// compresses about 3:1 (random 64-byte records from a small set, like map and demo data), 20 %
// text logs; in files of 1 to 16 MiB and many small cfg files. The server counts as running
// (the fake service manager takes the pause signals), so the pause is the snapshot's.

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/backup/backup_store.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "controller/store/backup_vault.h"
#include "rpc/proto_time.h"
#include "tests/fakes/fake_game_client.h"
#include "tests/fakes/fake_service_manager.h"

namespace l4d2::agent {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

uint64_t TreeBytes(const std::string& root) {
  uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

void WriteLayer(const std::string& upper, uint64_t bytes) {
  std::mt19937_64 random(2026);
  auto fill = [&](const std::string& path, uint64_t size, int kind) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary);
    std::string block(1 << 16, '\0');
    // kind 0: random; 1: records from a set of 256 (about 3:1); 2: log lines.
    std::vector<std::string> records;
    for (int i = 0; i < 256; ++i) {
      std::string record(64, '\0');
      for (char& c : record) c = static_cast<char>(random());
      records.push_back(record);
    }
    uint64_t line = 0;
    for (uint64_t written = 0; written < size; written += block.size()) {
      if (kind == 0) {
        for (size_t i = 0; i < block.size(); i += 8) {
          const uint64_t word = random();
          std::memcpy(&block[i], &word, 8);
        }
      } else if (kind == 1) {
        for (size_t i = 0; i < block.size(); i += 64) {
          block.replace(i, 64, records[random() % 256]);
        }
      } else {
        block.clear();
        while (block.size() < (1 << 16)) {
          absl::StrAppend(
              &block, absl::StrFormat("L 12/04/2026 - 12:%02d:%02d: \"Player%d<%d><STEAM_1:0:%d><"
                                      "Survivor>\" say \"gg %d\"\n",
                                      line / 60 % 60, line % 60, line % 8, line % 100,
                                      1000 + line % 97, line));
          ++line;
        }
        block.resize(1 << 16);
      }
      out.write(block.data(),
                static_cast<std::streamsize>(std::min<uint64_t>(block.size(), size - written)));
    }
  };
  uint64_t done = 0;
  int file = 0;
  const uint64_t shares[3] = {bytes * 4 / 10, bytes * 4 / 10, bytes - 2 * (bytes * 4 / 10)};
  const char* dirs[3] = {"left4dead2/addons", "left4dead2/maps", "left4dead2/logs"};
  for (int kind = 0; kind < 3; ++kind) {
    for (uint64_t share = 0; share < shares[kind];) {
      const uint64_t size = std::min<uint64_t>(shares[kind] - share, (1 + random() % 16) << 20);
      fill(absl::StrCat(upper, "/", dirs[kind], "/file", ++file, kind == 2 ? ".log" : ".bin"), size,
           kind);
      share += size;
      done += size;
    }
  }
  for (int i = 0; i < 400; ++i) {
    fill(absl::StrCat(upper, "/left4dead2/cfg/sourcemod/plugin", i, ".cfg"), 2048, 2);
  }
}

int Run(uint64_t mib, const std::string& base) {
  const std::string work = absl::StrCat(base, "/l4d2-bench-b1-", ::getpid());
  fs::create_directories(work);
  HostLayout layout(work + "/root");
  if (!layout.CreateDirectories().ok()) return 1;
  l4d2::testing::FakeServiceManager systemd;
  l4d2::testing::FakeGameClient game;
  InstanceManager instances(
      layout, systemd, game, Clock::Real(),
      {.limits = {.port_first = 27015, .port_last = 27016}, .unit_dir = work + "/units"},
      [](const std::string&) { return false; });
  v1::InstanceSpec spec;
  spec.set_port(27015);
  for (const char* name : {"b1", "b2"}) {
    spec.set_port(name == std::string("b1") ? 27015 : 27016);
    if (!instances.Initialize(name, spec).ok()) return 1;
  }
  const std::string upper = instances.WritableLayer("b1");
  std::printf("writing a %llu MiB layer in %s ...\n", static_cast<unsigned long long>(mib),
              upper.c_str());
  WriteLayer(upper, mib << 20);
  const uint64_t content = TreeBytes(upper);
  std::system("sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null");
  (void)systemd.Start(instances.UnitOf("b1"));  // "running": the pause is measured
  BackupStore store(layout, systemd, instances, Clock::Real());
  Steady::time_point started = Steady::now();
  absl::StatusOr<v1::BackupInstanceResponse> taken = store.Take("b1", {});
  const double ours = Seconds(started);
  if (!taken.ok()) {
    std::fprintf(stderr, "backup: %s\n", std::string(taken.status().message()).c_str());
    return 1;
  }
  (void)systemd.Stop(instances.UnitOf("b1"));
  const v1::Backup& backup = taken->backup();

  std::system("sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null");
  const std::string tarball = work + "/layer.tar.gz";
  started = Steady::now();
  const std::string tar = absl::StrCat("tar czf ", tarball, " -C ", upper, " .");
  if (std::system(tar.c_str()) != 0) return 1;
  const double peer = Seconds(started);
  const uint64_t peer_size = fs::file_size(tarball);

  // Restore into the other instance, beside tar xzf into an empty directory.
  v1::WriteBackupRequest copy;
  started = Steady::now();
  absl::Status restored = [&]() -> absl::Status {
    // A backup of b1 restored into b2 arrives as a copy; here a local one is made by reading
    // and writing it in 4 MiB parts as the controller relays it between hosts.
    copy.set_name("b2");
    *copy.mutable_backup() = backup;
    uint64_t offset = 0;
    while (offset < backup.size_bytes()) {
      absl::StatusOr<v1::BackupChunk> chunk = store.Read("b1", backup.id(), offset, 4 << 20);
      if (!chunk.ok()) return chunk.status();
      copy.set_offset(offset);
      offset += chunk->data().size();
      copy.set_last(offset == backup.size_bytes());
      copy.set_data(chunk->data());
      absl::StatusOr<v1::WriteBackupResponse> written = store.Write(copy);
      if (!written.ok()) return written.status();
    }
    return absl::OkStatus();
  }();
  const double copied = Seconds(started);
  started = Steady::now();
  if (restored.ok()) restored = store.Restore("b2", backup.id());
  const double ours_restore = Seconds(started);
  if (!restored.ok()) {
    std::fprintf(stderr, "restore: %s\n", std::string(restored.message()).c_str());
    return 1;
  }
  // Off the host: into the controller's vault as a server.backup job copies it (4 MiB parts,
  // hashed while written, checked, fsynced, renamed), beside cp, sync and sha256sum of the
  // same archive.
  std::system("sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null");
  controller::BackupVault vault(work + "/vault");
  started = Steady::now();
  absl::Status vaulted = [&]() -> absl::Status {
    L4D2_RETURN_IF_ERROR(vault.Open());
    L4D2_ASSIGN_OR_RETURN(auto incoming, vault.Receive(backup.sha256(), backup.size_bytes()));
    for (uint64_t offset = 0; offset < backup.size_bytes();) {
      L4D2_ASSIGN_OR_RETURN(v1::BackupChunk chunk, store.Read("b1", backup.id(), offset, 4 << 20));
      offset += chunk.data().size();
      L4D2_RETURN_IF_ERROR(incoming->Append(chunk.data()));
    }
    return incoming->Finish();
  }();
  const double ours_vault = Seconds(started);
  if (!vaulted.ok()) {
    std::fprintf(stderr, "vault: %s\n", std::string(vaulted.message()).c_str());
    return 1;
  }
  std::system("sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null");
  started = Steady::now();
  const std::string cp =
      absl::StrCat("cp ", layout.backups_dir(), "/b1/", backup.id(), ".tar.zst ", work,
                   "/copy.tar.zst && sync && sha256sum ", work, "/copy.tar.zst >/dev/null");
  if (std::system(cp.c_str()) != 0) return 1;
  const double peer_vault = Seconds(started);

  fs::create_directories(work + "/untar");
  started = Steady::now();
  const std::string untar = absl::StrCat("tar xzf ", tarball, " -C ", work, "/untar");
  if (std::system(untar.c_str()) != 0) return 1;
  const double peer_restore = Seconds(started);

  std::printf("\nB1: a backup of a %.0f MiB writable layer (%llu entries), 2 cores\n",
              content / 1048576.0, static_cast<unsigned long long>(backup.files()));
  std::printf("  %-34s %9s %10s %7s\n", "", "time", "size", "ratio");
  std::printf("  %-34s %8.1fs %7.0f MiB %6.2f\n", "left4me backup (zstd -3)", ours,
              backup.size_bytes() / 1048576.0, static_cast<double>(content) / backup.size_bytes());
  std::printf("  %-34s %8.1fs %7.0f MiB %6.2f\n", "tar czf (gzip -6)", peer, peer_size / 1048576.0,
              static_cast<double>(content) / peer_size);
  std::printf("  server paused for the snapshot:    %s\n",
              absl::FormatDuration(DurationOf(backup.paused())).c_str());
  std::printf("  copy to another instance (4 MiB parts, SHA-256 checked): %.1fs\n", copied);
  std::printf("  restore (SHA-256 checked, extracted, put in place): %.1fs; tar xzf: %.1fs\n",
              ours_restore, peer_restore);
  std::printf(
      "  copy into the controller's vault (checked, fsynced): %.1fs; cp + sync + sha256sum: "
      "%.1fs\n",
      ours_vault, peer_vault);
  fs::remove_all(work);
  return 0;
}

}  // namespace
}  // namespace l4d2::agent

int main(int argc, char** argv) {
  uint64_t mib = 1024;
  std::string dir = "/var/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--mib") mib = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--dir") dir = argv[i + 1];
  }
  return l4d2::agent::Run(mib, dir);
}
