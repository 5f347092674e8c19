// The systemd protocols, spoken directly instead of through libsystemd (docs/systemd.md):
// a notification is one datagram to NOTIFY_SOCKET (sd_notify(3)), the watchdog is asked
// for with WATCHDOG_USEC and WATCHDOG_PID (sd_watchdog_enabled(3)), and passed sockets are
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, from descriptor 3 on (sd_listen_fds(3)).
// Each parse_* function takes the variables' values, so tests need no environment; the
// *_from_environment() and take_* functions read the real one. A malformed value throws
// SystemdVariableError naming the variable, its value and what is wrong. ServiceManager is
// the master's user of all this; children never call it.
#pragma once

#include "os/unique_fd.hpp"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace echod {

class SystemdVariableError : public std::runtime_error {
public:
    // "environment variable NAME has value 'VALUE': PROBLEM"
    SystemdVariableError(const std::string& variable, const std::string& value,
                         const std::string& problem);
};

// Where notifications go.
struct NotifySocket {
    sockaddr_un address{};
    socklen_t length = 0;  // an abstract name has no terminating NUL: the length delimits it
    std::string name;      // NOTIFY_SOCKET as given, for messages
};

// NOTIFY_SOCKET's value: an absolute path, or '@' and an abstract socket name ('@' becomes
// the leading NUL byte).
NotifySocket parse_notify_socket(const std::string& value);
// Nothing when NOTIFY_SOCKET is unset or empty: echod is not a Type=notify service then.
std::optional<NotifySocket> notify_socket_from_environment();

// Sends `message` ("READY=1", "FDSTORE=1\nFDNAME=x", ...) as one datagram from a socket of
// its own, with `fds` attached as SCM_RIGHTS. Throws std::system_error naming the call and
// the socket.
void send_notification(const NotifySocket& to, const std::string& message,
                       const std::vector<int>& fds = {});

struct WatchdogVariables {
    std::optional<std::string> usec;  // WATCHDOG_USEC
    std::optional<std::string> pid;   // WATCHDOG_PID
};

// The watchdog timeout systemd set, or nothing when WATCHDOG_USEC is unset or WATCHDOG_PID
// names another process (the variables were inherited from a parent). A timeout above a
// year is taken as a year: pinging more often than asked is harmless, and the time of the
// next ping must not overflow the clock.
std::optional<std::chrono::microseconds> parse_watchdog(const WatchdogVariables& variables,
                                                        pid_t self);
std::optional<std::chrono::microseconds> watchdog_from_environment();

// FDSTORE, which systemd 254 and later set for a service: how many descriptors its file
// descriptor store may hold (FileDescriptorStoreMax=). Whether there is a store: nothing
// when the variable is unset (an older systemd, which does not say), true for a positive
// count, false for 0. Throws SystemdVariableError if it is not a number.
std::optional<bool> parse_fd_store(const std::optional<std::string>& value);
// The same for the environment's FDSTORE, which it removes from the environment.
std::optional<bool> fd_store_from_environment();

constexpr int listen_fds_start = 3;  // SD_LISTEN_FDS_START

struct ListenVariables {
    std::optional<std::string> pid;    // LISTEN_PID
    std::optional<std::string> fds;    // LISTEN_FDS
    std::optional<std::string> names;  // LISTEN_FDNAMES
};

// What the variables say was passed: `count` descriptors from listen_fds_start on, and
// their names, one each, or none when LISTEN_FDNAMES is unset. A count of 0 when
// LISTEN_PID is unset or names another process.
struct PassedFds {
    int count = 0;
    std::vector<std::string> names;
};
PassedFds parse_listen_fds(const ListenVariables& variables, pid_t self);

struct PassedFd {
    UniqueFd fd;
    std::string name;  // FileDescriptorName= of the socket unit; "unknown" when not given
};

// The descriptors systemd passed this process, made close-on-exec, in order. Removes
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the environment whatever they say.
std::vector<PassedFd> take_listen_fds();

}  // namespace echod
