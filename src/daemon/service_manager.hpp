// The master's line to systemd, and the only user of libsystemd: readiness, reload and stop
// notifications, STATUS= counters, watchdog keep-alives, and the sockets of socket
// activation. libsystemd is loaded (dlopen) the first time it is needed: NOTIFY_SOCKET is
// set, or LISTEN_PID names this process. Outside systemd it is never loaded and every call
// does nothing. Children never call any of it.
#pragma once

#include "daemon/child_table.hpp"
#include "daemon/listener.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace echod {

struct Libsystemd;  // the functions of libsystemd echod uses

class ServiceManager {
public:
    // Reads NOTIFY_SOCKET and WATCHDOG_USEC once, and loads libsystemd if NOTIFY_SOCKET is
    // set. Throws std::system_error if it cannot be loaded.
    ServiceManager();

    void ready(const std::string& status);
    // RELOADING=1 with MONOTONIC_USEC; ready() ends the reload, whatever its outcome.
    void reloading();
    void stopping(const std::string& status);

    // The counters may have moved: tick() sends STATUS= if the text changed, at most once
    // a second.
    void changed() { status_pending_ = notify_; }
    // When tick() has something to send next (a watchdog ping or a pending status), if ever.
    std::optional<Clock::time_point> next_due() const;
    template <typename StatusText>
    void tick(Clock::time_point now, StatusText status_text)
    {
        if (watchdog_ && now >= next_ping_) {
            ping(now);
        }
        if (status_pending_ && now >= next_status_) {
            send_status(status_text(), now);
        }
    }

private:
    void ping(Clock::time_point now);
    void send_status(const std::string& status, Clock::time_point now);
    // Sends `state` (READY=1, STOPPING=1 or nothing) with STATUS=, and starts the next
    // one-second status interval.
    void announce(const std::string& state, const std::string& status, Clock::time_point now);
    void send(const std::string& message);

    bool notify_ = false;
    const Libsystemd* systemd_ = nullptr;  // loaded when notify_
    std::optional<std::chrono::microseconds> watchdog_;  // the ping interval
    Clock::time_point next_ping_{};
    bool status_pending_ = false;
    Clock::time_point next_status_{};
    std::string last_status_;
};

// The sockets systemd passed (LISTEN_FDS), in order, each checked to be a listening TCP
// socket (IPv4 or IPv6) and made non-blocking. Empty when none were passed. The LISTEN_*
// variables are removed from the environment. Loads libsystemd if LISTEN_PID is set and is
// not another process's pid. Throws std::system_error if it cannot be loaded, or naming the
// first descriptor that is not a listening TCP socket.
std::vector<Listener> adopt_listeners();

}  // namespace echod
