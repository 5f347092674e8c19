// The per-connection lines under a flood. journald drops a service's lines beyond 10,000
// per 30 s by default (and a warning among them), so at log_level = info the master writes
// a `connection closed` line per connection only up to `threshold` a second: a token bucket
// of `threshold` tokens (one second's worth) refilled at `threshold` a second. A line that
// finds the bucket empty is not written: the master says once that the lines are paused and
// from then on counts each such connection in a window (a ConnectionWindow), written as one
// summary line every `every`. After a window with fewer than `threshold` a second on average,
// its summary is written, then that the lines are resumed, with a full bucket. Only info
// lines are counted: warnings are never paused, and at log_level = debug every line is
// written. Every served connection is in its own line or in exactly one summary; a last
// summary is written at stop.
#pragma once

#include "common/child_report.hpp"
#include "daemon/child_table.hpp"
#include "daemon/counters.hpp"
#include "os/address.hpp"
#include "os/clock.hpp"
#include "os/master_only.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace echod {

// The connections one summary line counts.
struct ConnectionWindow {
    // The busiest sources are kept among the first `max_sources` of a window: enough for a
    // flood, and bounded whatever the number of sources.
    static constexpr std::size_t max_sources = 1024;
    struct Source {
        Endpoint first;  // named as format_source() names it
        std::uint64_t closed = 0;
    };

    std::uint64_t closed = 0;
    ClosedTally tally;
    // Master-only pages (os/master_only.hpp): written for every connection of a flood.
    std::unordered_map<SourceKey, Source, SourceKeyHash,
                       std::equal_to<SourceKey>,
                       MasterOnlyAllocator<std::pair<const SourceKey, Source>>>
        sources;

    void add(const Child& child, const ChildReport& report);
    // Up to three sources, the busiest first.
    std::array<const Source*, 3> busiest() const;
    void clear();
};

class ConnectionLines {
public:
    static constexpr unsigned threshold = 50;  // lines a second
    static constexpr std::chrono::seconds every{5};

    // Whether the connection goes into a summary instead of a line of its own (true: it was
    // counted, write no line). May log that the lines are paused.
    bool summarise(const Child& child, const ChildReport* report, Clock::time_point now);
    // Writes the window's summary when it is due, and resumes the lines after a calm one.
    void tick(Clock::time_point now);
    std::optional<Clock::time_point> next_due() const;
    // At stop: the last summary.
    void finish(Clock::time_point now);

private:
    static bool in_force();  // log_level = info
    bool take_token(Clock::time_point now);
    void pause(Clock::time_point now);
    void write_summary(Clock::time_point now);
    void resume(Clock::time_point now, long long window_ms, std::uint64_t window_closed);

    double tokens_ = threshold;
    Clock::time_point refilled_{};
    Clock::time_point full_since_{};  // the bucket was last full then
    std::uint64_t since_full_ = 0;    // lines written since
    bool paused_ = false;
    Clock::time_point paused_since_{};
    Clock::time_point window_start_{};
    std::uint64_t summarised_ = 0;  // this pause
    ConnectionWindow window_;
};

}  // namespace echod
