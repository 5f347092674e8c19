#include "daemon/master.hpp"

#include "common/signals.hpp"
#include "daemon/log.hpp"
#include "daemon/reload_request.hpp"
#include "daemon/resource_limits.hpp"
#include "os/sys_error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

namespace echod {
namespace {

// After shutdown_timeout children get SIGINT (close now); what is left after this, SIGKILL.
constexpr std::chrono::seconds kill_grace{2};

}  // namespace

Master::Master(CommandLine command_line, Config config, std::vector<Listener> listeners,
               bool socket_activated, ServiceManager service, FdStore fd_store)
    : command_line_(std::move(command_line)),
      config_(std::move(config)),
      listeners_(std::move(listeners)),
      socket_activated_(socket_activated),
      service_(std::move(service)),
      fd_store_(std::move(fd_store)),
      rules_(std::make_unique<const ClientRules>(client_rules(config_)))
{
    signal_fd_.reset(open_master_signal_fd());
    // Children inherit one of their own: a read there returns the reader's signals, and
    // nothing a child does to it (flags, mask) can touch the master's.
    child_signal_fd_.reset(open_master_signal_fd());
    int pipe_fds[2];
    check_sys(::pipe2(pipe_fds, O_CLOEXEC), "pipe2");
    report_read_.reset(pipe_fds[0]);
    report_write_.reset(pipe_fds[1]);
    // Only the master's end is non-blocking: a child's one small write must not fail.
    check_sys(::fcntl(report_read_.get(), F_SETFL, O_NONBLOCK), "fcntl O_NONBLOCK");
    adopt_udp_sockets();
}

int Master::run()
{
    spawn_rate_ = config_.min_spare_children;  // every spare before the ready line
    maintain_spares(Clock::now());
    maintain_udp(Clock::now());
    note_short_backlog();
    note_resource_limits(config_, count_sockets(listeners_) + count_sockets(udp_adopted_),
                         udp_served());
    write_metrics(Clock::now(), true);
    fd_store_.sync(listeners_, service_);
    log_ready(listening_state(format_listeners(listeners_)));
    service_.ready(status_text());
    while (phase_ == Phase::running || !children_.empty() || udp_running()) {
        poll_once();
        tick(Clock::now());
    }
    connection_lines_.finish(Clock::now());
    write_metrics(Clock::now(), false);
    log_stopped(stats_.served);
    return 0;
}

void Master::poll_once()
{
    // Kept between passes: no allocation (and no heap page written) per pass.
    auto& fds = poll_fds_;
    fds.assign({{signal_fd_.get(), POLLIN, 0}, {report_read_.get(), POLLIN, 0}});
    const Clock::time_point now = Clock::now();
    end_pause_if_over(now);
    if (config_.mode == Mode::fork && phase_ == Phase::running && !paused_until_ &&
        children_.size() >= config_.max_children) {
        strike_children_limit(now);
    }
    if (accepting()) {
        for (const Listener& listener : listeners_) {
            fds.push_back({listener.fd.get(), POLLIN, 0});
        }
    }
    const int ready = ::poll(fds.data(), fds.size(), poll_timeout(now));
    if (ready < 0) {
        if (errno == EINTR) {
            return;
        }
        throw_sys_error("poll");
    }
    if (ready > 0) {
        service_.changed();  // a connection, a report or a signal: the counters may move
    }
    // New clients first: a client waits on the fork, while reports and reaping wait on no
    // one. Accept before handling signals too: a reload may replace the listeners.
    for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) {
            accept_from(listeners_[i - 2]);
        }
    }
    if (fds[1].revents != 0) {
        drain_reports();
    }
    if (fds[0].revents != 0) {
        read_signals();
    }
}

void Master::end_pause_if_over(Clock::time_point now)
{
    if (paused_until_ && now >= *paused_until_) {
        paused_until_.reset();
    }
}

// Whether the master itself accepts now (fork mode; in prefork mode the children do). At
// max_children the listeners leave the poll set: new clients wait in the kernel backlog.
bool Master::accepting() const
{
    return config_.mode == Mode::fork && phase_ == Phase::running && !paused_until_ &&
           children_.size() < config_.max_children;
}

void Master::strike_children_limit(Clock::time_point now)
{
    if (children_limit_.strike(now)) {
        log_children_limit_reached(config_.max_children);
    }
}

int Master::poll_timeout(Clock::time_point now) const
{
    std::optional<Clock::time_point> next;
    auto consider = [&next](Clock::time_point when) {
        if (!next || when < *next) {
            next = when;
        }
    };
    if (paused_until_) {
        consider(*paused_until_);
    }
    if (phase_ == Phase::running && spares_short_) {
        consider(now);
    }
    if (phase_ == Phase::running && children_.spares() > config_.max_spare_children) {
        consider(next_retire_);
    }
    if (phase_ != Phase::running && !killed_) {
        consider(deadline_);
    }
    const bool refusing = std::any_of(refusals_.begin(), refusals_.end(),
                                      [](const LimitEpisode& e) { return e.active(); }) ||
                          std::any_of(client_limits_.begin(), client_limits_.end(),
                                      [](const auto& limits) { return !limits.empty(); });
    if (children_limit_.active() || fork_limit_.active() || spare_limit_.active() ||
        descriptor_limit_.active() || refusing) {
        consider(now + LimitEpisode::quiet);
    }
    if (auto due = service_.next_due()) {
        consider(*due);
    }
    if (auto due = udp_due(now)) {
        consider(*due);
    }
    if (auto due = metrics_.next_due()) {
        consider(*due);
    }
    if (auto due = connection_lines_.next_due()) {
        consider(*due);
    }
    return poll_timeout_ms(now, next);
}

void Master::tick(Clock::time_point now)
{
    maintain_spares(now);
    settle_limits(now);
    maintain_udp(now);
    connection_lines_.tick(now);
    service_.tick(now, [this] { return status_text(); });
    if (metrics_.due(now)) {
        write_metrics(now, true);
    }
    if (phase_ == Phase::draining && now >= deadline_) {
        log_shutdown_timeout_reached(children_.busy());
        signal_children(SIGINT);
        phase_ = Phase::terminating;
        deadline_ = now + kill_grace;
    } else if (phase_ == Phase::terminating && !killed_ && now >= deadline_) {
        log_sending_sigkill(children_.size());
        signal_children(SIGKILL);
        killed_ = true;
    }
}

void Master::read_signals()
{
    signalfd_siginfo info{};
    bool reap = false;
    while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (is_reload_request(info)) {
            const bool stopping = phase_ != Phase::running;
            const bool applied = reload();
            answer_reload_request(info, stopping  ? ReloadOutcome::stopping
                                        : applied ? ReloadOutcome::applied
                                                  : ReloadOutcome::rejected);
            continue;
        }
        switch (info.ssi_signo) {
        case SIGCHLD: reap = true; break;
        case SIGHUP: reload(); break;
        case SIGUSR1: log_status(counters(), format_listeners(listeners_)); break;
        case SIGTERM: begin_stop(true); break;
        case SIGINT: begin_stop(false); break;
        default: break;
        }
    }
    if (reap) {
        reap_children();
    }
}

bool Master::reload()
{
    if (phase_ != Phase::running) {
        log_reload_ignored_stopping();
        return false;
    }
    service_.reloading();
    const std::string old_metrics_file = config_.metrics_file;
    try {
        Config next = load_config(command_line_);
        if (next.user != config_.user || next.group != config_.group ||
            next.pid_file != config_.pid_file) {
            log_reload_fixed_keys_unchanged();
            next.user = config_.user;
            next.group = config_.group;
            next.pid_file = config_.pid_file;
        }
        if (socket_activated_) {
            if (next.addresses != config_.addresses || next.port != config_.port ||
                next.backlog != config_.backlog) {
                log_reload_socket_keys_unused(next.path);
            }
            next.addresses = config_.addresses;
            next.port = config_.port;
            next.backlog = config_.backlog;
        } else {
            // New listeners are open before the old ones close; kept ones are never closed.
            std::vector<Listener> opened = open_listeners(next, listeners_);
            // What is left in listeners_ was dropped: out of the store, then shut down.
            fd_store_.sync(opened, service_, &listeners_);
            stop_listening(listeners_);
            listeners_ = std::move(opened);
        }
        config_ = std::move(next);
        // Children forked before keep their copy of the old rules; new ones get these.
        rules_ = std::make_unique<const ClientRules>(client_rules(config_));
        reload_failed_ = false;
        retire_prefork_children();
        spawn_rate_ = config_.min_spare_children;  // replace them all at once
        restart_udp();
    } catch (const std::exception& e) {
        log_reload_failed(e.what());
        reload_failed_ = true;
        write_metrics(Clock::now(), true);  // echod_config_last_reload_successful 0
        service_.ready(status_text());
        return false;
    }
    log_set_level(config_.log_level);
    note_short_backlog();
    note_resource_limits(config_, count_sockets(listeners_) + count_sockets(udp_adopted_),
                         udp_served());
    reload_metrics(old_metrics_file);  // first: the reloaded line says the file is written
    log_reloaded(listening_state(format_listeners(listeners_)));
    service_.ready(status_text());
    return true;
}

void Master::begin_stop(bool graceful)
{
    const Clock::time_point now = Clock::now();
    if (phase_ == Phase::terminating || (graceful && phase_ == Phase::draining)) {
        return;
    }
    if (phase_ == Phase::running) {
        service_.stopping("stopping: " + counters());
    }
    if (graceful && phase_ == Phase::running && config_.shutdown_timeout.count() > 0) {
        serve_backlog();
    }
    stop_listening(listeners_);  // not systemd's sockets: the spares leave when told below
    listeners_.clear();
    paused_until_.reset();
    if (graceful && config_.shutdown_timeout.count() > 0) {
        // Spares leave at once; each busy child drains for the shutdown_timeout it started
        // with, and the master's deadline (the value now) cuts short any longer one.
        log_stopping("SIGTERM", children_.busy(), config_.shutdown_timeout);
        signal_children(SIGTERM);
        phase_ = Phase::draining;
        deadline_ = now + config_.shutdown_timeout;
        return;
    }
    log_stopping(graceful ? "SIGTERM" : "SIGINT", children_.busy(), std::nullopt);
    signal_children(SIGINT);
    phase_ = Phase::terminating;
    deadline_ = now + kill_grace;
}

// At a graceful stop, the connections the kernel has accepted and queued are clients like
// those already served: closing the listener would reset them, and a balancer cannot
// retry a connection that was established. So new handshakes are dropped first (a client
// retries its SYN, and by then finds the port closed, or, behind a balancer, is sent to
// another server), then the queue is accepted, in either mode by the master, with a
// fork-mode child each (up to max_children), and those drain like the rest.
//
// A stored listener gets no filter: the socket is the next master's too. New clients go on
// queueing there, for it to serve; only those queued now are accepted here.
void Master::serve_backlog()
{
    refuse_new_connections(listeners_);
    for (const Listener& listener : listeners_) {
        if (listener.fd && listener.stored) {
            accept_from(listener, queued_connections(listener.fd.get()));
        } else if (listener.fd && !listener.adopted) {
            for (int pass = 0; pass < 64 && accept_from(listener, 64); ++pass) {
            }
        }
    }
}

// At max_children new clients wait in the backlog, and the kernel queues backlog + 1 of them
// at most: a longer burst is dropped or answered with SYN cookies, and echod never sees
// those clients. Said once at start and at each reload, not per client (it cannot see them).
// The backlog as the kernel applied it (net.core.somaxconn may have lowered it; under socket
// activation it is the socket unit's).
void Master::note_short_backlog() const
{
    std::optional<int> backlog =
        listeners_.empty() ? std::nullopt : applied_backlog(listeners_.front().fd.get());
    if (!backlog && !socket_activated_) {
        backlog = config_.backlog;
    }
    if (backlog && *backlog >= 0 && static_cast<unsigned>(*backlog) < config_.max_children) {
        log_backlog_below_max_children(*backlog, config_.max_children);
    }
}

SessionLimits Master::session_limits() const
{
    return {config_.idle_timeout, config_.stall_timeout, config_.shutdown_timeout,
            config_.max_session};
}

ClientRules Master::client_rules(const Config& config)
{
    ClientRules rules;
    rules.proxy = config.proxy_protocol != ProxyProtocol::off;
    rules.proxy_version = config.proxy_protocol == ProxyProtocol::v1   ? ProxyVersion::v1
                          : config.proxy_protocol == ProxyProtocol::v2 ? ProxyVersion::v2
                                                                       : ProxyVersion::any;
    rules.proxy_timeout = config.proxy_timeout;
    rules.proxy_trusted = config.proxy_trusted;
    rules.allow = config.allow;
    rules.deny = config.deny;
    rules.limits = {config.max_per_source, config.max_per_network};
    rules.rate = {config.rate_per_source, config.rate_burst};
    return rules;
}

void Master::signal_children(int signal)
{
    for (pid_t pid : children_.pids()) {
        ::kill(pid, signal);
    }
    signal_udp(signal);
}

ListeningState Master::listening_state(const std::string& listening) const
{
    // A socket unit may pass UDP sockets alone.
    const std::uint16_t port = !listeners_.empty()     ? listeners_.front().bound.port()
                               : !udp_adopted_.empty() ? udp_adopted_.front().bound.port()
                                                       : 0;
    return {listening, port,
            socket_activated_ ? std::nullopt : std::optional<int>(config_.backlog), config_,
            udp_listening()};
}

std::string Master::status_text() const
{
    if (phase_ != Phase::running) {
        return "stopping: " + counters();
    }
    return (reload_failed_ ? "last reload failed, running the previous settings: " : "") +
           counters();
}

std::string Master::counters() const
{
    std::string line = "active=" + std::to_string(children_.busy()) +
                       " served=" + std::to_string(stats_.served) +
                       " refused=" + std::to_string(stats_.refused);
    for (std::size_t i = 1; i < refusal_count; ++i) {  // why, where any
        if (stats_.refused_by[i] != 0) {
            line += std::string(" refused_") + refusal_name(static_cast<Refusal>(i)) + "=" +
                    std::to_string(stats_.refused_by[i]);
        }
    }
    line += " fork_failed=" + std::to_string(stats_.fork_failed);
    for (CloseReason reason : close_reasons) {
        line += std::string(" ") + close_reason_name(reason) + "=" +
                std::to_string(stats_.closed.of(reason));
    }
    line += " killed=" + std::to_string(stats_.killed);
    if (config_.mode == Mode::prefork) {
        line += " spare=" + std::to_string(children_.spares());
    }
    line += udp_counters();
    return line;
}

}  // namespace echod
