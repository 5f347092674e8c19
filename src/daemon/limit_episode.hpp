// Limits that are entered and left, logged once each way.
#pragma once

#include "os/clock.hpp"

#include <cstdint>

namespace echod {

// One stretch of time during which a limit is in force. It begins at the first strike and
// ends once the limit has not struck for `quiet`, so a limit hit over and over makes two log
// lines (reached, cleared), never one per client.
class LimitEpisode {
public:
    static constexpr std::chrono::seconds quiet{1};

    // Returns whether this strike began the episode.
    bool strike(Clock::time_point now);
    // Returns whether the episode ended now (`in_force`: the limit still holds).
    bool settle(Clock::time_point now, bool in_force);

    bool active() const { return active_; }
    std::uint64_t strikes() const { return strikes_; }
    long long duration_ms(Clock::time_point now) const;

private:
    bool active_ = false;
    std::uint64_t strikes_ = 0;
    Clock::time_point since_{};
    Clock::time_point last_{};
};

}  // namespace echod
