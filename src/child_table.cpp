#include "child_table.hpp"

namespace echod {

void ChildTable::add(pid_t pid, const Endpoint& peer, Clock::time_point started)
{
    const SourceKey source = source_key(peer);
    children_[pid] = Child{peer, source, started, std::nullopt};
    ++per_source_[source];
}

std::optional<Child> ChildTable::take(pid_t pid)
{
    auto it = children_.find(pid);
    if (it == children_.end()) {
        return std::nullopt;
    }
    Child child = std::move(it->second);
    children_.erase(it);
    auto slot = per_source_.find(child.source);
    if (slot != per_source_.end() && --slot->second == 0) {
        per_source_.erase(slot);
    }
    return child;
}

void ChildTable::attach(const ChildReport& report)
{
    auto it = children_.find(static_cast<pid_t>(report.pid));
    if (it != children_.end()) {
        it->second.report = report;
    }
}

bool ChildTable::reported(pid_t pid) const
{
    auto it = children_.find(pid);
    return it != children_.end() && it->second.report.has_value();
}

unsigned ChildTable::from_source(const SourceKey& source) const
{
    auto it = per_source_.find(source);
    return it == per_source_.end() ? 0 : it->second;
}

std::vector<pid_t> ChildTable::pids() const
{
    std::vector<pid_t> pids;
    pids.reserve(children_.size());
    for (const auto& entry : children_) {
        pids.push_back(entry.first);
    }
    return pids;
}

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
