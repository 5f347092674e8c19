#include "daemon/child_table.hpp"

namespace echod {

void ChildTable::add(pid_t pid, const Endpoint& peer, Clock::time_point started, int hold)
{
    Child added;
    added.peer = peer;
    added.started = started;
    added.hold = hold;
    Child& child = children_[pid] = added;
    count(child, 1);
}

void ChildTable::add_spare(pid_t pid, int hold)
{
    Child spare;
    spare.hold = hold;
    spare.prefork = true;
    spare.busy = false;
    count(children_[pid] = spare, 1);
}

void ChildTable::begin_connection(const ChildReport& accepted, Clock::time_point started)
{
    auto it = children_.find(static_cast<pid_t>(accepted.pid));
    if (it == children_.end()) {
        return;
    }
    Child& child = it->second;
    count(child, -1);
    child.started = started;
    child.report.reset();
    child.busy = true;
    count(child, 1);
    name_client(accepted);
}

void ChildTable::name_client(const ChildReport& accepted)
{
    auto it = children_.find(static_cast<pid_t>(accepted.pid));
    if (it != children_.end()) {
        it->second.peer = accepted.peer();
        it->second.via = accepted.via();
        it->second.local = accepted.local != 0;
    }
}

void ChildTable::refused(pid_t pid)
{
    auto it = children_.find(pid);
    if (it != children_.end()) {
        it->second.refused = true;
        set_state(it->second, false, true);
    }
}

std::optional<Child> ChildTable::end_connection(pid_t pid, bool last)
{
    auto it = children_.find(pid);
    if (it == children_.end() || !it->second.busy) {
        return std::nullopt;
    }
    Child ended = it->second;
    set_state(it->second, false, it->second.retiring || last);
    return ended;
}

void ChildTable::retire(pid_t pid)
{
    auto it = children_.find(pid);
    if (it != children_.end()) {
        set_state(it->second, it->second.busy, true);
    }
}

void ChildTable::set_state(Child& child, bool busy, bool retiring)
{
    count(child, -1);
    child.busy = busy;
    child.retiring = retiring;
    count(child, 1);
}

// Adds (`sign` 1) or removes (-1) the child's share of the counts.
void ChildTable::count(const Child& child, int sign)
{
    if (child.busy) {
        busy_ += static_cast<std::size_t>(sign);
    } else if (!child.retiring) {
        spares_ += static_cast<std::size_t>(sign);
    }
}

std::optional<Child> ChildTable::take(pid_t pid)
{
    auto it = children_.find(pid);
    if (it == children_.end()) {
        return std::nullopt;
    }
    Child child = std::move(it->second);
    children_.erase(it);
    count(child, -1);
    return child;
}

const Child* ChildTable::find(pid_t pid) const
{
    auto it = children_.find(pid);
    return it == children_.end() ? nullptr : &it->second;
}

void ChildTable::attach(const ChildReport& report)
{
    auto it = children_.find(static_cast<pid_t>(report.pid));
    if (it != children_.end()) {
        it->second.report = report;
    }
}

// Whether every record the child will write has been read. Known only for a fork-mode
// child (its one report). A prefork child that looks idle may have accepted, served and
// exited with both records still in the pipe, so it never counts as reported.
bool ChildTable::reported(pid_t pid) const
{
    auto it = children_.find(pid);
    return it != children_.end() && !it->second.prefork &&
           (it->second.report.has_value() || it->second.refused);
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

std::optional<pid_t> ChildTable::any_spare() const
{
    for (const auto& [pid, child] : children_) {
        if (!child.busy && !child.retiring) {
            return pid;
        }
    }
    return std::nullopt;
}

}  // namespace echod
