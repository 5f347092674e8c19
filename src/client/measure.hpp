// echod-client's measuring mode: COUNT round trips of SIZE bytes, timed and checked, with a
// summary like ping's.
#pragma once

#include "client/client.hpp"

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

namespace echod {

struct MeasureSettings {
    long count = 0;  // round trips; 0: not measuring
    std::size_t size = 256;
    std::chrono::microseconds interval = std::chrono::seconds(1);  // start to start
    bool new_connection = false;                                   // one per round trip
};

// Where to measure: the server as named on the command line, and what it resolved to.
struct MeasureTarget {
    const std::string& host;
    const std::string& port;
    const Addresses& addresses;
    std::chrono::milliseconds timeout;  // bounds each connect and each round trip
};

struct MeasureCounts {
    long ok = 0;
    long failed = 0;
};

// Runs the round trips, printing one line for each and then the summary to `out`; SIGINT
// (blocked from here on) ends the run early, with the summary of those done. On one
// connection, a failed round trip leaves that connection (what it still owes would be
// read as the next echo) and the next round trip opens another. Throws
// ConnectError if the first connection cannot be made without -N.
MeasureCounts measure(const MeasureTarget& target, const MeasureSettings& settings,
                      std::ostream& out);

}  // namespace echod
