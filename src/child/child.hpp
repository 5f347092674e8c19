// The child half of the fork server: serves one connection and _exits. It never returns
// into master code, never runs master destructors, and never logs.
#pragma once

#include "child/client_start.hpp"
#include "child/echo_session.hpp"
#include "common/admission.hpp"
#include "common/child_report.hpp"

#include <sys/types.h>

#include <cstddef>

namespace echod {

// Shared by both kinds of child; neither allocates, so a child dirties as few of the
// master's pages as it can. close_inherited closes every descriptor from 3 up except the
// `count` in `keep`, in ascending order (it closes the listeners, the signalfd, the report
// pipe's read end, anything a library opened).
void close_inherited(const int* keep, std::size_t count);
// Asks for SIGTERM when the master (`master`, the parent) dies, and raises it now if it
// already has.
void watch_master(pid_t master);
// Writes `report` to the master; a child whose master is gone exits child_report_failed.
void send_report(int report_fd, const ChildReport& report) noexcept;

// `report` naming the client start_client() found (and why it was refused, if it was).
ChildReport with_client(ChildReport report, const ClientStart& start);
// The `accepted` or `refused` record of what start_client() found.
ChildReport start_report(const ClientStart& start);

// Closes every inherited descriptor except `conn`, `report_fd` and `signal_fd`, the
// signalfd the master opened for its children (its signals stay as the master set them:
// common/signals.hpp). On a PROXY listener (rules.proxy) it reads the header and admits
// the client it names; a refused one is reported `refused`, and an admitted one
// `accepted` only if `announce` (the master logs at debug): its `finished` record names the
// client anyway, and one record fewer is one wake-up of the master fewer per connection.
// It echoes, releases what was counted for its client in `hold`, reports, and exits. If
// the master (`master`, its parent) dies, the child gets SIGTERM: it drains as at a
// graceful stop, then exits.
[[noreturn]] void run_child(int conn, const Endpoint& peer, int report_fd, int signal_fd,
                            const SessionLimits& limits, const ClientRules& rules,
                            Admission& admission, int hold, bool announce,
                            pid_t master) noexcept;

}  // namespace echod
