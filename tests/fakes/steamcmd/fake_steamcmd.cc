// A stand-in for Valve's steamcmd, faithful in its command syntax, its output and the install
// tree it writes, so that the agent's real install code runs against it. Test fixture.
//
// Commands (from argv as +command args..., or from a file with +runscript, one per line):
//   +force_install_dir DIR   +login anonymous | +login USER PASS [CODE]
//   +@sSteamCmdForcePlatformType windows|linux   +@ShutdownOnFailedCommand 0|1
//   +@NoPromptForPassword 1  +app_update 222860 [-beta NAME] [validate]
//   +app_info_update 1       +app_info_print 222860     +runscript FILE     +quit
//
// Like the real one since late 2024, an anonymous Linux app_update of 222860 into a directory
// without an existing appmanifest fails with "(Invalid platform)"; the workaround of a first
// run with the windows platform then succeeds.
//
// Behaviour switches, read from the environment or from files of the same lower-case name
// (without the prefix) in $FAKE_STEAMCMD_STATE (default $HOME/.fake-steamcmd):
//   FAKE_STEAMCMD_PUBLIC_BUILDID  the newest public build (default 9000001)
//   FAKE_STEAMCMD_FAIL            fail app_update with this reason
//   FAKE_STEAMCMD_HANG            after the first progress line, hang until killed
//   FAKE_STEAMCMD_TRUNCATE        stop half-way, exit 0 without "Success!"
//   FAKE_STEAMCMD_ACCOUNT         "user:password" accepted by +login
//   FAKE_STEAMCMD_FILLER_MB       add this many MiB of game data (for copy benchmarks)
//   FAKE_STEAMCMD_PROGRESS_MS     pause between progress lines (default 0)
// FAKE_SRCDS_BINARY overrides the fake srcds copied into installs as srcds_linux.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr char kAppId[] = "222860";

std::string StateDir() {
  if (const char* dir = std::getenv("FAKE_STEAMCMD_STATE"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.fake-steamcmd";
}

// An environment switch, else the state file of the same name, else `fallback`.
std::string Setting(const std::string& name, const std::string& fallback = "") {
  std::string env_name = "FAKE_STEAMCMD_" + name;
  for (char& c : env_name) c = static_cast<char>(toupper(c));
  if (const char* value = std::getenv(env_name.c_str()); value != nullptr) return value;
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(tolower(c));
  std::ifstream in(StateDir() + "/" + lower);
  if (!in) return fallback;
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value.empty() ? "1" : value;
}

void Say(const std::string& line) {
  std::cout << line << std::endl;  // Flushed per line, as steamcmd's output reaches pipes.
}

void WriteFile(const fs::path& path, const std::string& content, fs::perms perms) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  fs::permissions(path, perms);
}

const fs::perms kExec = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec;
const fs::perms kData =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;

std::string FakeSrcdsBinary() {
  if (const char* path = std::getenv("FAKE_SRCDS_BINARY"); path != nullptr && *path != '\0') {
    return path;
  }
  return FAKE_SRCDS_DEFAULT_PATH;
}

// srcds_run as in the real install: a shell wrapper that runs srcds_linux from its own
// directory and, without -norestart, restarts it after a crash.
constexpr char kSrcdsRun[] = R"sh(#!/bin/sh
# srcds_run: wrapper around srcds_linux (installed by steamcmd).
cd "$(dirname "$0")" || exit 1
norestart=0
for arg in "$@"; do [ "$arg" = "-norestart" ] && norestart=1; done
while true; do
  ./srcds_linux "$@"
  status=$?
  if [ "$norestart" = 1 ] || [ "$status" = 0 ]; then exit "$status"; fi
  echo "Server restart in 10 seconds"
  sleep 10
done
)sh";

class FakeSteamcmd {
 public:
  int Run(std::vector<std::vector<std::string>> commands) {
    Say("Redirecting stderr to '" + StateDir() + "/logs/stderr.txt'");
    Say("[  0%] Checking for available updates...");
    Say("[----] Verifying installation...");
    Say("Steam Console Client (c) Valve Corporation - version 1731453614");
    Say("-- type 'quit' to exit --");
    Say("Loading Steam API...OK");
    for (size_t i = 0; i < commands.size(); ++i) {
      if (!Execute(commands[i], &commands, i)) {
        if (shutdown_on_failure_) return 8;
      }
      if (quit_) return 0;
    }
    // Without +quit the real steamcmd waits at its prompt; tests always pass +quit.
    Say("Steam>");
    return 0;
  }

 private:
  bool Fail(const std::string& line) {
    Say(line);
    return false;
  }

  bool Execute(const std::vector<std::string>& command,
               std::vector<std::vector<std::string>>* queue, size_t at) {
    const std::string& name = command[0];
    auto arg = [&](size_t i) { return i < command.size() ? command[i] : std::string(); };
    if (name == "quit" || name == "exit") {
      Say("Unloading Steam API...OK");
      quit_ = true;
      return true;
    }
    if (name == "@ShutdownOnFailedCommand") {
      shutdown_on_failure_ = arg(1) != "0";
      return true;
    }
    if (name == "@NoPromptForPassword") return true;
    if (name == "@sSteamCmdForcePlatformType") {
      platform_ = arg(1);
      return true;
    }
    if (name == "force_install_dir") {
      if (arg(1).empty()) return Fail("ERROR! force_install_dir requires a path");
      install_dir_ = arg(1);
      return true;
    }
    if (name == "runscript") {
      std::ifstream script(arg(1));
      if (!script) return Fail("ERROR! Failed to open script file '" + arg(1) + "'");
      std::vector<std::vector<std::string>> lines;
      std::string line;
      while (std::getline(script, line)) {
        std::istringstream words(line);
        std::vector<std::string> parsed;
        std::string word;
        while (words >> word) parsed.push_back(word);
        if (!parsed.empty() && parsed[0].rfind("//", 0) != 0) lines.push_back(parsed);
      }
      queue->insert(queue->begin() + static_cast<long>(at) + 1, lines.begin(), lines.end());
      return true;
    }
    if (name == "login") return Login(command);
    if (name == "app_info_update") return true;
    if (name == "app_info_print") return AppInfoPrint(arg(1));
    if (name == "app_update") return AppUpdate(command);
    return Fail("Command not found: " + name);
  }

  bool Login(const std::vector<std::string>& command) {
    if (command.size() < 2) return Fail("ERROR! login requires a user name");
    if (command[1] == "anonymous") {
      Say("Connecting anonymously to Steam Public...OK");
    } else {
      Say("Logging in user '" + command[1] + "' [U:1:12345678] to Steam Public...");
      std::string given = command[1] + ":" + (command.size() > 2 ? command[2] : "");
      if (given != Setting("account", "\x01")) {
        Say("FAILED (Invalid Password)");
        return false;
      }
      Say("OK");
    }
    Say("Waiting for client config...OK");
    Say("Waiting for user info...OK");
    user_ = command[1];
    // Like Debian's steamcmd: the client libraries the server links live next to it.
    const char* home = std::getenv("HOME");
    fs::path client = fs::path(home != nullptr ? home : "/root") / ".steam" / "steamcmd";
    WriteFile(client / "linux32" / "steamclient.so", "fake steamclient 32\n", kData);
    WriteFile(client / "linux64" / "steamclient.so", "fake steamclient 64\n", kData);
    return true;
  }

  std::string PublicBuild() const { return Setting("public_buildid", "9000001"); }

  bool AppInfoPrint(const std::string& app) {
    if (user_.empty()) return Fail("ERROR! Not logged on.");
    if (app != kAppId) return Fail("No app info for AppID " + app + " found, requesting...");
    Say("AppID : 222860, change number : 25110000/0, last change : Sat Nov 21 12:00:00 2026");
    Say("\"222860\"\n{\n\t\"common\"\n\t{\n\t\t\"name\"\t\t\"Left 4 Dead 2 Dedicated Server\""
        "\n\t\t\"type\"\t\t\"Tool\"\n\t}\n\t\"depots\"\n\t{\n\t\t\"branches\"\n\t\t{\n\t\t\t"
        "\"public\"\n\t\t\t{\n\t\t\t\t\"buildid\"\t\t\"" +
        PublicBuild() + "\"\n\t\t\t\t\"timeupdated\"\t\t\"1763726400\"\n\t\t\t}\n\t\t}\n\t}\n}");
    return true;
  }

  static void Progress(const std::string& state, const std::string& phase, uint64_t done,
                       uint64_t total) {
    char line[160];
    double percent = total == 0 ? 0.0 : 100.0 * static_cast<double>(done) / total;
    std::snprintf(line, sizeof(line), " Update state (%s) %s, progress: %.2f (%llu / %llu)",
                  state.c_str(), phase.c_str(), percent, static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total));
    Say(line);
    if (int ms = std::atoi(Setting("progress_ms", "0").c_str()); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }

  std::string InstalledBuild() const {
    std::ifstream in(fs::path(install_dir_) / "steamapps" /
                     ("appmanifest_" + std::string(kAppId) + ".acf"));
    std::string line;
    while (std::getline(in, line)) {
      size_t key = line.find("\"buildid\"");
      if (key == std::string::npos) continue;
      size_t open = line.find('"', key + 9);
      size_t close = line.find('"', open + 1);
      if (open != std::string::npos && close != std::string::npos) {
        return line.substr(open + 1, close - open - 1);
      }
    }
    return "";
  }

  bool AppUpdate(const std::vector<std::string>& command) {
    if (user_.empty()) return Fail("ERROR! Not logged on.");
    if (command.size() < 2 || command[1] != kAppId) {
      return Fail("ERROR! Failed to install app '" + (command.size() > 1 ? command[1] : "") +
                  "' (No subscription)");
    }
    bool validate = false;
    for (const std::string& word : command) validate |= word == "validate";
    if (install_dir_.empty())
      return Fail("ERROR! Failed to install app '222860' (Disk write failure)");
    const std::string installed = InstalledBuild();
    const bool windows = platform_ == "windows";
    if (user_ == "anonymous" && !windows && installed.empty()) {
      return Fail("ERROR! Failed to install app '222860' (Invalid platform)");
    }
    if (std::string reason = Setting("fail"); !reason.empty()) {
      Progress("0x3", "reconfiguring", 0, 0);
      return Fail("ERROR! Failed to install app '222860' (" +
                  (reason == "1" ? std::string("Missing configuration") : reason) + ")");
    }
    const std::string build = PublicBuild();
    if (installed == build && !validate && !windows && FileExists("srcds_linux")) {
      Say("Success! App '222860' already up to date.");
      return true;
    }

    const uint64_t filler = std::strtoull(Setting("filler_mb", "0").c_str(), nullptr, 10) << 20;
    const uint64_t total = (uint64_t{48} << 20) + filler;
    Progress("0x3", "reconfiguring", 0, 0);
    Progress("0x61", "downloading", 0, total);
    if (!Setting("hang").empty()) {
      while (true) pause();
    }
    fs::path root(install_dir_);
    fs::create_directories(root / "steamapps");
    if (windows) {
      WriteFile(root / "srcds.exe", "MZ fake windows server\n", kData);
    } else {
      WriteTree(root, filler);
    }
    Progress("0x61", "downloading", total / 2, total);
    if (!Setting("truncate").empty()) {
      std::cout.flush();
      _exit(0);
    }
    Progress("0x61", "downloading", total, total);
    Progress("0x81", "verifying update", total / 2, total);
    Progress("0x81", "verifying update", total, total);
    WriteManifest(root, build, total);
    Say("Success! App '222860' fully installed.");
    return true;
  }

  bool FileExists(const std::string& relative) const {
    return fs::exists(fs::path(install_dir_) / relative);
  }

  static void WriteTree(const fs::path& root, uint64_t filler) {
    WriteFile(root / "srcds_run", kSrcdsRun, kExec);
    fs::remove(root / "srcds_linux");
    fs::copy_file(FakeSrcdsBinary(), root / "srcds_linux", fs::copy_options::overwrite_existing);
    fs::permissions(root / "srcds_linux", kExec);
    WriteFile(root / "bin" / "libtier0_srv.so", "fake tier0\n", kData);
    WriteFile(root / "left4dead2" / "gameinfo.txt",
              "\"GameInfo\"\n{\n\tgame\t\"Left 4 Dead 2\"\n\ttype\tmultiplayer_only\n}\n", kData);
    WriteFile(root / "left4dead2" / "cfg" / "valve.rc", "exec default.cfg\n", kData);
    WriteFile(root / "left4dead2" / "steam.inf", "PatchVersion=2.2.4.2\nAppID=222860\n", kData);
    for (const char* map :
         {"c1m1_hotel", "c1m2_streets", "c2m1_highway", "c5m1_waterfront", "c8m1_apartment"}) {
      WriteFile(root / "left4dead2" / "maps" / (std::string(map) + ".bsp"),
                std::string("VBSP fake map ") + map + "\n", kData);
    }
    fs::create_directories(root / "left4dead2" / "addons");
    // Game data in 64 MiB files, like the real pak01_NNN.vpk archives.
    std::string chunk(1 << 20, '\x5a');
    for (uint64_t written = 0, index = 0; written < filler; ++index) {
      char name[32];
      std::snprintf(name, sizeof(name), "pak01_%03llu.vpk", static_cast<unsigned long long>(index));
      std::ofstream out(root / "left4dead2" / name, std::ios::binary | std::ios::trunc);
      for (int mib = 0; mib < 64 && written < filler; ++mib, written += chunk.size()) {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      }
    }
  }

  static void WriteManifest(const fs::path& root, const std::string& build, uint64_t size) {
    std::ostringstream acf;
    acf << "\"AppState\"\n{\n"
        << "\t\"appid\"\t\t\"222860\"\n"
        << "\t\"Universe\"\t\t\"1\"\n"
        << "\t\"name\"\t\t\"Left 4 Dead 2 Dedicated Server\"\n"
        << "\t\"StateFlags\"\t\t\"4\"\n"
        << "\t\"installdir\"\t\t\"Left 4 Dead 2 Dedicated Server\"\n"
        << "\t\"LastUpdated\"\t\t\"" << std::time(nullptr) << "\"\n"
        << "\t\"SizeOnDisk\"\t\t\"" << size << "\"\n"
        << "\t\"buildid\"\t\t\"" << build << "\"\n"
        << "\t\"LastOwner\"\t\t\"0\"\n"
        << "\t\"InstalledDepots\"\n\t{\n\t\t\"222861\"\n\t\t{\n\t\t\t\"manifest\"\t\t\"" << build
        << "000\"\n\t\t\t\"size\"\t\t\"" << size << "\"\n\t\t}\n\t}\n"
        << "\t\"UserConfig\"\n\t{\n\t}\n}\n";
    WriteFile(root / "steamapps" / "appmanifest_222860.acf", acf.str(), kData);
  }

  std::string install_dir_;
  std::string user_;
  std::string platform_ = "linux";
  bool shutdown_on_failure_ = true;
  bool quit_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::vector<std::string>> commands;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (!word.empty() && word[0] == '+') {
      commands.push_back({word.substr(1)});
    } else if (!commands.empty()) {
      commands.back().push_back(word);
    }
  }
  try {
    return FakeSteamcmd().Run(std::move(commands));
  } catch (const std::exception& e) {
    Say(std::string("ERROR! Failed to install app '222860' (Disk write failure: ") + e.what() +
        ")");
    return 8;
  }
}
