#pragma once

// How l4d2ctl writes quantities for people, the same in every command.

#include <cstdint>
#include <string>

namespace l4d2::ctl {

// "512 B", "4.0 KiB", "439.4 MiB", "1.0 GiB": binary units, one decimal above bytes.
std::string HumanBytes(uint64_t bytes);

}  // namespace l4d2::ctl
