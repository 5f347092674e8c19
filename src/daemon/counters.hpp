// The master's cumulative counters, since it started: what the status line, systemd's
// STATUS= and the metrics file (daemon/metrics.hpp) report. Plain numbers, only ever
// incremented, in one place, so the three cannot disagree.
#pragma once

#include "child/echo_session.hpp"
#include "common/admission.hpp"
#include "common/child_report.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace echod {

// Connections that ended with their report, by how they ended, and their bytes: counted
// since start (Counters) and per summary line (ConnectionWindow), added up alike.
struct ClosedTally {
    std::array<std::uint64_t, close_reason_count + 1> by_reason{};  // by CloseReason
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;

    void add(const ChildReport& report)
    {
        ++by_reason[std::min<std::size_t>(report.reason, close_reason_count)];
        bytes_in += report.bytes_in;
        bytes_out += report.bytes_out;
    }
    std::uint64_t of(CloseReason reason) const
    {
        return by_reason[static_cast<std::size_t>(reason)];
    }
};

struct Counters {
    std::uint64_t served = 0;   // connections that ended, however they ended
    std::uint64_t refused = 0;  // closed before anything was echoed
    std::array<std::uint64_t, refusal_count> refused_by{};  // by Refusal
    std::uint64_t fork_failed = 0;
    // From the `finished` records: a connection's reason and bytes count once it has ended.
    ClosedTally closed;
    std::uint64_t killed = 0;  // ended without a report: killed, or failed
    UdpCounts udp;  // what the UDP children reported
};

}  // namespace echod
