// `echod --reload PID`: ask a running master to reload and wait for its answer, so that
// systemd's ExecReload (and a script) learns whether the new settings are live.
//
// The request is SIGHUP sent with sigqueue() carrying reload_request_value; the master
// answers the sender with SIGUSR1 carrying reload_applied or reload_rejected once the
// reload is done. A plain SIGHUP (kill -HUP) still reloads and gets no answer.
#pragma once

#include <sys/signalfd.h>
#include <sys/types.h>

#include <chrono>

namespace echod {

constexpr int reload_request_value = 0x6563686f;  // "echo"
constexpr int reload_applied = 0;
constexpr int reload_rejected = 1;

enum class ReloadOutcome { applied, rejected, no_answer };

// Sends the request to `pid` and waits up to `timeout` for its answer. Throws
// std::system_error if `pid` cannot be signalled (no such process, another user's).
// Returns no_answer if the master died or did not answer in time.
ReloadOutcome request_reload(pid_t pid, std::chrono::milliseconds timeout);

// Master side: if `request` was a reload request, answer its sender.
void answer_reload_request(const signalfd_siginfo& request, bool applied);

}  // namespace echod
