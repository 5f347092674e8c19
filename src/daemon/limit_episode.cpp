#include "daemon/limit_episode.hpp"

namespace echod {

bool LimitEpisode::strike(Clock::time_point now)
{
    const bool began = !active_;
    if (began) {
        active_ = true;
        strikes_ = 0;
        since_ = now;
    }
    ++strikes_;
    last_ = now;
    return began;
}

bool LimitEpisode::settle(Clock::time_point now, bool in_force)
{
    if (!active_) {
        return false;
    }
    if (in_force) {
        last_ = now;
        return false;
    }
    if (now - last_ < quiet) {
        return false;
    }
    active_ = false;
    return true;
}

long long LimitEpisode::duration_ms(Clock::time_point now) const
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - since_).count();
}

}  // namespace echod
