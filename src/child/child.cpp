#include "child/child.hpp"

#include "common/child_path.hpp"
#include "common/signals.hpp"
#include "os/sys_error.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>

namespace echod {
namespace {

ECHOD_CHILD_PATH void close_range_between(unsigned first, unsigned last)
{
    if (first <= last && ::close_range(first, last, 0) != 0) {
        for (unsigned fd = first; fd <= last && fd < 65536; ++fd) {
            ::close(static_cast<int>(fd));  // kernels older than 5.9
        }
    }
}

// In place, ascending. Not std::sort: a call into its code would be one more code page for
// the child to fault in (common/child_path.hpp).
ECHOD_CHILD_PATH void sort_three(int (&fds)[3])
{
    auto order = [](int& a, int& b) {
        if (b < a) {
            const int t = a;
            a = b;
            b = t;
        }
    };
    order(fds[0], fds[1]);
    order(fds[1], fds[2]);
    order(fds[0], fds[1]);
}

}  // namespace

ECHOD_CHILD_PATH void close_inherited(const int* keep, std::size_t count)
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

ECHOD_CHILD_PATH void watch_master(pid_t master)
{
    // A master killed outside systemd (SIGKILL, a crash) leaves no one to stop its
    // children: have the kernel send SIGTERM, so each drains for shutdown_timeout at most.
    // The master may have died before this line; then stop now the same way.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && ::getppid() != master) {
        ::raise(SIGTERM);
    }
}

ECHOD_CHILD_PATH void send_report(int report_fd, const ChildReport& report) noexcept
{
    if (!write_full(report_fd, &report, sizeof report)) {
        ::_exit(child_report_failed);
    }
}

ECHOD_CHILD_PATH ChildReport with_client(ChildReport report, const ClientStart& start)
{
    report.with_peer(start.client);
    if (start.proxied) {
        report.with_via(start.via);
    }
    report.local = start.local ? 1 : 0;
    report.refused_by = static_cast<std::uint8_t>(start.refusal);
    return report.with_why(start.why);
}

ECHOD_CHILD_PATH ChildReport start_report(const ClientStart& start)
{
    return with_client(ChildReport::from_this_process(start.refusal == Refusal::none
                                                          ? ReportKind::accepted
                                                          : ReportKind::refused),
                       start);
}

ECHOD_CHILD_PATH void run_child(int conn, const Endpoint& peer, int report_fd, int signal_fd,
                                const SessionLimits& limits, const ClientRules& rules,
                                Admission& admission, int hold, bool announce,
                                pid_t master) noexcept
{
    int keep[3] = {conn, report_fd, signal_fd};
    sort_three(keep);
    close_inherited(keep, 3);
    watch_master(master);
    auto stop = [signal_fd] { return read_stop(signal_fd).request; };
    Pending pending;
    HeaderBuffer buffer;
    ClientStart start;
    if (rules.proxy) {
        // The master could not tell who the client is: the header does, and the client is
        // admitted here.
        start = start_client(conn, peer, rules, admission, hold, true, signal_fd, stop, buffer);
        if (start.refusal != Refusal::none) {
            send_report(report_fd, start_report(start));
            ::_exit(child_reported);  // closed with nothing written
        }
        if (announce) {
            send_report(report_fd, start_report(start));
        }
        pending = start.pending;
    }
    const SessionResult result = run_echo_session(conn, limits, signal_fd, stop, pending);
    admission.counts.release(hold);  // before the client can see the close
    ChildReport finished = ChildReport::finished(result);
    if (rules.proxy) {
        finished = with_client(finished, start);
    }
    send_report(report_fd, finished);
    ::_exit(child_reported);
}

}  // namespace echod
