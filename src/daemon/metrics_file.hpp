// The metrics_file: the master's counters (daemon/metrics.hpp), rewritten every few seconds
// in a way node_exporter's textfile collector can read at any moment.
#pragma once

#include "daemon/metrics.hpp"
#include "os/clock.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace echod {

class MetricsFile {
public:
    static constexpr std::chrono::seconds interval{5};

    // `path` (absolute, config_values.hpp checks it): "" for none.
    explicit MetricsFile(std::string path);

    const std::string& path() const { return path_; }
    // When write() is due next; never without a path.
    std::optional<Clock::time_point> next_due() const;
    bool due(Clock::time_point now) const { return !path_.empty() && now >= next_; }

    // Replaces the file with `text` at once, and schedules the next write `interval` later.
    // A failure (no directory, a read-only file system, a full disk) is logged when it
    // begins an episode, and the first write that works again ends it.
    void write(const MetricsText& text, Clock::time_point now);

    // Writes to `path` from now on ("": none). The old file is left as it is.
    void retarget(std::string path);

private:
    struct Failure {
        const char* call;
        int error;
    };
    std::optional<Failure> replace(const MetricsText& text) const;

    std::string path_;
    std::string temp_path_;  // in the same directory, so rename(2) can replace the file
    Clock::time_point next_{};
    // The current failure episode: failures since the last write that worked.
    std::uint64_t failures_ = 0;
    Clock::time_point failing_since_{};
};

}  // namespace echod
