// The master's UDP half (udp = on): one UDP child serves every datagram on the UDP sockets
// (child/udp_child.hpp). The master holds the sockets, forks the child before the ready
// line, forks another with a back-off if it dies unasked, retires it at a reload (the
// sockets the reload keeps stay open, so what arrives meanwhile waits for the next child),
// stops it with the rest, and adds up and logs what it reports.
#include "daemon/master.hpp"

#include "child/udp_child.hpp"
#include "common/signals.hpp"

#include <signal.h>

#include <algorithm>

namespace echod {
namespace {

constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{1000};  // as for spares that die

std::string format_udp(const std::vector<Listener>& sockets, std::string text)
{
    for (const Listener& socket : sockets) {
        if (socket.udp) {
            text += (text.empty() ? "" : ",") + format_endpoint(socket.bound);
        }
    }
    return text;
}

}  // namespace

// listeners_ holds only TCP listeners everywhere else (the accept loop, the spares, the
// ready line's listening=).
void Master::adopt_udp_sockets()
{
    for (auto it = listeners_.begin(); it != listeners_.end();) {
        if (it->fd) {
            ++it;
        } else {
            udp_adopted_.push_back(std::move(*it));
            it = listeners_.erase(it);
        }
    }
    note_udp_sockets();
}

// Under socket activation the UDP sockets are the unit's (ListenDatagram=), as the TCP ones
// are: echod opens none of its own, and says when the two settings disagree.
void Master::note_udp_sockets() const
{
    if (!socket_activated_) {
        return;
    }
    if (config_.udp && udp_adopted_.empty()) {
        log_udp_no_socket_from_unit();
    } else if (!config_.udp && !udp_adopted_.empty()) {
        log_udp_sockets_unused(format_udp(udp_adopted_, ""));
    }
}

void Master::maintain_udp(Clock::time_point now)
{
    if (udp_down_.settle(now, udp_fork_at_.has_value())) {
        log_udp_down_cleared(udp_down_.strikes(), udp_down_.duration_ms(now));
        udp_backoff_ = first_backoff;
    }
    if (udp_drops_.settle(now, false)) {
        log_udp_drops_cleared(udp_episode_, udp_drops_.duration_ms(now));
    }
    if (phase_ == Phase::running && udp_pid_ == 0 && udp_served() &&
        (!udp_fork_at_ || now >= *udp_fork_at_)) {
        udp_fork_at_.reset();
        spawn_udp(now);
    }
}

void Master::spawn_udp(Clock::time_point now)
{
    // Built here, on the stack and the ordinary heap: the child has no Master object
    // (os/master_only.hpp), and allocates nothing once it serves.
    const std::vector<int> sockets = udp_sockets();
    std::vector<int> keep = sockets;
    keep.push_back(report_write_.get());
    keep.push_back(child_signal_fd_.get());  // the child reads its signals there
    std::sort(keep.begin(), keep.end());
    const UdpSettings settings{{config_.udp_rate_per_source, 2 * config_.udp_rate_per_source},
                               rules_.get()};
    const int report_fd = report_write_.get();
    const int signal_fd = child_signal_fd_.get();
    const pid_t master = pid_;
    const pid_t pid = ::fork();
    if (pid == 0) {
        run_udp_child(sockets, keep, report_fd, signal_fd, settings, master);
    }
    if (pid < 0) {
        const int fork_error = errno;
        if (udp_down_.strike(now)) {
            log_udp_fork_failed(fork_error);
        }
        back_off_udp(now);
        return;
    }
    udp_pid_ = pid;
}

// The next fork waits a pause that doubles while the child goes on dying (or fork goes on
// failing), so a crash loop is no fork storm; it is back to the first once the child has
// lived LimitEpisode::quiet.
void Master::back_off_udp(Clock::time_point now)
{
    udp_fork_at_ = now + udp_backoff_;
    udp_backoff_ = std::min(udp_backoff_ * 2, max_backoff);
}

// The old child may still answer a datagram that arrives in the same moment, with the
// settings it was forked with.
void Master::restart_udp()
{
    if (udp_pid_ != 0) {
        ::kill(udp_pid_, retire_signal);
        udp_retired_.push_back(udp_pid_);
        udp_pid_ = 0;
    }
    udp_fork_at_.reset();  // an operator's reload tries again at once
    note_udp_sockets();
    maintain_udp(Clock::now());
}

void Master::udp_child_exited(pid_t pid, int wait_status)
{
    if (auto retired = std::find(udp_retired_.begin(), udp_retired_.end(), pid);
        retired != udp_retired_.end()) {
        udp_retired_.erase(retired);
        return;
    }
    if (pid != udp_pid_ || pid == 0) {
        return;
    }
    udp_pid_ = 0;
    if (phase_ == Phase::running) {  // no one asked: a crash, a kill, the OOM killer
        const Clock::time_point now = Clock::now();
        if (udp_down_.strike(now)) {
            log_udp_child_exited(pid, wait_status);
        }
        back_off_udp(now);
    }
}

void Master::handle_udp_report(const ChildReport& report, Clock::time_point now)
{
    const UdpCounts counts = report.udp_counts();
    stats_.udp += counts;
    if (counts.dropped_total() == 0) {
        return;
    }
    if (udp_drops_.strike(now)) {
        udp_episode_ = UdpCounts{};
        log_udp_drops_reached(counts);
    }
    udp_episode_ += counts;
}

std::optional<Clock::time_point> Master::udp_due(Clock::time_point now) const
{
    std::optional<Clock::time_point> due;
    if (phase_ == Phase::running && udp_fork_at_) {
        due = *udp_fork_at_;
    }
    if (udp_down_.active() || udp_drops_.active()) {
        due = std::min(due.value_or(now + LimitEpisode::quiet), now + LimitEpisode::quiet);
    }
    return due;
}

bool Master::udp_running() const
{
    return udp_pid_ != 0 || !udp_retired_.empty();
}

void Master::signal_udp(int signal)
{
    if (udp_pid_ != 0) {
        ::kill(udp_pid_, signal);
    }
    for (pid_t pid : udp_retired_) {
        ::kill(pid, signal);
    }
}

// Checked on every pass of the loop: looks, allocates nothing.
bool Master::udp_served() const
{
    auto has_udp = [](const Listener& socket) { return static_cast<bool>(socket.udp); };
    return config_.udp && (std::any_of(listeners_.begin(), listeners_.end(), has_udp) ||
                           std::any_of(udp_adopted_.begin(), udp_adopted_.end(), has_udp));
}

std::vector<int> Master::udp_sockets() const
{
    std::vector<int> sockets;
    for (const auto* list : {&listeners_, &udp_adopted_}) {
        for (const Listener& socket : *list) {
            if (config_.udp && socket.udp) {
                sockets.push_back(socket.udp.get());
            }
        }
    }
    return sockets;
}

std::string Master::udp_listening() const
{
    return config_.udp ? format_udp(udp_adopted_, format_udp(listeners_, "")) : "";
}

std::string Master::udp_counters() const
{
    if (!config_.udp) {
        return "";
    }
    return " udp_echoed=" + std::to_string(stats_.udp.echoed) +
           " udp_dropped=" + std::to_string(stats_.udp.dropped_total());
}

}  // namespace echod
