// The master's counters in the Prometheus text exposition format, version 0.0.4 (what
// node_exporter's textfile collector reads): `# HELP`, `# TYPE`, then `name{label="v"} value`
// lines. The file that holds them is daemon/metrics_file.hpp.
#pragma once

#include "daemon/counters.hpp"
#include "os/master_only.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace echod {

// Kept by the master between writes, in master-only memory: no heap page a child shares
// is written every few seconds (os/master_only.hpp).
using MetricsText = std::basic_string<char, std::char_traits<char>, MasterOnlyAllocator<char>>;

// What the file says besides the counters.
struct MetricsState {
    const Counters& counters;
    std::size_t active;                 // connections being served
    std::optional<std::size_t> spares;  // prefork mode: idle children
    bool udp;                           // udp = on: the UDP series too
    unsigned max_children;
    bool last_reload_ok;
    // false in the file's last write: the master stops, or a reload moved metrics_file.
    bool up;
    std::int64_t start_time;  // when the master started, in seconds since the epoch
};

// Replaces `out` with the whole exposition, ending with a newline.
void format_metrics(const MetricsState& state, MetricsText& out);

}  // namespace echod
