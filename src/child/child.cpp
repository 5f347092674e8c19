#include "child/child.hpp"

#include "os/sys_error.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace echod {
namespace {

void close_range_between(unsigned first, unsigned last)
{
    if (first <= last && ::close_range(first, last, 0) != 0) {
        for (unsigned fd = first; fd <= last && fd < 65536; ++fd) {
            ::close(static_cast<int>(fd));  // kernels older than 5.9
        }
    }
}

}  // namespace

void close_inherited(const int* keep, std::size_t count)
{
    unsigned next = 3;
    for (std::size_t i = 0; i < count; ++i) {
        const unsigned kept = static_cast<unsigned>(keep[i]);
        if (keep[i] >= 0 && kept >= next) {
            close_range_between(next, kept - 1);
            next = kept + 1;
        }
    }
    close_range_between(next, UINT_MAX);
}

int reset_signals(bool with_retire)
{
    for (int signal : {SIGHUP, SIGUSR1, SIGPIPE}) {
        ::signal(signal, SIG_IGN);
    }
    ::signal(SIGCHLD, SIG_DFL);
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    if (with_retire) {
        // Still blocked from the master: a SIGUSR2 already pending is kept (setting SIG_IGN
        // would discard it) and read from the signalfd.
        ::signal(SIGUSR2, SIG_DFL);
        sigaddset(&stops, SIGUSR2);
    } else {
        ::signal(SIGUSR2, SIG_IGN);
    }
    if (::sigprocmask(SIG_SETMASK, &stops, nullptr) != 0) {
        return -1;
    }
    return ::signalfd(-1, &stops, SFD_NONBLOCK | SFD_CLOEXEC);
}

void watch_master(pid_t master)
{
    // A master killed outside systemd (SIGKILL, a crash) leaves no one to stop its
    // children: have the kernel send SIGTERM, so each drains for shutdown_timeout at most.
    // The master may have died before this line; then stop now the same way.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && ::getppid() != master) {
        ::raise(SIGTERM);
    }
}

namespace {

StopRequest read_stop(int signal_fd)
{
    signalfd_siginfo info{};
    StopRequest request = StopRequest::none;
    while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGINT) {
            request = StopRequest::now;
        } else if (request == StopRequest::none) {
            request = StopRequest::graceful;
        }
    }
    return request;
}

}  // namespace

void run_child(int conn, int report_fd, const SessionLimits& limits, pid_t master) noexcept
{
    const int keep[2] = {std::min(conn, report_fd), std::max(conn, report_fd)};
    close_inherited(keep, 2);
    const int signal_fd = reset_signals(false);
    if (signal_fd < 0) {
        ::_exit(child_setup_failed);
    }
    watch_master(master);
    const SessionResult result = run_echo_session(
        conn, limits, signal_fd, [signal_fd] { return read_stop(signal_fd); });
    ChildReport report;
    report.pid = static_cast<std::int32_t>(::getpid());
    report.error = result.error;
    report.bytes_in = result.bytes_in;
    report.bytes_out = result.bytes_out;
    report.reason = static_cast<std::uint8_t>(result.reason);
    ::_exit(write_full(report_fd, &report, sizeof report) ? child_served : child_report_failed);
}

}  // namespace echod
