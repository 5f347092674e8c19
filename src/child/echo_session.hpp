// One echo conversation (RFC 862) on a connected, non-blocking stream socket. It knows
// nothing about processes or logging, so it runs on any fd (tests use a socketpair).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace echod {

enum class CloseReason : std::uint8_t { eof = 1, idle, stall, reset, error, shutdown, session };
constexpr std::size_t close_reason_count = 7;  // its largest value
constexpr CloseReason close_reasons[] = {CloseReason::eof,   CloseReason::idle,
                                         CloseReason::stall, CloseReason::reset,
                                         CloseReason::error, CloseReason::shutdown,
                                         CloseReason::session};
const char* close_reason_name(CloseReason reason);

struct SessionLimits {
    std::chrono::milliseconds idle_timeout{0};   // no data from the peer; 0: none
    std::chrono::milliseconds stall_timeout{0};  // the peer takes nothing we send; 0: none
    std::chrono::milliseconds drain_timeout{0};  // how long a graceful stop lets it go on
    std::chrono::milliseconds max_session{0};    // the longest it may last, whatever the peer
                                                 // does; 0: no limit
};

enum class StopRequest { none, graceful, now };

struct SessionResult {
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    CloseReason reason = CloseReason::eof;
    int error = 0;  // errno, for reset and error
};

// Says what was asked on the control descriptor; `context` is the caller's.
using ReadControl = StopRequest (*)(void* context);

// What happened before the session began (while a PROXY header was read): bytes the
// client sent after the header, which are echoed first and counted in bytes_in, and
// whether a graceful stop was asked meanwhile, so that the session drains from its start.
struct Pending {
    const char* data = nullptr;
    std::size_t size = 0;  // at most 64 KiB
    bool draining = false;
};

// Echoes every byte until the peer shuts down its sending side (everything owed is sent
// first), a timeout, an error, or a stop request. When `control` becomes readable,
// `read_control(context)` is called and says what was asked (without one, any readiness
// is StopRequest::now). The caller closes `conn`.
SessionResult run_echo_session(int conn, const SessionLimits& limits, int control = -1,
                               ReadControl read_control = nullptr, void* context = nullptr,
                               Pending pending = {});

// The same with a callable, e.g. a lambda. Not std::function: nothing to construct or
// destroy on the child path, so no code of its own to fault in (common/child_path.hpp).
template <typename ReadStop>
StopRequest call_read_stop(void* callable)
{
    return (*static_cast<ReadStop*>(callable))();
}

template <typename ReadStop>
SessionResult run_echo_session(int conn, const SessionLimits& limits, int control,
                               ReadStop& read_control, Pending pending = {})
{
    return run_echo_session(conn, limits, control, &call_read_stop<ReadStop>, &read_control,
                            pending);
}

}  // namespace echod
