#include "daemon/connection_lines.hpp"

#include "daemon/log.hpp"
#include "daemon/log_events.hpp"

#include <algorithm>

namespace echod {
namespace {

long long elapsed_ms(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Lines a second over `ms`, rounded; over at least a second, since the bucket holds one
// second's worth.
unsigned per_second(std::uint64_t lines, long long ms)
{
    return static_cast<unsigned>((lines * 1000 + 500) / static_cast<std::uint64_t>(
                                                            std::max(ms, 1000LL)));
}

}  // namespace

void ConnectionWindow::add(const Child& child, const ChildReport& report)
{
    ++closed;
    tally.add(report);
    const SourceKey key = source_key(child.peer);
    auto it = sources.find(key);
    if (it == sources.end()) {
        if (sources.size() >= max_sources) {
            return;
        }
        it = sources.emplace(key, Source{child.peer, 0}).first;
    }
    ++it->second.closed;
}

std::array<const ConnectionWindow::Source*, 3> ConnectionWindow::busiest() const
{
    std::array<const Source*, 3> top{};
    for (const auto& entry : sources) {
        const Source* source = &entry.second;
        for (auto& slot : top) {
            if (slot == nullptr || source->closed > slot->closed) {
                std::swap(slot, source);  // the displaced one moves down
            }
            if (source == nullptr) {
                break;
            }
        }
    }
    return top;
}

void ConnectionWindow::clear()
{
    closed = 0;
    tally = {};
    sources.clear();
}

bool ConnectionLines::in_force()
{
    return log_enabled(LogLevel::info) && !log_enabled(LogLevel::debug);
}

bool ConnectionLines::summarise(const Child& child, const ChildReport* report,
                                Clock::time_point now)
{
    if (report == nullptr || connection_closed_level(child, report) != LogLevel::info ||
        !in_force()) {
        return false;
    }
    if (!paused_) {
        if (take_token(now)) {
            return false;
        }
        pause(now);
    }
    window_.add(child, *report);
    ++summarised_;
    return true;
}

bool ConnectionLines::take_token(Clock::time_point now)
{
    const double seconds = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    tokens_ = std::min<double>(threshold, tokens_ + seconds * threshold);
    if (tokens_ >= threshold) {
        full_since_ = now;
        since_full_ = 0;
    }
    if (tokens_ < 1) {
        return false;
    }
    tokens_ -= 1;
    ++since_full_;
    return true;
}

void ConnectionLines::pause(Clock::time_point now)
{
    paused_ = true;
    paused_since_ = now;
    window_start_ = now;
    summarised_ = 0;
    log_connection_lines_paused(per_second(since_full_ + 1, elapsed_ms(full_since_, now)),
                                threshold, every);
}

void ConnectionLines::tick(Clock::time_point now)
{
    if (!paused_) {
        return;
    }
    const long long window_ms = elapsed_ms(window_start_, now);
    const std::uint64_t closed = window_.closed;
    if (!in_force()) {  // a reload changed log_level
        write_summary(now);
        resume(now, window_ms, closed);
    } else if (now - window_start_ >= every) {
        write_summary(now);
        // Below the threshold on average over a whole window.
        if (closed * 1000 < static_cast<std::uint64_t>(threshold) * window_ms) {
            resume(now, window_ms, closed);
        }
    }
}

std::optional<Clock::time_point> ConnectionLines::next_due() const
{
    if (!paused_) {
        return std::nullopt;
    }
    return window_start_ + every;
}

void ConnectionLines::finish(Clock::time_point now)
{
    if (paused_) {
        write_summary(now);
    }
}

void ConnectionLines::write_summary(Clock::time_point now)
{
    if (window_.closed != 0) {
        log_connection_summary(window_, elapsed_ms(window_start_, now));
    }
    window_.clear();
    window_start_ = now;
}

void ConnectionLines::resume(Clock::time_point now, long long window_ms,
                             std::uint64_t window_closed)
{
    paused_ = false;
    tokens_ = threshold;
    refilled_ = now;
    full_since_ = now;
    since_full_ = 0;
    log_connection_lines_resumed(per_second(window_closed, window_ms), summarised_,
                                 elapsed_ms(paused_since_, now));
}

}  // namespace echod
