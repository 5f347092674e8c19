// Sockets for the benchmark: where to connect, how to start a non-blocking connect from a
// spread of source addresses, and the epoll set every mode waits on.
#pragma once

#include "../src/os/unique_fd.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

// A failed system call the benchmark cannot go on without: std::system_error naming the
// call. (echod's own helper lives in echod_core, which the benchmark does not link.)
[[noreturn]] void throw_sys_error(const std::string& call);
int check_sys(int result, const std::string& call);

struct Target {
    sockaddr_storage address{};
    socklen_t length = 0;
    // Only an IPv4 loopback server can be reached from 127.0.0.2.. source addresses.
    bool spread_sources = false;
    std::string text;  // HOST:PORT, for messages

    int family() const { return address.ss_family; }
};

// Throws std::invalid_argument unless host is a numeric IPv4 or IPv6 address.
Target make_target(const std::string& host, int port);

// Source i of n: 127.0.0.(2 + i % n), or none when the target cannot use it.
std::optional<in_addr> source_address(const Target& target, int sources, std::size_t index);

// A connect in progress. On failure fd is closed, and error and call say why.
struct Dialed {
    echod::UniqueFd fd;
    bool connected = false;  // connect() finished at once (no EINPROGRESS)
    Clock::time_point started;
    int error = 0;
    const char* call = nullptr;
};

Dialed dial(const Target& target, const std::optional<in_addr>& source);

// The outcome of a non-blocking connect once the socket reports writable or an error.
int connect_error(int fd);

// Many connections at once need many descriptors: raise the soft limit to the hard one.
// Returns the new soft limit.
std::uint64_t raise_fd_limit();

// Milliseconds from now until deadline, rounded up, within [0, cap_ms].
int ms_until(Clock::time_point now, Clock::time_point deadline, int cap_ms);

double seconds_between(Clock::time_point from, Clock::time_point to);

// An edge-triggered epoll set: each socket is added once for reading and writing, and its
// owner pumps it until EAGAIN on every event, so no interest changes are ever needed.
class Poller {
public:
    explicit Poller(std::size_t batch = 1024);

    void add(int fd, std::uint64_t key);
    // Waits up to timeout_ms; returns how many events are ready (0 on timeout or EINTR).
    std::size_t wait(int timeout_ms);
    const epoll_event& event(std::size_t i) const { return events_[i]; }

private:
    echod::UniqueFd epoll_;
    std::vector<epoll_event> events_;
};

}  // namespace bench
