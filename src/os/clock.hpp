// The one clock echod measures durations and deadlines with, and poll()'s view of a deadline.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace echod {

using Clock = std::chrono::steady_clock;

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
