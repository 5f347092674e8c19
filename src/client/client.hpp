// The echo client's parts: connect with a deadline, then send and verify the echo.
#pragma once

#include "os/unique_fd.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace echod {

// Resolves `host` (a name or an address, IPv4 or IPv6) and connects to the first address
// that answers within `timeout`. Throws std::runtime_error saying what failed.
UniqueFd connect_to(const std::string& host, const std::string& port,
                    std::chrono::milliseconds timeout);

struct ExchangeResult {
    bool ok = false;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::string problem;  // why not ok
};

// Sends all of `input` (until EOF), then shuts down the sending side; copies what comes back
// to `output`, checking it against what was sent. Fails if the reply differs, is short or
// long, the server owes bytes or the close and is silent for `timeout` (waiting for
// `input` does not count), `input` cannot be read, or `output` cannot be written.
ExchangeResult exchange(int sock, int input, int output, std::chrono::milliseconds timeout);

}  // namespace echod
