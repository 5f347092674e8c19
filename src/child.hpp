// The child half of the fork server: serves one connection and _exits. It never returns
// into master code, never runs master destructors, and never logs.
#pragma once

#include "echo_session.hpp"

#include <sys/types.h>

#include <climits>
#include <cstdint>

namespace echod {

// What a child tells the master, in one write to the shared report pipe. It is smaller than
// PIPE_BUF, so records from many children never interleave.
struct ChildReport {
    std::int32_t pid = 0;
    std::int32_t error = 0;  // errno for reset and error
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint8_t reason = 0;  // CloseReason
    std::uint8_t padding[7] = {};
};
static_assert(sizeof(ChildReport) <= PIPE_BUF, "a report must be one atomic pipe write");

// Child exit statuses: the master tells a served connection from a child that failed.
enum ChildExit : int {
    child_served = 0,        // report written
    child_report_failed = 2, // the report pipe was gone (the master died)
    child_setup_failed = 3,  // signal setup failed; nothing was echoed
};

// Restores signal handling for a child (SIGTERM: drain for limits.drain_timeout, then
// close; SIGINT: close now; SIGHUP, SIGUSR1, SIGUSR2: ignored, since a signal sent to the
// whole process group or cgroup is meant for the master), closes every inherited descriptor
// except `conn` and `report_fd`, echoes, reports, and exits. If the master (`master`, its
// parent) dies, the child gets SIGTERM: it drains as at a graceful stop, then exits.
[[noreturn]] void run_child(int conn, int report_fd, const SessionLimits& limits,
                            pid_t master) noexcept;

}  // namespace echod
