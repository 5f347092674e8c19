#include "daemon/master.hpp"

#include "daemon/log.hpp"
#include "daemon/reload_request.hpp"
#include "os/sys_error.hpp"

#include <climits>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

namespace echod {
namespace {

// After shutdown_timeout children get SIGINT (close now); what is left after this, SIGKILL.
constexpr std::chrono::seconds kill_grace{2};

// The signals the master reads from its signalfd.
constexpr int master_signal_numbers[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};

sigset_t master_signals()
{
    sigset_t set;
    sigemptyset(&set);
    for (int signal : master_signal_numbers) {
        sigaddset(&set, signal);
    }
    return set;
}

}  // namespace

void Master::block_signals()
{
    sigset_t set = master_signals();
    // SIGUSR2 is the prefork children's "retire": blocked here too, so that one sent to a
    // child between fork() and its own signal setup stays pending instead of being lost.
    sigaddset(&set, SIGUSR2);
    check_sys(::sigprocmask(SIG_BLOCK, &set, nullptr), "sigprocmask");
    // Dispositions survive exec: a launcher that ignored SIGCHLD would make the kernel reap
    // the children itself, and nothing could be accounted for. Reset what was inherited.
    for (int signal : master_signal_numbers) {
        ::signal(signal, SIG_DFL);
    }
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGUSR2, SIG_IGN);  // reserved; a group-wide SIGUSR2 must not kill the master
}

Master::Master(CommandLine command_line, Config config, std::vector<Listener> listeners,
               bool socket_activated)
    : command_line_(std::move(command_line)),
      config_(std::move(config)),
      listeners_(std::move(listeners)),
      socket_activated_(socket_activated)
{
    const sigset_t set = master_signals();
    signal_fd_.reset(check_sys(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd"));
    int pipe_fds[2];
    check_sys(::pipe2(pipe_fds, O_CLOEXEC), "pipe2");
    report_read_.reset(pipe_fds[0]);
    report_write_.reset(pipe_fds[1]);
    // Only the master's end is non-blocking: a child's one small write must not fail.
    check_sys(::fcntl(report_read_.get(), F_SETFL, O_NONBLOCK), "fcntl O_NONBLOCK");
}

int Master::run()
{
    spawn_rate_ = config_.min_spare_children;  // every spare before the ready line
    maintain_spares(Clock::now());
    log_ready("ready");
    service_.ready(status_text());
    while (phase_ == Phase::running || !children_.empty()) {
        poll_once();
        tick(Clock::now());
    }
    log_notice("stopped served=" + std::to_string(stats_.served));
    return 0;
}

void Master::poll_once()
{
    // Kept between passes: no allocation (and no heap page written) per pass.
    std::vector<pollfd>& fds = poll_fds_;
    fds.assign({{signal_fd_.get(), POLLIN, 0}, {report_read_.get(), POLLIN, 0}});
    const Clock::time_point now = Clock::now();
    if (accepting(now)) {
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
    if (fds[1].revents != 0) {
        drain_reports();
    }
    // Accept before handling signals: a reload may replace the listeners.
    for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) {
            accept_from(listeners_[i - 2]);
        }
    }
    if (fds[0].revents != 0) {
        read_signals();
    }
}

// At max_children the listeners leave the poll set: new clients wait in the kernel backlog.
bool Master::accepting(Clock::time_point now)
{
    if (config_.mode == Mode::prefork) {
        return false;  // the children accept
    }
    if (phase_ != Phase::running || (paused_until_ && now < *paused_until_)) {
        return false;
    }
    paused_until_.reset();
    if (children_.size() >= config_.max_children) {
        strike_children_limit(now);
        return false;
    }
    return true;
}

void Master::strike_children_limit(Clock::time_point now)
{
    if (children_limit_.strike(now)) {
        log_notice("limit reached: max_children=" + std::to_string(config_.max_children) +
                   "; new clients wait in the listen backlog");
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
    if (children_limit_.active() || fork_limit_.active() || descriptor_limit_.active() ||
        !source_limits_.empty()) {
        consider(now + LimitEpisode::quiet);
    }
    if (auto due = service_.next_due()) {
        consider(*due);
    }
    return poll_timeout_ms(now, next);
}

void Master::tick(Clock::time_point now)
{
    maintain_spares(now);
    settle_limits(now);
    service_.tick(now, [this] { return status_text(); });
    if (phase_ == Phase::draining && now >= deadline_) {
        log_notice("shutdown_timeout reached: closing active=" +
                   std::to_string(children_.busy()));
        signal_children(SIGINT);
        phase_ = Phase::terminating;
        deadline_ = now + kill_grace;
    } else if (phase_ == Phase::terminating && !killed_ && now >= deadline_) {
        log_warning("children still running after SIGINT: sending SIGKILL to " +
                    std::to_string(children_.size()));
        signal_children(SIGKILL);
        killed_ = true;
    }
}

void Master::read_signals()
{
    signalfd_siginfo info{};
    bool reap = false;
    while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        switch (info.ssi_signo) {
        case SIGCHLD: reap = true; break;
        case SIGHUP: answer_reload_request(info, reload()); break;
        case SIGUSR1: log_status(); break;
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
        log_notice("reload ignored: stopping");
        return false;
    }
    service_.reloading();
    try {
        Config next = load_config(command_line_);
        if (next.user != config_.user || next.group != config_.group ||
            next.pid_file != config_.pid_file) {
            log_warning("reload: user, group and pid_file take effect at the next start");
            next.user = config_.user;
            next.group = config_.group;
            next.pid_file = config_.pid_file;
        }
        if (socket_activated_) {
            if (next.addresses != config_.addresses || next.port != config_.port ||
                next.backlog != config_.backlog) {
                log_notice("reload: address, port and backlog come from the socket unit; the "
                           "values in " + next.path + " are not used");
            }
            next.addresses = config_.addresses;
            next.port = config_.port;
            next.backlog = config_.backlog;
        } else {
            // New listeners are open before the old ones close; kept ones are never closed.
            std::vector<Listener> opened = open_listeners(next, listeners_);
            stop_listening(listeners_);  // what is left there was dropped
            listeners_ = std::move(opened);
        }
        config_ = std::move(next);
        reload_failed_ = false;
        if (config_.mode == Mode::prefork) {
            // Prefork children check max_per_source in the shared table: connections that
            // fork-mode children still serve go in there too, and come out at their reap.
            // (Without waiting for the insertion lock: a child stopped while holding it must
            // not stop the master. Such a connection stays uncounted.)
            children_.count_fork_children([this](const SourceKey& source) {
                return source_slots_.try_add(source, UINT_MAX, std::chrono::milliseconds(0)) ==
                       SourceSlots::Outcome::counted;
            });
        }
        retire_prefork_children();
        spawn_rate_ = config_.min_spare_children;  // replace them all at once
    } catch (const std::exception& e) {
        log_error(std::string("reload failed: ") + e.what() +
                  "; keeping the running configuration");
        reload_failed_ = true;
        service_.ready(status_text());
        return false;
    }
    log_set_level(config_.log_level);
    log_ready("reloaded");
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
    stop_listening(listeners_);  // not systemd's sockets: the spares leave on SIGUSR2 below
    listeners_.clear();
    paused_until_.reset();
    // Prefork spares leave at once, busy prefork children after their connection; a
    // fork-mode child ignores SIGUSR2.
    signal_children(SIGUSR2);
    if (graceful && config_.shutdown_timeout.count() > 0) {
        log_notice("stopping signal=SIGTERM active=" + std::to_string(children_.busy()) +
                   " shutdown_timeout=" + format_duration(config_.shutdown_timeout));
        phase_ = Phase::draining;
        deadline_ = now + config_.shutdown_timeout;
        return;
    }
    log_notice(std::string("stopping signal=") + (graceful ? "SIGTERM" : "SIGINT") +
               " active=" + std::to_string(children_.busy()) + " closing now");
    signal_children(SIGINT);
    phase_ = Phase::terminating;
    deadline_ = now + kill_grace;
}

void Master::signal_children(int signal)
{
    for (pid_t pid : children_.pids()) {
        ::kill(pid, signal);
    }
}

void Master::log_ready(const char* what) const
{
    const std::uint16_t port = listeners_.empty() ? 0 : listeners_.front().bound.port();
    const std::string backlog =
        socket_activated_ ? std::string("socket-unit") : std::to_string(config_.backlog);
    log_notice(std::string(what) + " listening=" + format_listeners(listeners_) +
               " port=" + std::to_string(port) + " backlog=" + backlog +
               " max_children=" + std::to_string(config_.max_children) +
               " max_per_source=" + std::to_string(config_.max_per_source) +
               " mode=" + mode_name(config_.mode) + " pid=" + std::to_string(::getpid()));
}

void Master::log_status() const
{
    log_notice("status " + counters() + " listening=" + format_listeners(listeners_));
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
                       " refused=" + std::to_string(stats_.refused) +
                       " fork_failed=" + std::to_string(stats_.fork_failed);
    for (auto reason : {CloseReason::eof, CloseReason::idle, CloseReason::stall,
                        CloseReason::reset, CloseReason::error, CloseReason::shutdown}) {
        line += std::string(" ") + close_reason_name(reason) + "=" +
                std::to_string(stats_.by_reason[static_cast<std::size_t>(reason)]);
    }
    line += " killed=" + std::to_string(stats_.by_reason[7]);
    if (config_.mode == Mode::prefork) {
        line += " spare=" + std::to_string(children_.spares());
    }
    return line;
}

}  // namespace echod
