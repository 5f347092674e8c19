// The child half of the fork server: serves one connection and _exits. It never returns
// into master code, never runs master destructors, and never logs.
#pragma once

#include "child/echo_session.hpp"

#include <sys/types.h>

#include <climits>
#include <cstddef>
#include <cstdint>

namespace echod {

// A fork-mode child sends one `finished` record. A prefork child sends `accepted` (with the
// peer) and `finished` for every connection, `refused` for one over max_per_source, and
// `accept_failed` before it exits because accept4 failed.
enum class ReportKind : std::uint8_t { finished = 0, accepted, refused, accept_failed };

// What a child tells the master, in one write to the shared report pipe. It is smaller than
// PIPE_BUF, so records from many children never interleave.
struct ChildReport {
    std::int32_t pid = 0;
    std::int32_t error = 0;  // errno for reset, error and accept_failed
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint8_t reason = 0;  // CloseReason
    ReportKind kind = ReportKind::finished;
    std::uint8_t counted = 0;  // accepted: counted in SourceSlots, the master takes it back
    std::uint8_t last = 0;     // finished: the child exits now instead of accepting again
    std::uint8_t peer_length = 0;
    std::uint8_t peer[28] = {};  // accepted, refused: the peer's sockaddr (IPv4 or IPv6)
    std::uint8_t padding[3] = {};
};
static_assert(sizeof(ChildReport) <= PIPE_BUF, "a report must be one atomic pipe write");

// Child exit statuses: the master tells a served connection from a child that failed.
enum ChildExit : int {
    child_served = 0,        // report written (prefork: the child retired)
    child_report_failed = 2, // the report pipe was gone (the master died)
    child_setup_failed = 3,  // signal setup failed; nothing was echoed
};

// Shared by both kinds of child; neither allocates, so a child dirties as few of the
// master's pages as it can. close_inherited closes every descriptor from 3 up except the
// `count` in `keep`, in ascending order (it closes the listeners, the signalfd, the report
// pipe's read end, anything a library opened). reset_signals ignores SIGHUP, SIGUSR1 and
// SIGPIPE, blocks SIGTERM, SIGINT and (`with_retire`, a prefork child) SIGUSR2, and
// returns a signalfd reporting them, or -1; a fork-mode child ignores SIGUSR2, since a
// group-wide SIGUSR2 is not for it.
void close_inherited(const int* keep, std::size_t count);
int reset_signals(bool with_retire);
// Asks for SIGTERM when the master (`master`, the parent) dies, and raises it now if it
// already has.
void watch_master(pid_t master);

// Restores signal handling for a child (SIGTERM: drain for limits.drain_timeout, then
// close; SIGINT: close now; SIGHUP, SIGUSR1, SIGUSR2: ignored, since a signal sent to the
// whole process group or cgroup is meant for the master), closes every inherited descriptor
// except `conn` and `report_fd`, echoes, reports, and exits. If the master (`master`, its
// parent) dies, the child gets SIGTERM: it drains as at a graceful stop, then exits.
[[noreturn]] void run_child(int conn, int report_fd, const SessionLimits& limits,
                            pid_t master) noexcept;

}  // namespace echod
