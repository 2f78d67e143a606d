#include "common/secret_input.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace l4d2 {

std::string ReadSecret(const char* variable, absl::string_view prompt) {
  if (const char* value = std::getenv(variable); value != nullptr) return value;
  const bool terminal = isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string secret;
  std::getline(std::cin, secret);
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  return secret;
}

}  // namespace l4d2
