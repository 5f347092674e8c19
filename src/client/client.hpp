// The echo client's parts: resolve, connect with a deadline, then send and verify the echo.
#pragma once

#include "os/unique_fd.hpp"

#include <netdb.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace echod {

// The addresses HOST resolved to, in getaddrinfo's order.
using Addresses = std::unique_ptr<addrinfo, void (*)(addrinfo*)>;

// Resolves `host` (a name or an address) for TCP to `port`, in `family` only (AF_INET,
// AF_INET6, or AF_UNSPEC for both). Throws std::runtime_error saying what failed.
Addresses resolve(const std::string& host, const std::string& port, int family);

// A connection that could not be made (as against one that failed later).
class ConnectError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Connects to the first of `addresses` that answers within `timeout` (each); the socket
// is non-blocking. Throws ConnectError naming `host` and `port` and every failure.
UniqueFd connect_to(const Addresses& addresses, const std::string& host, const std::string& port,
                    std::chrono::milliseconds timeout);

// The numeric address of a connected socket's peer ("127.0.0.1", "::1").
std::string peer_address(int sock);

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
