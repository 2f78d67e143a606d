// left4me-fetch: see fetch_command.h.
#include <iostream>
#include <string>
#include <vector>

#include "agent/fetch/fetch_command.h"

int main(int argc, char** argv) {
  return l4d2::agent::RunFetchCommand(std::vector<std::string>(argv + 1, argv + argc), std::cout);
}
