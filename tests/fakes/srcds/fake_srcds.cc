// A stand-in for the Left 4 Dead 2 dedicated server (srcds_linux), faithful on the wire and on
// disk so that the agent's real code paths run against it in tests. Test fixture, not product.
//
// What it does like the real server:
//   - parses the real arguments (srcds_options.h), prints console lines in the real format,
//     including "Connection to Steam servers successful." when ready;
//   - executes cfg/<servercfgfile> (default server.cfg) from its working tree on every map
//     load, with `exec`, ';' separated commands and // comments, so overlays are observable;
//   - answers A2S_INFO and A2S_PLAYER on UDP <port> only with the challenge handshake;
//   - speaks RCON on TCP <port>: auth (an empty RESPONSE_VALUE then AUTH_RESPONSE, id -1 when
//     the password is wrong), commands, the empty-packet terminator trick with the real
//     server's extra 0x00000100 packet, and an IP ban after 5 failed logins within 30 s;
//   - `status`, `say`, `changelevel`, `hostname`, cvars, `quit`/`exit`; SIGINT or SIGTERM end it
//     cleanly at once;
//   - `writeid` writes cfg/banned_user.cfg and cfg/banned_ip.cfg into its tree, as the real
//     server saves its bans (so tests see whether a server may write where it must).
//   - the UDP log stream: `log on`, `sv_logsecret N`, `logaddress_add IP:PORT` (refused for
//     127.0.0.0/8, as the real server does), `logaddress_del`, `logaddress_delall`; each log line
//     goes from the game port as FF FF FF FF 'R' (or 'S' + secret) "L MM/DD/YYYY - HH:MM:SS:
//     ...\n" 00: the map started, players connecting, validated, entering and leaving, `say`.
// Test switches (not in the real server):
//   FAKE_SRCDS_BOOT_MS=N         wait N ms before going online (A2S and RCON answer after it)
//   FAKE_SRCDS_CRASH_AFTER_MS=N  die of SIGSEGV after N ms
//   FAKE_SRCDS_FLOOD=N           print N numbered lines once online
//   FAKE_SRCDS_PLAYERS=N         N simulated players from the start
//   console commands fake_join NAME, fake_leave NAME, fake_say NAME TEXT, fake_update (the
//   line a server prints when Steam has a newer build), fake_flood N, fake_crash, fake_hang
//   (A2S goes unanswered while the process lives and RCON still answers: a hung server), and
//   fake_ticks N MS: print "fake tick <i> <CLOCK_REALTIME in us>" N times, one every MS ms
//   (the console latency benchmark, tests/bench/p3_console, measures from that time).
//   fake_rate RATE SECONDS: the same lines, RATE a second for SECONDS (a busy console).
//   fake_write N MS: write to its tree N times, one every MS ms (a game under load, for
//   backups): each time a 4 KiB block appended to logs/fake_load.log and one of 8 files
//   fake_saves/save<i % 8>.dat replaced whole (written beside it, renamed over it) with 16 KiB
//   that all read "<i>"; "fake_write done" once the last is written.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fakes/srcds/srcds_options.h"

namespace l4d2::fakes {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int32_t kRconResponseValue = 0;
constexpr int32_t kRconExecCommand = 2;
constexpr int32_t kRconAuthResponse = 2;
constexpr int32_t kRconAuth = 3;
constexpr size_t kRconMaxBody = 4096;
constexpr char kVersion[] = "2.2.4.2";

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// Little-endian packet building, written independently of the agent's parsers on purpose:
// the fake and the client check each other.
class PacketWriter {
 public:
  void Byte(uint8_t v) { data_.push_back(static_cast<char>(v)); }
  void Short(uint16_t v) {
    Byte(v & 0xff);
    Byte(v >> 8);
  }
  void Long(uint32_t v) {
    for (int i = 0; i < 4; ++i) Byte((v >> (8 * i)) & 0xff);
  }
  void LongLong(uint64_t v) {
    for (int i = 0; i < 8; ++i) Byte((v >> (8 * i)) & 0xff);
  }
  void Float(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    Long(bits);
  }
  void String(const std::string& s) {
    data_.append(s);
    Byte(0);
  }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

uint32_t ReadLong(const std::string& data, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data[at + i]);
  return v;
}

struct Player {
  std::string name;
  int userid;
  int32_t score;
  Clock::time_point joined;
};

struct RconClient {
  int fd;
  std::string address;  // "ip:port"
  std::string ip;
  bool authenticated = false;
  std::string in;
};

class FakeSrcds {
 public:
  explicit FakeSrcds(SrcdsOptions options) : options_(std::move(options)) {
    std::random_device random;
    challenge_secret_ = (static_cast<uint64_t>(random()) << 32) | random();
  }

  int Run();

 private:
  // Console: every line goes to stdout and, while an RCON command runs, into its reply.
  void Print(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    if (capture_ != nullptr) capture_->append(line).append("\n");
  }
  void ExecLine(const std::string& line, int depth);
  void Exec(const std::vector<std::string>& words, int depth);
  void ExecFile(const std::string& name, int depth);
  void LoadMap(const std::string& map);
  void PrintStatus();
  std::string Cvar(const std::string& name, const std::string& fallback = "") const {
    auto it = cvars_.find(name);
    return it == cvars_.end() ? fallback : it->second;
  }
  std::string CfgDir() const { return options_.game + "/cfg"; }

  bool Bind();
  void GoOnline();
  void HandleUdp();
  void HandleA2s(const std::string& packet, const sockaddr_in& from);
  void SendUdp(const std::string& payload, const sockaddr_in& to);
  uint32_t ChallengeFor(const sockaddr_in& from) const {
    uint64_t mix = challenge_secret_ ^ (uint64_t{from.sin_addr.s_addr} * 0x9E3779B97F4A7C15ULL);
    uint32_t challenge = static_cast<uint32_t>(mix ^ (mix >> 29));
    return challenge == 0xFFFFFFFFu ? 1 : challenge;
  }
  void AcceptRcon();
  // Returns false when the connection must be closed.
  bool HandleRcon(RconClient& client);
  bool SendRcon(RconClient& client, int32_t id, int32_t type, const std::string& body);
  bool Banned(const std::string& ip);
  void AddPlayer(const std::string& name);
  void Flood(int lines);
  // Sends `message` as a log line to every log address, when logging is on.
  void Log(const std::string& message);
  std::string PlayerTag(const Player& player, const std::string& team) const {
    return "\"" + player.name + "<" + std::to_string(player.userid) +
           "><STEAM_1:0:" + std::to_string(1000 + player.userid) + "><" + team + ">\"";
  }
  bool logging_ = false;
  std::vector<sockaddr_in> log_addresses_;
  // fake_ticks: how many are left, how often, and when the next one is due.
  int ticks_left_ = 0;
  int tick_number_ = 0;
  std::chrono::microseconds tick_interval_{0};
  Clock::time_point next_tick_;
  void Tick();
  // fake_write: how many writes are left, how often, and when the next one is due.
  int writes_left_ = 0;
  int write_number_ = 0;
  std::chrono::milliseconds write_interval_{0};
  Clock::time_point next_write_;
  void Write();
  [[noreturn]] void Crash();
  void Quit(const std::string& why) {
    Print(why);
    quitting_ = true;
  }

  SrcdsOptions options_;
  std::map<std::string, std::string> cvars_;
  std::string map_;
  std::vector<Player> players_;
  int next_userid_ = 2;
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  int signal_fd_ = -1;
  bool online_ = false;
  bool hung_ = false;  // fake_hang
  bool quitting_ = false;
  bool stdin_open_ = true;
  std::string stdin_buffer_;
  std::string* capture_ = nullptr;
  uint64_t challenge_secret_;
  std::vector<std::unique_ptr<RconClient>> rcon_clients_;
  std::map<std::string, std::vector<Clock::time_point>> rcon_failures_;
  std::map<std::string, bool> banned_;
};

void FakeSrcds::ExecLine(const std::string& line, int depth) {
  for (const auto& words : SplitConsoleLine(line)) {
    Exec(words, depth);
    if (quitting_) return;
  }
}

void FakeSrcds::ExecFile(const std::string& name, int depth) {
  if (depth > 8) {
    Print("exec: recursion too deep");
    return;
  }
  std::string file = name;
  if (file.size() < 4 || file.substr(file.size() - 4) != ".cfg") file += ".cfg";
  std::ifstream in(CfgDir() + "/" + file);
  if (!in) {
    Print("exec: couldn't exec " + file);
    return;
  }
  Print("execing " + file);
  std::string line;
  while (std::getline(in, line)) {
    ExecLine(line, depth + 1);
    if (quitting_) return;
  }
}

void FakeSrcds::LoadMap(const std::string& map) {
  std::string bsp = options_.game + "/maps/" + map + ".bsp";
  if (access(bsp.c_str(), R_OK) != 0) {
    Print("Map load failed: " + map + " not found or invalid");
    return;
  }
  map_ = map;
  Log("Loading map \"" + map + "\"");
  Print("---- Host_NewGame ----");
  Print("Executing dedicated server config file " + options_.server_cfg_file);
  ExecFile(options_.server_cfg_file, 0);
  Log("Started map \"" + map + "\" (CRC \"-1534887426\")");
  Print("Server is hibernating");
}

void FakeSrcds::Exec(const std::vector<std::string>& words, int depth) {
  const std::string& command = words[0];
  auto arg = [&](size_t i) { return i < words.size() ? words[i] : std::string(); };
  if (command == "exec") {
    ExecFile(arg(1), depth);
  } else if (command == "map" || command == "changelevel") {
    if (words.size() < 2) {
      Print(command == "map" ? "Usage:  map <mapname>" : "changelevel <mapname>");
    } else {
      LoadMap(arg(1));
    }
  } else if (command == "status") {
    PrintStatus();
  } else if (command == "say") {
    std::string text;
    for (size_t i = 1; i < words.size(); ++i) text += (i > 1 ? " " : "") + words[i];
    Print("Console: " + text);
    Log("\"Console<0><Console><Console>\" say \"" + text + "\"");
  } else if (command == "log") {
    if (arg(1) == "on" && !logging_) {
      logging_ = true;
      Print("Server logging enabled.");
      Log("Log file started (file \"logs/L0000000.log\") (game \"" + options_.game +
          "\") (version \"8829\")");
    } else if (arg(1) == "off" && logging_) {
      Log("Log file closed");
      logging_ = false;
      Print("Server logging disabled.");
    } else {
      Print(std::string("currently logging to: ") + (logging_ ? "file, udp" : "none"));
    }
  } else if (command == "logaddress_add" || command == "logaddress_del") {
    const std::string target = arg(1);
    const size_t colon = target.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    const int port = colon == std::string::npos ? 0 : std::atoi(target.c_str() + colon + 1);
    if (colon == std::string::npos || port <= 0 || port > 65535 ||
        inet_pton(AF_INET, target.substr(0, colon).c_str(), &address.sin_addr) != 1) {
      Print(command + ":  unknown address " + target);
      return;
    }
    address.sin_port = htons(static_cast<uint16_t>(port));
    auto same = [&](const sockaddr_in& other) {
      return other.sin_addr.s_addr == address.sin_addr.s_addr && other.sin_port == address.sin_port;
    };
    auto found = std::find_if(log_addresses_.begin(), log_addresses_.end(), same);
    if (command == "logaddress_del") {
      if (found != log_addresses_.end()) log_addresses_.erase(found);
      Print("logaddress_del:  " + target);
    } else if ((ntohl(address.sin_addr.s_addr) >> 24) == 127) {
      Print("logaddress_add:  loopback addresses (" + target + ") cannot receive logs");
    } else {
      if (found == log_addresses_.end()) log_addresses_.push_back(address);
      Print("logaddress_add:  " + target);
    }
  } else if (command == "logaddress_delall") {
    log_addresses_.clear();
    Print("logaddress_delall:  all addresses cleared");
  } else if (command == "fake_say" && words.size() > 2) {
    std::string text;
    for (size_t i = 2; i < words.size(); ++i) text += (i > 2 ? " " : "") + words[i];
    for (const Player& player : players_) {
      if (player.name == arg(1)) Log(PlayerTag(player, "Survivor") + " say \"" + text + "\"");
    }
  } else if (command == "fake_update") {
    Print("MasterRequestRestart");
    Print("Your server needs to be restarted in order to receive the latest update.");
    Log("Your server needs to be restarted in order to receive the latest update.");
  } else if (command == "quit" || command == "exit") {
    Quit("Shutting down server...");
  } else if (command == "writeid") {
    for (const char* file : {"banned_user.cfg", "banned_ip.cfg"}) {
      std::ofstream out(CfgDir() + "/" + file, std::ios::trunc);
      if (!out) {
        Print(std::string("Couldn't open ") + file + " for writing");
        return;
      }
    }
    Print("Writing cfg/banned_user.cfg.");
    Print("Writing cfg/banned_ip.cfg.");
  } else if (command == "echo") {
    std::string text;
    for (size_t i = 1; i < words.size(); ++i) text += (i > 1 ? " " : "") + words[i];
    Print(text);
  } else if (command == "fake_join" && words.size() > 1) {
    AddPlayer(arg(1));
  } else if (command == "fake_leave" && words.size() > 1) {
    for (auto it = players_.begin(); it != players_.end(); ++it) {
      if (it->name == arg(1)) {
        Print("Dropped " + it->name + " from server (Disconnect by user.)");
        Log(PlayerTag(*it, "Survivor") + " disconnected (reason \"Disconnect by user.\")");
        players_.erase(it);
        break;
      }
    }
  } else if (command == "fake_flood" && words.size() > 1) {
    Flood(std::atoi(arg(1).c_str()));
  } else if (command == "fake_ticks" && words.size() > 2) {
    ticks_left_ = std::atoi(arg(1).c_str());
    tick_interval_ = std::chrono::milliseconds(std::max(1, std::atoi(arg(2).c_str())));
    next_tick_ = Clock::now();
  } else if (command == "fake_rate" && words.size() > 2) {
    // The same lines as fake_ticks, RATE a second (up to 1,000,000) for SECONDS.
    const int rate = std::clamp(std::atoi(arg(1).c_str()), 1, 1000000);
    ticks_left_ = rate * std::max(0, std::atoi(arg(2).c_str()));
    tick_interval_ = std::chrono::microseconds(1000000 / rate);
    next_tick_ = Clock::now();
  } else if (command == "fake_write" && words.size() > 2) {
    writes_left_ = std::max(0, std::atoi(arg(1).c_str()));
    write_interval_ = std::chrono::milliseconds(std::max(1, std::atoi(arg(2).c_str())));
    next_write_ = Clock::now();
    std::filesystem::create_directories(options_.game + "/logs");
    std::filesystem::create_directories(options_.game + "/fake_saves");
  } else if (command == "fake_crash") {
    Crash();
  } else if (command == "fake_hang") {
    Print("fake_hang: A2S queries go unanswered from now on");
    hung_ = true;
  } else if (command.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
             std::string::npos) {
    // Any other word is a cvar: set it with a value, print it without.
    if (words.size() == 1) {
      auto it = cvars_.find(command);
      if (it == cvars_.end()) {
        Print("Unknown command \"" + command + "\"");
      } else {
        Print("\"" + command + "\" = \"" + it->second + "\"");
      }
    } else {
      cvars_[command] = arg(1);
    }
  } else {
    Print("Unknown command \"" + command + "\"");
  }
}

void FakeSrcds::PrintStatus() {
  Print("hostname: " + Cvar("hostname", "Left 4 Dead 2"));
  Print(std::string("version : ") + kVersion + " 8829 secure");
  Print("udp/ip  : " + options_.ip + ":" + std::to_string(options_.port) + " [ public n/a ]");
  Print("os      : Linux Dedicated");
  Print("map     : " + map_ + " at: 0 x, 0 y, 0 z");
  Print("players : " + std::to_string(players_.size()) + " humans, 0 bots (" +
        std::to_string(options_.max_players) + " max) (not hibernating)");
  Print("");
  Print("# userid name uniqueid connected ping loss state rate adr");
  for (const Player& player : players_) {
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - player.joined).count();
    char connected[16];
    std::snprintf(connected, sizeof(connected), "%02lld:%02lld",
                  static_cast<long long>(seconds / 60), static_cast<long long>(seconds % 60));
    Print("# " + std::to_string(player.userid) + " 1 \"" + player.name +
          "\" STEAM_1:0:" + std::to_string(1000 + player.userid) + " " + connected +
          " 45 0 active 30000 " + "127.0.0.1:27005");
  }
  Print("#end");
}

void FakeSrcds::AddPlayer(const std::string& name) {
  int userid = next_userid_++;
  players_.push_back(Player{name, userid, 0, Clock::now()});
  Print("Client \"" + name + "\" connected (127.0.0.1:27005).");
  Print("\"" + name + "<" + std::to_string(userid) +
        "><STEAM_1:0:" + std::to_string(1000 + userid) + "><>\" entered the game");
  const Player& player = players_.back();
  Log(PlayerTag(player, "") + " connected, address \"127.0.0.1:27005\"");
  Log(PlayerTag(player, "") + " STEAM USERID validated");
  Log(PlayerTag(player, "") + " entered the game");
}

void FakeSrcds::Log(const std::string& message) {
  if (!logging_ || log_addresses_.empty() || udp_fd_ < 0) return;
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "L %m/%d/%Y - %H:%M:%S: ", &local);
  const std::string secret = Cvar("sv_logsecret", "0");
  std::string packet = "\xFF\xFF\xFF\xFF";
  packet += secret.empty() || secret == "0" ? "R" : "S" + secret;
  packet += stamp + message + "\n";
  packet.push_back('\0');
  for (const sockaddr_in& to : log_addresses_) SendUdp(packet, to);
}

void FakeSrcds::Flood(int lines) {
  for (int i = 1; i <= lines; ++i) {
    Print("fake flood line " + std::to_string(i) + " of " + std::to_string(lines));
  }
}

void FakeSrcds::Tick() {
  while (ticks_left_ > 0 && Clock::now() >= next_tick_) {
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    Print("fake tick " + std::to_string(++tick_number_) + " " + std::to_string(now));
    --ticks_left_;
    next_tick_ += tick_interval_;
  }
}

void FakeSrcds::Write() {
  while (writes_left_ > 0 && Clock::now() >= next_write_) {
    const int i = ++write_number_;
    std::ofstream(options_.game + "/logs/fake_load.log", std::ios::app)
        << std::string(4095, static_cast<char>('a' + i % 26)) << "\n";
    const std::string save = options_.game + "/fake_saves/save" + std::to_string(i % 8) + ".dat";
    std::string content;
    while (content.size() < 16384) content += std::to_string(i) + "\n";
    std::ofstream(save + ".tmp", std::ios::trunc) << content;
    std::rename((save + ".tmp").c_str(), save.c_str());
    --writes_left_;
    next_write_ += write_interval_;
    if (writes_left_ == 0) Print("fake_write done");
  }
}

void FakeSrcds::Crash() {
  std::fflush(stdout);
  // Like the real server's segfault, minus a core file.
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(SIGSEGV, SIG_DFL);
  raise(SIGSEGV);
  _exit(139);
}

bool FakeSrcds::Bind() {
  for (int attempt = 0; attempt < 10; ++attempt) {
    int port = options_.port + attempt;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, options_.ip.c_str(), &address.sin_addr) != 1) {
      Print("Invalid IP address '" + options_.ip + "'");
      return false;
    }
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool ok = bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
              bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
              listen(tcp, 16) == 0;
    if (ok) {
      udp_fd_ = udp;
      tcp_fd_ = tcp;
      options_.port = port;
      return true;
    }
    close(udp);
    close(tcp);
    Print("WARNING: UDP_OpenSocket: port: " + std::to_string(port) +
          " bind: Address already in use");
    if (options_.strict_port_bind) {
      Print("Unable to bind to port " + std::to_string(port) + " (-strictportbind)");
      return false;
    }
  }
  return false;
}

void FakeSrcds::GoOnline() {
  online_ = true;
  Print("Connection to Steam servers successful.");
  Print("   Public IP is 127.0.0.1.");
  Print("Assigned anonymous gameserver Steam ID [A:1:" + std::to_string(options_.port) +
        "0001:0000].");
  Print(options_.insecure ? "VAC secure mode disabled." : "VAC secure mode is activated.");
  for (int i = 0, n = EnvInt("FAKE_SRCDS_PLAYERS", 0); i < n; ++i) {
    AddPlayer("Player" + std::to_string(i + 1));
  }
  Flood(EnvInt("FAKE_SRCDS_FLOOD", 0));
}

void FakeSrcds::SendUdp(const std::string& payload, const sockaddr_in& to) {
  sendto(udp_fd_, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to),
         sizeof(to));
}

void FakeSrcds::HandleA2s(const std::string& packet, const sockaddr_in& from) {
  if (hung_) return;  // fake_hang: the process lives, the game answers nothing
  if (packet.size() < 5 || ReadLong(packet, 0) != 0xFFFFFFFFu) return;
  const uint8_t kind = static_cast<uint8_t>(packet[4]);
  const uint32_t challenge = ChallengeFor(from);
  auto send_challenge = [&] {
    PacketWriter reply;
    reply.Long(0xFFFFFFFFu);
    reply.Byte(0x41);
    reply.Long(challenge);
    SendUdp(reply.data(), from);
  };
  if (kind == 0x54) {
    static const std::string kQuery = std::string("Source Engine Query") + '\0';
    if (packet.compare(5, kQuery.size(), kQuery) != 0) return;
    size_t at = 5 + kQuery.size();
    if (packet.size() < at + 4 || ReadLong(packet, at) != challenge) return send_challenge();
    PacketWriter reply;
    reply.Long(0xFFFFFFFFu);
    reply.Byte(0x49);
    reply.Byte(17);  // Protocol.
    reply.String(Cvar("hostname", "Left 4 Dead 2"));
    reply.String(map_);
    reply.String(options_.game);
    reply.String("Left 4 Dead 2");
    reply.Short(550);
    reply.Byte(static_cast<uint8_t>(players_.size()));
    reply.Byte(static_cast<uint8_t>(options_.max_players));
    reply.Byte(0);    // Bots.
    reply.Byte('d');  // Dedicated.
    reply.Byte('l');  // Linux.
    reply.Byte(Cvar("sv_password").empty() ? 0 : 1);
    reply.Byte(options_.insecure ? 0 : 1);
    reply.String(kVersion);
    reply.Byte(0x80 | 0x20 | 0x01);  // Port, keywords, game id.
    reply.Short(static_cast<uint16_t>(options_.port));
    reply.String(Cvar("mp_gamemode", "coop") + (players_.empty() ? ",empty" : ""));
    reply.LongLong(550);
    SendUdp(reply.data(), from);
  } else if (kind == 0x55) {
    if (packet.size() < 9 || ReadLong(packet, 5) != challenge) return send_challenge();
    PacketWriter reply;
    reply.Long(0xFFFFFFFFu);
    reply.Byte(0x44);
    reply.Byte(static_cast<uint8_t>(players_.size()));
    uint8_t index = 0;
    for (const Player& player : players_) {
      reply.Byte(index++);
      reply.String(player.name);
      reply.Long(static_cast<uint32_t>(player.score));
      reply.Float(std::chrono::duration<float>(Clock::now() - player.joined).count());
    }
    SendUdp(reply.data(), from);
  }
}

void FakeSrcds::HandleUdp() {
  char buffer[2048];
  while (true) {
    sockaddr_in from{};
    socklen_t length = sizeof(from);
    ssize_t n =
        recvfrom(udp_fd_, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 0) return;
    if (online_) HandleA2s(std::string(buffer, static_cast<size_t>(n)), from);
  }
}

bool FakeSrcds::Banned(const std::string& ip) { return banned_.count(ip) > 0; }

void FakeSrcds::AcceptRcon() {
  while (true) {
    sockaddr_in from{};
    socklen_t length = sizeof(from);
    int fd =
        accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&from), &length, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
    if (Banned(ip) || !online_) {
      close(fd);
      continue;
    }
    auto client = std::make_unique<RconClient>();
    client->fd = fd;
    client->ip = ip;
    client->address = std::string(ip) + ":" + std::to_string(ntohs(from.sin_port));
    rcon_clients_.push_back(std::move(client));
  }
}

bool FakeSrcds::SendRcon(RconClient& client, int32_t id, int32_t type, const std::string& body) {
  PacketWriter packet;
  packet.Long(static_cast<uint32_t>(body.size() + 10));
  packet.Long(static_cast<uint32_t>(id));
  packet.Long(static_cast<uint32_t>(type));
  packet.String(body);
  packet.Byte(0);
  const std::string& data = packet.data();
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(client.fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        pollfd wait{client.fd, POLLOUT, 0};
        poll(&wait, 1, 1000);
        continue;
      }
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool FakeSrcds::HandleRcon(RconClient& client) {
  char buffer[8192];
  while (true) {
    ssize_t n = recv(client.fd, buffer, sizeof(buffer), 0);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return false;
    }
    client.in.append(buffer, static_cast<size_t>(n));
  }
  while (client.in.size() >= 4) {
    int32_t size = static_cast<int32_t>(ReadLong(client.in, 0));
    if (size < 10 || size > static_cast<int32_t>(kRconMaxBody + 10)) return false;
    if (client.in.size() < static_cast<size_t>(size) + 4) break;
    int32_t id = static_cast<int32_t>(ReadLong(client.in, 4));
    int32_t type = static_cast<int32_t>(ReadLong(client.in, 8));
    std::string body = client.in.substr(12, static_cast<size_t>(size) - 10);
    client.in.erase(0, static_cast<size_t>(size) + 4);
    // The body is NUL-terminated; anything after the first NUL is not part of it.
    body = body.substr(0, body.find('\0'));

    if (type == kRconAuth) {
      const std::string password = Cvar("rcon_password");
      bool ok = !password.empty() && body == password;
      if (!SendRcon(client, id, kRconResponseValue, "")) return false;
      if (!SendRcon(client, ok ? id : -1, kRconAuthResponse, "")) return false;
      client.authenticated = ok;
      if (!ok) {
        auto& failures = rcon_failures_[client.ip];
        failures.push_back(Clock::now());
        while (!failures.empty() && Clock::now() - failures.front() > std::chrono::seconds(30)) {
          failures.erase(failures.begin());
        }
        Print("rcon from \"" + client.address + "\": Bad Password");
        if (failures.size() >= 5) {
          banned_[client.ip] = true;
          Print("Banning " + client.ip + " for rcon hacking attempts");
          return false;
        }
      }
    } else if (!client.authenticated) {
      return false;
    } else if (type == kRconExecCommand) {
      Print("rcon from \"" + client.address + "\": command \"" + body + "\"");
      std::string output;
      capture_ = &output;
      ExecLine(body, 0);
      capture_ = nullptr;
      // Long output spans several packets, each at most kRconMaxBody bytes.
      size_t offset = 0;
      do {
        if (!SendRcon(client, id, kRconResponseValue, output.substr(offset, kRconMaxBody))) {
          return false;
        }
        offset += kRconMaxBody;
      } while (offset < output.size());
    } else if (type == kRconResponseValue) {
      // The terminator trick: the real server mirrors an empty RESPONSE_VALUE and then sends
      // one more packet whose body is 00 01 00 00.
      if (!SendRcon(client, id, kRconResponseValue, "")) return false;
      if (!SendRcon(client, id, kRconResponseValue, std::string("\0\x01\0\0", 4))) return false;
    }
  }
  return true;
}

int FakeSrcds::Run() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  for (const auto& [name, value] :
       std::map<std::string, std::string>{{"mp_gamemode", "coop"}, {"sv_password", ""}}) {
    cvars_[name] = value;
  }
  Print("Setting breakpad minidump AppID = 222860");
  Print("Using breakpad crash handler");
  Print("Console initialized.");
  Print("Game.dll loaded for \"Left 4 Dead 2\"");
  if (!options_.tickrate.empty()) Print("Tickrate set to " + options_.tickrate);
  if (!Bind()) return 1;
  Print("Network: IP " + options_.ip + ", mode MP, dedicated Yes, ports " +
        std::to_string(options_.port) + " SV / 27005 CL");
  if (!options_.pid_file.empty()) {
    std::ofstream(options_.pid_file) << getpid() << "\n";
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);

  for (const auto& command : options_.startup_commands) {
    Exec(command, 0);
    if (quitting_) return 0;
  }

  const Clock::time_point started = Clock::now();
  const int boot_ms = EnvInt("FAKE_SRCDS_BOOT_MS", 0);
  const int crash_ms = EnvInt("FAKE_SRCDS_CRASH_AFTER_MS", -1);
  if (boot_ms <= 0) GoOnline();

  while (!quitting_) {
    int timeout = -1;
    auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    if (!online_) timeout = static_cast<int>(std::max<int64_t>(0, boot_ms - elapsed));
    if (crash_ms >= 0) {
      int until_crash = static_cast<int>(std::max<int64_t>(0, crash_ms - elapsed));
      timeout = timeout < 0 ? until_crash : std::min(timeout, until_crash);
    }
    if (writes_left_ > 0) {
      int until_write = static_cast<int>(std::max<int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(next_write_ - Clock::now()).count()));
      timeout = timeout < 0 ? until_write : std::min(timeout, until_write);
    }
    if (ticks_left_ > 0) {
      // Rounded up: ticks closer together than a millisecond are printed a millisecond's worth
      // at a time, not by spinning.
      int until_tick = static_cast<int>(std::max<int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(next_tick_ - Clock::now()).count()));
      timeout = timeout < 0 ? until_tick : std::min(timeout, until_tick);
    }
    std::vector<pollfd> fds{{signal_fd_, POLLIN, 0},
                            {udp_fd_, POLLIN, 0},
                            {tcp_fd_, POLLIN, 0},
                            {stdin_open_ ? 0 : -1, POLLIN, 0}};
    for (const auto& client : rcon_clients_) fds.push_back({client->fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return 1;

    elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    if (crash_ms >= 0 && elapsed >= crash_ms) Crash();
    if (!online_ && elapsed >= boot_ms) GoOnline();
    Tick();
    Write();

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(signal_fd_, &info, sizeof(info)) > 0) {
        Quit(info.ssi_signo == SIGINT ? "Signal SIGINT received, shutting down"
                                      : "Signal SIGTERM received, shutting down");
        break;
      }
    }
    if (fds[1].revents & POLLIN) HandleUdp();
    if (fds[2].revents & POLLIN) AcceptRcon();
    if (fds[3].revents & (POLLIN | POLLHUP)) {
      char buffer[4096];
      ssize_t n = read(0, buffer, sizeof(buffer));
      if (n <= 0) {
        stdin_open_ = false;
      } else {
        stdin_buffer_.append(buffer, static_cast<size_t>(n));
        size_t newline;
        while ((newline = stdin_buffer_.find('\n')) != std::string::npos && !quitting_) {
          std::string line = stdin_buffer_.substr(0, newline);
          stdin_buffer_.erase(0, newline + 1);
          ExecLine(line, 0);
        }
      }
    }
    for (size_t i = 4; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      RconClient& client = *rcon_clients_[i - 4];
      if (!HandleRcon(client)) {
        close(client.fd);
        client.fd = -1;
      }
    }
    std::erase_if(rcon_clients_, [](const auto& client) { return client->fd < 0; });
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace l4d2::fakes

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  l4d2::fakes::SrcdsOptions options;
  std::string error;
  if (!l4d2::fakes::ParseSrcdsArguments(args, &options, &error)) {
    std::fprintf(stderr, "srcds: %s\n", error.c_str());
    return 1;
  }
  return l4d2::fakes::FakeSrcds(std::move(options)).Run();
}
