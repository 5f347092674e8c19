// The signal contract of the master and its children, in one place (the README's signal
// tables describe this file):
//
//   signal   master                               child
//   SIGHUP   reload (answered if sent by          ignored (meant for the master)
//            `echod --reload`)
//   SIGTERM  graceful stop                        drain for shutdown_timeout, then close
//   SIGINT   fast stop                            close now
//   SIGCHLD  reap                                 default
//   SIGUSR1  log a status line                    ignored (meant for the master)
//   SIGUSR2  ignored                              prefork: retire; fork mode: ignored
//   SIGPIPE  ignored                              ignored
//   SIGRTMIN+1  reload, answered (`echod --reload`)   ignored
//
// Signals are never handled in a handler: the master reads its set from a signalfd in its
// poll loop, and a child reads its stop signals from a signalfd of its own.
#pragma once

#include "child/echo_session.hpp"

#include <signal.h>

namespace echod {

// What the master sends a prefork child to retire it: an idle child exits at once, a busy
// one after its connection.
constexpr int retire_signal = SIGUSR2;

// What `echod --reload` sends (daemon/reload_request.hpp): a realtime signal, because those
// queue, each with its sender, where two SIGHUPs pending at once merge into one.
inline int reload_request_signal()
{
    return SIGRTMIN + 1;
}

// The contract as data (a test checks the README's two signal tables against it; the
// reload request is read by the master and ignored by children too).
constexpr int master_signal_numbers[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};  // read
constexpr int master_ignored_signals[] = {SIGPIPE, retire_signal};
constexpr int child_stop_signals[] = {SIGTERM, SIGINT};  // read from the child's signalfd
constexpr int child_ignored_signals[] = {SIGHUP, SIGUSR1, SIGPIPE};  // and, fork mode, retire

// The master, first thing at start: resets the dispositions a launcher may have left
// (SIG_IGN for SIGCHLD would let the kernel reap children behind the master's back),
// blocks its signals so that one arriving during start-up waits for the loop, and ignores
// SIGPIPE and retire_signal (blocked as well, so that one sent to a child between fork()
// and its own signal setup stays pending there instead of being lost).
void block_master_signals();
// A non-blocking, close-on-exec signalfd for the master's signals.
int open_master_signal_fd();

// A child changes nothing: it keeps the master's mask and dispositions and reads the
// master's signalfd, which it inherits (a read there returns the signals queued to the
// reader). read_stop() takes SIGTERM, SIGINT and retire_signal from it and discards the
// master's other signals, so for a child they are ignored. That is no system call between
// fork and the echo for signals. (retire_signal is in the master's signalfd for its
// children: the master reads and ignores it.)
// The requests waiting on a child's signalfd (the master's, inherited; the master's other
// signals are read and discarded).
struct StopSignals {
    StopRequest request = StopRequest::none;  // SIGINT: now; SIGTERM: graceful
    bool retire = false;                      // retire_signal (prefork children act on it)
};
StopSignals read_stop(int signal_fd);

}  // namespace echod
