// The master's line to systemd: readiness, reload and stop notifications, STATUS= counters,
// watchdog keep-alives, the file descriptor store, and the sockets of socket activation,
// spoken with the protocol code
// of systemd_protocol.hpp. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
// Children never call any of it.
#pragma once

#include "daemon/child_table.hpp"
#include "daemon/listener.hpp"
#include "daemon/systemd_protocol.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace echod {

class ServiceManager {
public:
    // Reads NOTIFY_SOCKET once, and WATCHDOG_USEC, WATCHDOG_PID and FDSTORE when it is set
    // (FDSTORE is then removed from the environment). Throws SystemdVariableError if
    // NOTIFY_SOCKET or a watchdog variable is malformed: a Type=notify service whose
    // notifications cannot go anywhere would only time out.
    ServiceManager();

    void ready(const std::string& status);
    // RELOADING=1 with MONOTONIC_USEC; ready() ends the reload, whatever its outcome.
    void reloading();
    void stopping(const std::string& status);

    // systemd's file descriptor store (FDSTORE=1, sd_pid_notify_with_fds(3)): whether there
    // is one to use. systemd 254 and later say so in FDSTORE, the room the unit gave it
    // (FileDescriptorStoreMax=): a store iff that is a positive number (a malformed value
    // is logged once, and means none). Older ones (252 here) do not say: then a store
    // whenever NOTIFY_SOCKET is set; without room, systemd ignores what is sent.
    bool has_fd_store() const { return fd_store_; }
    // FDSTORE=1 with FDNAME=`name` (no ':', no control characters, at most 255 bytes) and
    // `fd`. Returns why it could not be sent, or "" once sent.
    std::string store_fd(const std::string& name, int fd);
    // FDSTOREREMOVE=1: systemd closes every stored descriptor named `name`.
    void remove_fd(const std::string& name);

    // The counters may have moved: tick() sends STATUS= if the text changed, at most once
    // a second.
    void changed() { status_pending_ = notify_.has_value(); }
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

    std::optional<NotifySocket> notify_;
    bool fd_store_ = false;
    std::optional<std::chrono::microseconds> watchdog_;  // the ping interval
    Clock::time_point next_ping_{};
    bool status_pending_ = false;
    Clock::time_point next_status_{};
    std::string last_status_;
};

// The sockets systemd passed (LISTEN_FDS), in order, each checked to be a listening TCP
// socket or a bound UDP socket (IPv4 or IPv6; adopt_listener) and made non-blocking, with
// its name (LISTEN_FDNAMES). Empty when none were passed, or LISTEN_PID names another
// process. The LISTEN_* variables are removed from the environment. Throws
// SystemdVariableError if one is malformed, and std::system_error naming the first
// descriptor that is neither.
std::vector<Listener> adopt_listeners();
// The same for descriptors already taken (take_listen_fds()).
std::vector<Listener> adopt_listeners(std::vector<PassedFd> passed);

}  // namespace echod
