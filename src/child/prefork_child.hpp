// The child half of prefork mode: forked ahead of any client, it waits on the shared
// listeners, accepts, serves, reports, and accepts again up to max_connections_per_child.
// Like the fork-mode child it never returns into master code and never logs.
#pragma once

#include "child/echo_session.hpp"
#include "common/admission.hpp"

#include <sys/types.h>

#include <vector>

namespace echod {

struct PreforkSettings {
    SessionLimits limits;
    const ClientRules* rules = nullptr;  // who is served (the master's, read only)
    unsigned max_connections = 1;  // then the child exits; 0: no limit
};

// Waits in epoll (EPOLLEXCLUSIVE, so a connection wakes one waiting child, not all) on
// `listeners` and on its signals. Idle, SIGTERM, SIGINT and SIGUSR2 (retire) end it at once.
// Serving, SIGTERM drains for limits.drain_timeout, SIGINT closes now, SIGUSR2 lets the
// connection finish; any of them closes its listeners at once and it exits afterwards.
// `listeners` is the master's vector (the child changes its copy of the page only when a
// listener is dropped); `keep` is every descriptor the child keeps, in ascending order.
[[noreturn]] void run_prefork_child(std::vector<int>& listeners, const std::vector<int>& keep,
                                    int report_fd, int signal_fd,
                                    const PreforkSettings& settings, Admission& admission,
                                    int hold, pid_t master) noexcept;

}  // namespace echod
