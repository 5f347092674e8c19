// The one clock echod measures durations and deadlines with, and poll()'s view of a deadline.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <optional>

namespace echod {

// CLOCK_MONOTONIC, as std::chrono::steady_clock, but read inline: steady_clock::now() lives
// in the C++ runtime's code, which a fork-mode child would otherwise fault in for one call
// (each code page a child touches first is a page fault, and 16 page-table entries to tear
// down at its exit).
struct Clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<Clock>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept
    {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        return time_point(std::chrono::seconds(now.tv_sec) + duration(now.tv_nsec));
    }
};

// The timeout poll() takes to wake at `deadline`: whole milliseconds rounded up (so it never
// wakes just before it and spins), 0 once it has passed, -1 (wait for ever) without one.
inline int poll_timeout_ms(Clock::time_point now, std::optional<Clock::time_point> deadline)
{
    if (!deadline) {
        return -1;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
    return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

}  // namespace echod
