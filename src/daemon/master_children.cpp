// The master's child half: accept, apply the limits, fork, read reports, reap, log.
#include "daemon/master.hpp"

#include "common/child_path.hpp"
#include "os/sys_error.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace echod {
namespace {

constexpr std::chrono::milliseconds max_backoff{1000};

// The `finished` record of a reaped fork-mode child, if its exit says that it wrote it.
const ChildReport* final_report(const Child& child, int wait_status)
{
    const bool reported = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == child_reported;
    return reported && child.report ? &*child.report : nullptr;
}

}  // namespace

bool Master::accept_from(const Listener& listener, int most)
{
    for (int i = 0; i < most; ++i) {
        if (children_.size() >= config_.max_children || paused_until_) {
            return false;
        }
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
            return false;
        }
        if (accept_error_is_client_gone(error)) {
            continue;
        }
        // EMFILE, ENFILE, ENOBUFS, ENOMEM: the client stays queued; try again shortly
        // instead of spinning on a listener that stays readable.
        if (descriptor_limit_.strike(Clock::now())) {
            log_accept_limit_reached(error);
        }
        pause_accepting(std::chrono::milliseconds(100));
        return false;
    }
    return true;
}

// A direct client is checked and counted before the fork, so a refused client costs no
// process. Behind a PROXY listener the peer is a balancer: only a trusted one gets a
// child, which reads the header and admits the client it names.
void Master::admit(UniqueFd conn, const Endpoint& peer)
{
    const ClientRules& rules = *rules_;
    if (rules.proxy && !rules.proxy_trusted.contains(peer)) {
        refuse(peer, Refusal::untrusted, nullptr, Clock::now());
        return;  // closed with nothing written
    }
    const int hold = admission_->counts.reserve();
    if (!rules.proxy) {
        const Refusal refusal =
            admission_->admit(hold, peer, rules, std::chrono::milliseconds(0));
        if (refusal != Refusal::none) {
            admission_->counts.reap(hold);
            refuse(peer, refusal, nullptr, Clock::now());
            return;  // closed with nothing written: a banner would corrupt the echo
        }
    }
    spawn(std::move(conn), peer, hold);
}

void Master::refuse(const Endpoint& client, Refusal refusal, const ChildReport* report,
                    Clock::time_point now)
{
    ++stats_.refused;
    ++stats_.refused_by[std::min<std::size_t>(static_cast<std::size_t>(refusal),
                                              refusal_count - 1)];
    const std::optional<Endpoint> via = report != nullptr ? report->via() : std::nullopt;
    const char* why = report != nullptr ? report->why : "";
    log_connection_refused(client, via ? &*via : nullptr, refusal, why);
    if (refusal != Refusal::source_full && refusal != Refusal::network_full &&
        refusal != Refusal::rate_limited) {
        if (refusals_[static_cast<std::size_t>(refusal)].strike(now)) {
            log_refusals_began(refusal, client, why);
        }
        return;
    }
    const ClientLimitKind kind = refusal == Refusal::network_full ? ClientLimitKind::network
                                 : refusal == Refusal::rate_limited ? ClientLimitKind::rate
                                                                    : ClientLimitKind::source;
    const bool network = kind == ClientLimitKind::network;
    ClientLimit& limit = client_limits_[static_cast<std::size_t>(kind)]
                                       [network ? network_key(client) : source_key(client)];
    if (limit.episode.strike(now)) {
        limit.kind = kind;
        limit.name = network ? format_network(client) : format_source(client);
        log_client_limit_reached(limit.kind, limit_of(limit.kind), limit.name);
    }
}

unsigned Master::limit_of(ClientLimitKind kind) const
{
    switch (kind) {
    case ClientLimitKind::source: return config_.max_per_source;
    case ClientLimitKind::network: return config_.max_per_network;
    case ClientLimitKind::rate: return config_.rate_per_source;
    }
    return 0;
}

ECHOD_CHILD_PATH void Master::spawn(UniqueFd conn, const Endpoint& peer, int hold)
{
    // Everything the child needs is copied to the stack before fork: the Master object is
    // master-only memory, which the child does not have (os/master_only.hpp), and what the
    // child runs is kept to the few pages of the child path (common/child_path.hpp).
    const SessionLimits limits = session_limits();
    const int report_fd = report_write_.get();
    const int signal_fd = child_signal_fd_.get();
    const ClientRules& rules = *rules_;
    Admission& admission = *admission_;
    const bool announce = config_.log_level == LogLevel::debug;
    const pid_t master = pid_;
    const pid_t pid = ::fork();
    if (pid == 0) {
        run_child(conn.get(), peer, report_fd, signal_fd, limits, rules, admission, hold,
                  announce, master);
    }
    if (pid < 0) {
        const int fork_error = errno;
        admission_->counts.reap(hold);
        fork_failed(fork_error, "dropping clients and backing off");  // conn closes here
        return;
    }
    const Clock::time_point now = Clock::now();
    children_.add(pid, peer, now, hold);
    if (!rules.proxy) {
        log_connection_accepted(peer, nullptr, false, pid);  // else once the header names it
    }
}

// The server goes on after a pause that doubles while fork keeps failing.
void Master::fork_failed(int error, const char* consequence)
{
    ++stats_.fork_failed;
    if (fork_limit_.strike(Clock::now())) {
        log_fork_limit_reached(error, consequence);
    }
    back_off();
}

void Master::back_off()
{
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
    if (report.kind == ReportKind::udp_counts) {
        handle_udp_report(report, now);
        return;
    }
    const Child* child = children_.find(report.pid);
    if (child != nullptr && child->prefork) {
        handle_prefork_report(report, now);
    } else {
        handle_fork_report(report, now);
    }
}

// A fork-mode child behind a PROXY listener says who its client is, or that it refused
// it; every fork-mode child sends its `finished` record, logged when it is reaped.
void Master::handle_fork_report(const ChildReport& report, Clock::time_point now)
{
    switch (report.kind) {
    case ReportKind::accepted: {
        children_.name_client(report);
        const std::optional<Endpoint> via = report.via();
        log_connection_accepted(report.peer(), via ? &*via : nullptr, report.local != 0,
                                report.pid);
        break;
    }
    case ReportKind::refused:
        children_.refused(report.pid);
        refuse(report.peer(), static_cast<Refusal>(report.refused_by), &report, now);
        break;
    default:
        if (report.peer_length != 0) {
            children_.name_client(report);  // behind a balancer: the client the header named
        }
        children_.attach(report);
        break;
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
            admission_->counts.reap(child->hold);  // what a killed child still held
            if (child->prefork) {
                prefork_child_exited(pid, *child, status);
            } else if (!child->refused) {  // a refused client was never served
                close_connection(pid, *child, final_report(*child, status), status);
            }
        } else {
            udp_child_exited(pid, status);
        }
    }
}

void Master::close_connection(pid_t pid, const Child& child, const ChildReport* report,
                              int wait_status)
{
    ++stats_.served;
    if (report != nullptr) {
        stats_.closed.add(*report);
    } else {
        ++stats_.killed;
    }
    const Clock::time_point now = Clock::now();
    if (connection_lines_.summarise(child, report, now)) {
        return;  // counted in the next summary line instead
    }
    const auto duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - child.started);
    log_connection_closed(child, pid, {report, wait_status}, duration);
}

void Master::settle_limits(Clock::time_point now)
{
    if (children_limit_.settle(now, children_.busy() >= config_.max_children)) {
        log_children_limit_cleared(config_.max_children, children_limit_.duration_ms(now));
    }
    if (fork_limit_.settle(now, false)) {
        log_fork_limit_cleared(fork_limit_.strikes(), fork_limit_.duration_ms(now));
    }
    if (spare_limit_.settle(now, false)) {
        log_spare_limit_cleared(spare_limit_.strikes(), spare_limit_.duration_ms(now));
    }
    if (!fork_limit_.active() && !spare_limit_.active()) {
        backoff_ = std::chrono::milliseconds(100);
    }
    if (descriptor_limit_.settle(now, false)) {
        log_accept_limit_cleared(descriptor_limit_.strikes(), descriptor_limit_.duration_ms(now));
    }
    for (std::size_t i = 0; i < refusal_count; ++i) {
        if (refusals_[i].settle(now, false)) {
            log_refusals_ended(static_cast<Refusal>(i), refusals_[i].strikes(),
                               refusals_[i].duration_ms(now));
        }
    }
    for (auto& limits : client_limits_) {
        for (auto it = limits.begin(); it != limits.end();) {
            ClientLimit& limit = it->second;
            if (!limit.episode.settle(now, still_full(it->first, limit))) {
                ++it;
                continue;
            }
            log_client_limit_cleared(limit.kind, limit_of(limit.kind), limit.name,
                                     limit.episode.strikes(), limit.episode.duration_ms(now));
            it = limits.erase(it);
        }
    }
}

bool Master::still_full(const SourceKey& key, const ClientLimit& limit) const
{
    if (limit.kind == ClientLimitKind::rate) {
        return false;  // ends once the source has been quiet for LimitEpisode::quiet
    }
    const unsigned max = limit_of(limit.kind);
    return max > 0 && admission_->counts.count(key) >= max;
}

}  // namespace echod
