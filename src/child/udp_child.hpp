// The UDP echo child (RFC 862 section 2, udp = on): one long-lived process that the master
// forks and supervises, answering every datagram on the UDP sockets itself (no fork per
// datagram). Like the other children it never returns into master code and never logs: it
// tells the master what it did in udp_counts records (common/child_report.hpp).
#pragma once

#include "common/admission.hpp"
#include "common/rate_table.hpp"

#include <sys/types.h>

#include <vector>

namespace echod {

struct UdpSettings {
    RateTable::Rate rate;  // datagrams per second per source_key(), and the burst
    const ClientRules* rules = nullptr;  // its access lists (the master's, read only)
};

// Closes every inherited descriptor but `keep` (ascending: `sockets`, `report_fd` and
// `signal_fd`, the signalfd the master opened for its children), then answers each datagram
// on `sockets` with exactly its bytes, to its sender, from the address it was sent to. It
// drops, and counts, a datagram the reflection guard refuses (child/udp_guard.hpp) or sent
// to a broadcast or multicast address, then one the access lists refuse, one larger than
// its buffer, one over the per-source rate (a RateTable of its own), and one whose reply
// the kernel will not send. It reports its counts at most every 250 ms while they change,
// and before it exits. SIGTERM, SIGINT and SIGUSR2 (retire) end it at once: no datagram
// waits on it. The master's death is SIGTERM.
[[noreturn]] void run_udp_child(const std::vector<int>& sockets, const std::vector<int>& keep,
                                int report_fd, int signal_fd, const UdpSettings& settings,
                                pid_t master) noexcept;

}  // namespace echod
