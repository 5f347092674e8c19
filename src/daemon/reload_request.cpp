#include "daemon/reload_request.hpp"

#include "os/sys_error.hpp"

#include <signal.h>
#include <time.h>

namespace echod {

ReloadOutcome request_reload(pid_t pid, std::chrono::milliseconds timeout)
{
    sigset_t answer;
    sigemptyset(&answer);
    sigaddset(&answer, SIGUSR1);
    // Blocked before asking, so an answer that comes at once waits for sigtimedwait.
    check_sys(::sigprocmask(SIG_BLOCK, &answer, nullptr), "sigprocmask");
    sigval value{};
    value.sival_int = reload_request_value;
    check_sys(::sigqueue(pid, SIGHUP, value), "send the reload request to pid " +
                                                  std::to_string(pid));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        // Short waits, so a master that dies without answering is noticed.
        const timespec slice{0, 100 * 1000 * 1000};
        siginfo_t info{};
        if (::sigtimedwait(&answer, &info, &slice) == SIGUSR1) {
            if (info.si_pid == pid && info.si_code == SI_QUEUE) {
                return info.si_value.sival_int == reload_applied ? ReloadOutcome::applied
                                                                 : ReloadOutcome::rejected;
            }
            continue;  // someone else's SIGUSR1
        }
        if (::kill(pid, 0) != 0 && errno == ESRCH) {
            return ReloadOutcome::no_answer;
        }
    }
    return ReloadOutcome::no_answer;
}

void answer_reload_request(const signalfd_siginfo& request, bool applied)
{
    if (request.ssi_code != SI_QUEUE || request.ssi_int != reload_request_value) {
        return;
    }
    sigval value{};
    value.sival_int = applied ? reload_applied : reload_rejected;
    // The sender may have given up and gone; nothing else to do then.
    ::sigqueue(static_cast<pid_t>(request.ssi_pid), SIGUSR1, value);
}

}  // namespace echod
