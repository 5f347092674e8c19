// The master's prefork half: keeps spare children between min_spare_children and
// max_spare_children, and reads what they report about the connections they accept.
#include "daemon/master.hpp"

#include "common/child_path.hpp"

#include "child/prefork_child.hpp"
#include "common/signals.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

namespace echod {
namespace {

constexpr std::size_t max_spawn_rate = 32;           // forks per loop pass, at the top of the ramp
constexpr std::chrono::seconds retire_interval{1};  // one surplus spare retired per interval

}  // namespace

// Forks spares up to min_spare_children: one per pass at first, doubling each pass that
// still falls short (a burst of clients uses them up faster than one fork at a time
// replaces them), back to one once there are enough. Retires one surplus spare a second.
void Master::maintain_spares(Clock::time_point now)
{
    spares_short_ = false;
    end_pause_if_over(now);
    if (phase_ != Phase::running || config_.mode != Mode::prefork || paused_until_) {
        return;
    }
    if (children_.busy() >= config_.max_children) {
        strike_children_limit(now);
    }
    const std::size_t room = config_.max_children - std::min<std::size_t>(
                                                        children_.size(), config_.max_children);
    const std::size_t want = config_.min_spare_children -
                             std::min<std::size_t>(children_.spares(), config_.min_spare_children);
    const std::size_t forks = std::min<std::size_t>({want, room, spawn_rate_});
    for (std::size_t i = 0; i < forks; ++i) {
        if (!spawn_spare()) {
            return;
        }
    }
    if (forks < std::min(want, room)) {
        spares_short_ = true;
        spawn_rate_ = std::min(spawn_rate_ * 2, max_spawn_rate);
    } else {
        spawn_rate_ = 1;
    }
    if (children_.spares() > config_.max_spare_children && now >= next_retire_) {
        retire(*children_.any_spare());
        next_retire_ = now + retire_interval;
    }
}

ECHOD_CHILD_PATH bool Master::spawn_spare()
{
    // Built here, so the child allocates nothing.
    std::vector<int> listeners;
    for (const Listener& listener : listeners_) {
        listeners.push_back(listener.fd.get());
    }
    std::vector<int> keep = listeners;
    keep.push_back(report_write_.get());
    keep.push_back(child_signal_fd_.get());  // the child reads its signals there
    std::sort(keep.begin(), keep.end());
    const PreforkSettings settings{session_limits(), rules_.get(),
                                   config_.max_connections_per_child};
    const int hold = admission_->counts.reserve();
    // Copied to the stack: the child does not have the Master object (os/master_only.hpp).
    const int report_fd = report_write_.get();
    const int signal_fd = child_signal_fd_.get();
    Admission& admission = *admission_;
    const pid_t master = pid_;
    const pid_t pid = ::fork();
    if (pid == 0) {
        run_prefork_child(listeners, keep, report_fd, signal_fd, settings, admission, hold,
                          master);
    }
    if (pid < 0) {
        const int fork_error = errno;
        admission_->counts.reap(hold);
        fork_failed(fork_error, "backing off");
        return false;
    }
    children_.add_spare(pid, hold);
    return true;
}

void Master::retire(pid_t pid)
{
    ::kill(pid, retire_signal);
    children_.retire(pid);
}

// After a reload every prefork child goes (a busy one after its connection): they hold
// the old listeners and the old settings. New spares are forked with the new ones.
void Master::retire_prefork_children()
{
    for (pid_t pid : children_.pids()) {
        if (const Child* child = children_.find(pid); child->prefork && !child->retiring) {
            retire(pid);
        }
    }
}

void Master::handle_prefork_report(const ChildReport& report, Clock::time_point now)
{
    const pid_t pid = report.pid;
    switch (report.kind) {
    case ReportKind::waiting:
        children_.begin_connection(report, now);  // the balancer, until the header names one
        break;
    case ReportKind::accepted: {
        if (const Child* child = children_.find(pid); child != nullptr && child->busy) {
            children_.name_client(report);  // it was waiting for the header
        } else {
            children_.begin_connection(report, now);
        }
        const std::optional<Endpoint> via = report.via();
        log_connection_accepted(report.peer(), via ? &*via : nullptr, report.local != 0, pid);
        break;
    }
    case ReportKind::refused:
        if (const Child* child = children_.find(pid); child != nullptr && child->busy) {
            children_.end_connection(pid, false);  // a spare again
        }
        refuse(report.peer(), static_cast<Refusal>(report.refused_by), &report, now);
        break;
    case ReportKind::finished:
        if (std::optional<Child> child = children_.end_connection(pid, report.last != 0)) {
            child->report = report;
            close_connection(pid, *child, &report);
        }
        break;
    case ReportKind::accept_failed:
        if (phase_ != Phase::running) {
            break;  // stopping: no more spares are forked, so there is nothing to pause
        }
        if (descriptor_limit_.strike(now)) {
            log_child_accept_limit_reached(report.error);
        }
        pause_accepting(std::chrono::milliseconds(100));
        break;
    case ReportKind::udp_counts:
        break;  // the UDP child's, handled before (master_udp.cpp)
    }
}

// A prefork child that dies while serving ends its connection without a report (its
// `finished` record would have ended the connection already); a spare that exits other than
// asked was serving no one.
void Master::prefork_child_exited(pid_t pid, const Child& child, int wait_status)
{
    if (child.busy) {
        close_connection(pid, child, nullptr, wait_status);
    } else if (WIFSIGNALED(wait_status) ||
               (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != child_reported)) {
        spare_died(pid, wait_status);
    }
}

// Spares that die as they start (out of descriptors or epoll watches, killed on arrival)
// would otherwise be forked again on the next pass, each with its warning: a fork and log
// storm. Back off as for a failed fork, and log the first death and a summary.
void Master::spare_died(pid_t pid, int wait_status)
{
    if (spare_limit_.strike(Clock::now())) {
        log_spare_exited(pid, wait_status);
    }
    if (phase_ == Phase::running) {
        back_off();
    }
}

}  // namespace echod
