// `echod --reload PID`: ask a running master to reload and wait for its answer, so that
// systemd's ExecReload (and a script) learns whether the new settings are live.
//
// The request is reload_request_signal() (common/signals.hpp), a realtime signal sent with
// sigqueue(): realtime signals queue, so every request reaches the master with its own
// sender and value, however many are sent at once (two SIGHUPs pending at once would merge
// into one, and one requester would never hear back). Its value is a token the requester
// picked. Once the reload is done the master answers with a datagram carrying the outcome
// to the abstract Unix socket "echod-reload-TOKEN", which the requester bound before it
// asked. That reaches a requester outside the master's PID namespace too (where the
// sender's pid reads as 0, so no signal could answer it), and never a process that merely
// took over a requester's pid. The requester takes the answer only from the master's own
// pid, as the kernel reports the sender (SO_PASSCRED): the socket's name is visible to
// every local user. A plain SIGHUP, or the request signal sent without sigqueue (kill -s,
// systemctl kill), still reloads, and gets no answer.
#pragma once

#include <sys/signalfd.h>
#include <sys/types.h>

#include <chrono>
#include <stdexcept>

namespace echod {

enum class ReloadOutcome { applied = 0, rejected = 1, stopping = 2, no_answer = 3 };

// The pid names a live process that is not an echod master: nothing was sent.
class NotAMaster : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Checks that `pid` is an echod master (it reads SIGHUP and the reload request from a
// signalfd, so it blocks both), sends the request and waits up to `timeout` for the
// answer. Throws std::system_error if `pid` cannot be signalled (no such process, another
// user's), NotAMaster if it is no echod master. Returns no_answer if the master died or did
// not answer in time.
ReloadOutcome request_reload(pid_t pid, std::chrono::milliseconds timeout);

// Master side: whether `signal` is a reload request, and its answer.
bool is_reload_request(const signalfd_siginfo& signal);
void answer_reload_request(const signalfd_siginfo& request, ReloadOutcome outcome);

}  // namespace echod
