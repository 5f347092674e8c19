// The signal contract of the master and its children, in one place (echod(8)'s SIGNALS
// section describes this file):
//
//   signal   master                               child
//   SIGHUP   reload (answered if sent by          ignored (meant for the master)
//            `echod --reload`)
//   SIGTERM  graceful stop                        drain for shutdown_timeout, then close
//   SIGINT   fast stop                            close now
//   SIGCHLD  reap                                 ignored (it has no children)
//   SIGUSR1  log a status line                    ignored (meant for the master)
//   SIGUSR2  ignored                              prefork: retire; fork mode: ignored
//   SIGPIPE  ignored                              ignored
//   SIGRTMIN+1  reload, answered (`echod --reload`)   ignored
//
// Signals are never handled in a handler: the master reads its set from a signalfd in its
// poll loop. A child sets nothing up: it keeps the master's mask and dispositions, and
// reads a second signalfd of the master's with the same set, which it inherits (a read
// there returns the signals queued to the reader). It acts on SIGTERM, SIGINT and
// retire_signal and reads and drops the others, which is how it ignores them. That is no
// system call between fork and the echo for signals.
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

// The contract as data (signals_test checks echod(8)'s two signal lists against it; the
// reload request is read by the master and ignored by children too).
constexpr int master_signal_numbers[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};  // read
constexpr int master_ignored_signals[] = {SIGPIPE, retire_signal};
constexpr int child_stop_signals[] = {SIGTERM, SIGINT};  // read from the child's signalfd
// Read and dropped (SIGPIPE: ignored); retire_signal too in fork mode.
constexpr int child_ignored_signals[] = {SIGHUP, SIGUSR1, SIGPIPE};

// The master, first thing at start: resets the dispositions a launcher may have left
// (SIG_IGN for SIGCHLD would let the kernel reap children behind the master's back),
// blocks exactly its signals (children keep this mask) so that one arriving during
// start-up waits for the loop, and ignores SIGPIPE and retire_signal. retire_signal is
// blocked as well: a blocked signal is queued even when ignored, so a child reads it from
// its signalfd.
void block_master_signals();
// A non-blocking, close-on-exec signalfd for the master's signals, and retire_signal (the
// master reads and drops it). The master opens two: one it reads, one its children inherit.
int open_master_signal_fd();

// The requests waiting on a child's signalfd; the master's other signals are read and
// dropped.
struct StopSignals {
    StopRequest request = StopRequest::none;  // SIGINT: now; SIGTERM: graceful
    bool retire = false;                      // retire_signal (prefork children act on it)
};
StopSignals read_stop(int signal_fd);

}  // namespace echod
