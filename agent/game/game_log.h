#pragma once

// The game's log stream: with `log on` and `logaddress_add <ip>:<port>`, srcds sends every log
// line to that address over UDP, one line per packet:
//
//   FF FF FF FF 'R' "L MM/DD/YYYY - HH:MM:SS: <message>\n" 00              (no sv_logsecret)
//   FF FF FF FF 'S' <sv_logsecret> "L MM/DD/YYYY - HH:MM:SS: <message>\n" 00
//
// The messages follow the Half-Life log standard Source kept: a player is written
// "Name<userid><SteamID><team>", e.g.
//
//   "Ellis<3><STEAM_1:0:123><>" entered the game
//   "Ellis<3><STEAM_1:0:123><Survivor>" disconnected (reason "Disconnect by user.")
//   "Ellis<3><STEAM_1:0:123><Survivor>" say "rush"
//   Loading map "c2m1_highway"
//
// Pure decoding, no regular expressions (the agent reads every line of every server: issue
// Players measures it); the socket lives in agent/os. Every function takes untrusted bytes:
// anything may arrive at the listener (tests/fuzz/game_log_fuzz.cc).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace l4d2::agent {

// The longest packet taken. srcds writes at most 1,024 bytes a line; anything longer is not
// from the game.
inline constexpr size_t kMaxGameLogPacket = 2048;

// The line a packet carries, without its "\n\0" end, when the packet has the secret.
// `secret` must not be empty (an instance's sv_logsecret): a packet without a secret or with
// another one is PERMISSION_DENIED, anything else that is not a whole log packet (too long,
// another header, no NUL at its end) INVALID_ARGUMENT.
// The secret is compared in constant time.
absl::StatusOr<absl::string_view> DecodeGameLogPacket(absl::string_view packet,
                                                      absl::string_view secret);

// The packet srcds sends for `line` (without "L <time>: ": added from `at`). For the fake
// game server and tests.
std::string EncodeGameLogPacket(absl::CivilSecond at, absl::string_view message,
                                absl::string_view secret);

struct GamePlayer {
  std::string name;
  int32_t user_id = 0;      // the server's number for the connection (`status`, `kickid`)
  std::string steam_id;     // as logged: STEAM_1:0:123, [U:1:246], BOT, STEAM_ID_PENDING
  uint64_t steam_id64 = 0;  // 7656119...; 0 for bots and ids not validated yet
  std::string team;         // "" before a team is chosen
};

// The SteamID64 of a SteamID as the game logs it (STEAM_X:Y:Z or [U:1:W]); 0 for anything
// else (BOT, STEAM_ID_PENDING, STEAM_ID_LAN, malformed).
uint64_t SteamId64(absl::string_view steam_id);

struct GameLogEvent {
  enum class Kind {
    kOther,            // a line this parser does not know: kept as `text`
    kConnected,        // player; text: the address (never kept by the agent)
    kValidated,        // player: Steam validated the SteamID
    kEntered,          // player entered the game
    kDisconnected,     // player; text: the reason
    kSay,              // player; text: the message
    kSayTeam,          // player; text: the message
    kNameChanged,      // player (the old name); text: the new name
    kJoinedTeam,       // player; text: the team
    kMapLoading,       // text: the map
    kMapStarted,       // text: the map
    kWorldTriggered,   // text: what ("Round_Start", ...)
    kLogStarted,       // the server (re)opened its log
    kLogClosed,        // the server closes its log (map change, shutdown)
    kRestartRequired,  // Steam published an update this server must restart for
  };
  Kind kind = Kind::kOther;
  absl::CivilSecond at;  // the game server's local time, as logged
  GamePlayer player;     // for the player kinds
  std::string text;
};

// Parses one line ("L MM/DD/YYYY - HH:MM:SS: message", its "\n" optional). INVALID_ARGUMENT
// when the line does not have the log's prefix; a message of another form is kOther.
absl::StatusOr<GameLogEvent> ParseGameLogLine(absl::string_view line);

const char* GameLogEventKindName(GameLogEvent::Kind kind);

}  // namespace l4d2::agent
