#include "common/signals.hpp"

#include "common/child_path.hpp"
#include "os/sys_error.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

namespace echod {
namespace {

sigset_t master_signals()
{
    sigset_t set;
    sigemptyset(&set);
    for (int signal : master_signal_numbers) {
        sigaddset(&set, signal);
    }
    sigaddset(&set, reload_request_signal());
    return set;
}

}  // namespace

void block_master_signals()
{
    sigset_t set = master_signals();
    sigaddset(&set, retire_signal);
    // Exactly this set: a signal the launcher left blocked would stay blocked in every
    // child too, since children keep this mask (common/signals.hpp).
    check_sys(::sigprocmask(SIG_SETMASK, &set, nullptr), "sigprocmask");
    // Dispositions survive exec: reset what was inherited.
    for (int signal : master_signal_numbers) {
        ::signal(signal, SIG_DFL);
    }
    ::signal(reload_request_signal(), SIG_DFL);
    for (int signal : master_ignored_signals) {
        ::signal(signal, SIG_IGN);  // a group-wide retire_signal must not kill the master
    }
}

int open_master_signal_fd()
{
    sigset_t set = master_signals();
    sigaddset(&set, retire_signal);  // read and ignored here; read by prefork children
    return check_sys(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd");
}

ECHOD_CHILD_PATH StopSignals read_stop(int signal_fd)
{
    signalfd_siginfo info{};
    StopSignals stop;
    while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == static_cast<std::uint32_t>(retire_signal)) {
            stop.retire = true;
        } else if (info.ssi_signo == SIGINT) {
            stop.request = StopRequest::now;
        } else if (info.ssi_signo == SIGTERM && stop.request == StopRequest::none) {
            stop.request = StopRequest::graceful;
        }
    }
    return stop;
}

}  // namespace echod
