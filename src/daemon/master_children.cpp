// The master's child half: accept, apply the limits, fork, read reports, reap, log.
#include "daemon/master.hpp"

#include "daemon/log.hpp"
#include "os/sys_error.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace echod {
namespace {

constexpr int accepts_per_wakeup = 64;  // then back to poll, so signals are not starved
constexpr std::chrono::milliseconds max_backoff{1000};
constexpr std::size_t killed_slot = 7;

std::string describe(int error)
{
    return std::strerror(error);
}

}  // namespace

void Master::accept_from(const Listener& listener)
{
    for (int i = 0; i < accepts_per_wakeup && children_.size() < config_.max_children &&
                    !paused_until_;
         ++i) {
        Endpoint peer;
        peer.length = sizeof peer.storage;
        const int fd = ::accept4(listener.fd.get(), peer.addr(), &peer.length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(UniqueFd(fd), peer);
            continue;
        }
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) {
            return;
        }
        if (accept_error_is_client_gone(error)) {
            continue;
        }
        // EMFILE, ENFILE, ENOBUFS, ENOMEM: the client stays queued; try again shortly
        // instead of spinning on a listener that stays readable.
        if (descriptor_limit_.strike(Clock::now())) {
            log_warning("limit reached: accept4 failed (" + describe(error) +
                        "); accepting paused");
        }
        pause_accepting(std::chrono::milliseconds(100));
        return;
    }
}

void Master::admit(UniqueFd conn, const Endpoint& peer)
{
    if (config_.max_per_source > 0 &&
        children_.from_source(source_key(peer)) >= config_.max_per_source) {
        refuse(peer, Clock::now());
        return;  // closed with nothing written: a banner would corrupt the echo
    }
    spawn(std::move(conn), peer);
}

void Master::refuse(const Endpoint& peer, Clock::time_point now)
{
    ++stats_.refused;
    SourceLimit& limit = source_limits_[source_key(peer)];
    if (limit.episode.strike(now)) {
        limit.host = format_host(peer);
        log_notice("limit reached: max_per_source=" + std::to_string(config_.max_per_source) +
                   " source=" + limit.host + "; further connections from it are closed");
    }
}

void Master::spawn(UniqueFd conn, const Endpoint& peer)
{
    const pid_t pid = ::fork();
    const int fork_error = errno;
    if (pid == 0) {
        run_child(conn.get(), report_write_.get(),
                  SessionLimits{config_.idle_timeout, config_.stall_timeout,
                                config_.shutdown_timeout},
                  pid_);
    }
    const Clock::time_point now = Clock::now();
    if (pid < 0) {
        fork_failed(fork_error, "dropping clients and backing off");  // conn closes here
        return;
    }
    children_.add(pid, peer, now);
    if (log_enabled(LogLevel::debug)) {
        log_debug("connection accepted peer=" + format_endpoint(peer) +
                  " pid=" + std::to_string(pid));
    }
}

// The server goes on after a pause that doubles while fork keeps failing.
void Master::fork_failed(int error, const char* consequence)
{
    ++stats_.fork_failed;
    if (fork_limit_.strike(Clock::now())) {
        log_warning("limit reached: fork failed (" + describe(error) + "); " + consequence);
    }
    pause_accepting(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
}

void Master::pause_accepting(std::chrono::milliseconds how_long)
{
    paused_until_ = Clock::now() + how_long;
}

void Master::drain_reports()
{
    ChildReport batch[16];  // 1 KiB: fewer stack pages written, so fewer copied per child
    for (;;) {
        const ssize_t n = ::read(report_read_.get(), batch, sizeof batch);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        // Every write is one whole record (atomic, < PIPE_BUF), so reads are whole records.
        const Clock::time_point now = Clock::now();
        for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof(ChildReport); ++i) {
            handle_report(batch[i], now);
        }
    }
}

void Master::handle_report(const ChildReport& report, Clock::time_point now)
{
    const Child* child = children_.find(report.pid);
    if (child != nullptr && child->prefork) {
        handle_prefork_report(report, now);
    } else {
        children_.attach(report);  // a fork-mode child: logged when it is reaped
    }
}

// One SIGCHLD can stand for many children: reap until none is left. A child writes its
// report before it exits, so once it is reaped its report is in the pipe: read the pipe
// again if it has not been seen yet.
void Master::reap_children()
{
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (!children_.reported(pid)) {
            drain_reports();
        }
        if (auto child = children_.take(pid)) {
            release_source(*child);  // a connection still counted in SourceSlots ends here
            if (child->prefork) {
                log_prefork_exit(pid, *child, status);
            } else {
                log_closed(pid, *child, status);
            }
        }
    }
}

void Master::log_closed(pid_t pid, const Child& child, int status)
{
    const bool reported = WIFEXITED(status) && WEXITSTATUS(status) == child_served && child.report;
    const auto reason = reported ? static_cast<CloseReason>(child.report->reason) : CloseReason{};
    ++stats_.served;
    ++stats_.by_reason[reported ? std::min<std::size_t>(child.report->reason, killed_slot)
                                : killed_slot];
    const LogLevel level =
        !reported || reason == CloseReason::error ? LogLevel::warning : LogLevel::info;
    if (!log_enabled(level)) {
        return;
    }
    const auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        Clock::now() - child.started);
    std::string line = "connection closed peer=" + format_endpoint(child.peer) +
                       " pid=" + std::to_string(pid);
    line += reported ? " bytes_in=" + std::to_string(child.report->bytes_in) +
                           " bytes_out=" + std::to_string(child.report->bytes_out)
                     : std::string(" bytes_in=- bytes_out=-");
    line += " duration_ms=" + std::to_string(duration.count());
    if (!reported) {
        line += WIFSIGNALED(status) ? " reason=killed signal=" + std::to_string(WTERMSIG(status))
                                    : " reason=failed exit=" + std::to_string(WEXITSTATUS(status));
    } else {
        line += std::string(" reason=") + close_reason_name(reason);
        if (child.report->error != 0) {
            line += " error=\"" + describe(child.report->error) + "\"";
        }
    }
    log_message(level, line);
}

void Master::settle_limits(Clock::time_point now)
{
    if (children_limit_.settle(now, children_.busy() >= config_.max_children)) {
        log_notice("limit cleared: max_children=" + std::to_string(config_.max_children) +
                   " duration_ms=" + std::to_string(children_limit_.duration_ms(now)));
    }
    if (fork_limit_.settle(now, false)) {
        log_notice("limit cleared: fork failed=" + std::to_string(fork_limit_.strikes()) +
                   " clients dropped duration_ms=" + std::to_string(fork_limit_.duration_ms(now)));
        backoff_ = std::chrono::milliseconds(100);
    }
    if (descriptor_limit_.settle(now, false)) {
        log_notice("limit cleared: accept4 failed=" + std::to_string(descriptor_limit_.strikes()) +
                   " duration_ms=" + std::to_string(descriptor_limit_.duration_ms(now)));
    }
    for (auto it = source_limits_.begin(); it != source_limits_.end();) {
        const bool full = config_.max_per_source > 0 &&
                          children_.from_source(it->first) >= config_.max_per_source;
        if (it->second.episode.settle(now, full)) {
            log_notice("limit cleared: max_per_source=" + std::to_string(config_.max_per_source) +
                       " source=" + it->second.host + " refused=" +
                       std::to_string(it->second.episode.strikes()) + " duration_ms=" +
                       std::to_string(it->second.episode.duration_ms(now)));
            it = source_limits_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace echod
