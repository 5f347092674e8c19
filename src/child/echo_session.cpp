#include "child/echo_session.hpp"

#include "common/child_path.hpp"

#include "os/clock.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace echod {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t buffer_size = 64 * 1024;
// A client that streams is read up to this many times in a row without a poll (a poll
// before each read costs a system call per 64 KiB); then a poll notices stop requests and
// deadlines. 16 reads are at most 1 MiB.
constexpr unsigned reads_between_polls = 16;

class Session {
public:
    Session(int conn, const SessionLimits& limits, int control,
            ReadControl read_control, void* context, Pending pending)
        : conn_(conn), limits_(limits), control_(control), read_control_(read_control),
          context_(context)
    {
        if (pending.size > 0) {
            end_ = pending.size < buffer_size ? pending.size : buffer_size;
            std::memcpy(buffer_, pending.data, end_);
            result_.bytes_in = end_;
        }
        if (pending.draining) {
            drain_deadline_ = Clock::now() + limits.drain_timeout;
        }
        if (limits.max_session.count() > 0) {
            session_deadline_ = Clock::now() + limits.max_session;
        }
    }

    SessionResult run()
    {
        bool eof = false;
        while (!done_) {
            if (start_ < end_) {
                write_pending();
            } else if (eof) {
                finish(CloseReason::eof);
            } else if (streaming() || wait(POLLIN, limits_.idle_timeout, CloseReason::idle)) {
                // Polling before a read also keeps stop requests and the drain deadline
                // noticed while a client streams without pause: at least every
                // reads_between_polls reads.
                read_some(eof);
            }
        }
        return result_;
    }

private:
    // Whether to read again without polling first: the last read filled at least half the
    // buffer (a client streaming; its next bytes are most likely there already), and fewer
    // than reads_between_polls reads were made since the last poll. A read that finds
    // nothing (EAGAIN) ends the streak, and the next read polls first.
    bool streaming()
    {
        if (streak_ == 0 || streak_ >= reads_between_polls) {
            streak_ = 0;
            return false;
        }
        return true;
    }

    void read_some(bool& eof)
    {
        const ssize_t n = ::recv(conn_, buffer_, buffer_size, 0);
        if (n > 0) {
            start_ = 0;
            end_ = static_cast<std::size_t>(n);
            result_.bytes_in += end_;
            streak_ = end_ >= buffer_size / 2 ? streak_ + 1 : 0;
            return;
        }
        streak_ = 0;
        if (n == 0) {
            eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
            fail(errno);
        }
    }

    void write_pending()
    {
        const ssize_t n = ::send(conn_, buffer_ + start_, end_ - start_, MSG_NOSIGNAL);
        if (n > 0) {
            start_ += static_cast<std::size_t>(n);
            result_.bytes_out += static_cast<std::uint64_t>(n);
        } else if (errno == EAGAIN) {
            wait(POLLOUT, limits_.stall_timeout, CloseReason::stall);
        } else if (errno != EINTR) {
            fail(errno);
        }
    }

    // Waits until `events` on the connection, `timeout` (ending the session with `reason`),
    // or a stop request. Returns whether the connection is ready.
    bool wait(short events, milliseconds timeout, CloseReason reason)
    {
        const std::optional<Clock::time_point> deadline =
            timeout.count() > 0 ? std::optional(Clock::now() + timeout) : std::nullopt;
        for (;;) {
            pollfd fds[2] = {{conn_, events, 0}, {control_, POLLIN, 0}};
            const auto next = earliest(deadline);
            const int rc = ::poll(fds, control_ >= 0 ? 2 : 1, poll_timeout_ms(Clock::now(), next));
            if (rc < 0 && errno != EINTR) {
                fail(errno);
                return false;
            }
            // Stop requests and the drain deadline come first, so a peer that keeps the
            // connection always ready cannot delay them; the idle or stall deadline counts
            // only when nothing is ready.
            if (rc > 0 && fds[1].revents != 0 && handle_stop()) {
                return false;
            }
            const Clock::time_point now = Clock::now();
            if (drain_deadline_ && now >= *drain_deadline_) {
                finish(CloseReason::shutdown);
                return false;
            }
            // A peer that trickles a byte before each idle or stall deadline re-arms them
            // for ever: this one does not move.
            if (session_deadline_ && now >= *session_deadline_) {
                finish(CloseReason::session);
                return false;
            }
            if (rc > 0 && fds[0].revents != 0) {
                return true;
            }
            if (deadline && now >= *deadline) {
                finish(reason);
                return false;
            }
        }
    }

    // Returns whether the session must end now.
    bool handle_stop()
    {
        const StopRequest request =
            read_control_ != nullptr ? read_control_(context_) : StopRequest::now;
        if (request == StopRequest::now) {
            finish(CloseReason::shutdown);
            return true;
        }
        if (request == StopRequest::graceful && !drain_deadline_) {
            drain_deadline_ = Clock::now() + limits_.drain_timeout;
        }
        return false;
    }

    std::optional<Clock::time_point> earliest(std::optional<Clock::time_point> deadline) const
    {
        for (const auto& other : {drain_deadline_, session_deadline_}) {
            if (other && (!deadline || *other < *deadline)) {
                deadline = other;
            }
        }
        return deadline;
    }

    void fail(int error)
    {
        const bool reset = error == ECONNRESET || error == EPIPE || error == ETIMEDOUT;
        result_.error = error;
        finish(reset ? CloseReason::reset : CloseReason::error);
    }

    void finish(CloseReason reason)
    {
        result_.reason = reason;
        done_ = true;
    }

    int conn_;
    const SessionLimits& limits_;
    int control_;
    ReadControl read_control_;
    void* context_;
    char buffer_[buffer_size];
    std::size_t start_ = 0;
    std::size_t end_ = 0;
    bool done_ = false;
    unsigned streak_ = 0;  // reads in a row that filled half the buffer or more
    std::optional<Clock::time_point> drain_deadline_;
    std::optional<Clock::time_point> session_deadline_;
    SessionResult result_;
};

}  // namespace

const char* close_reason_name(CloseReason reason)
{
    switch (reason) {
    case CloseReason::eof: return "eof";
    case CloseReason::idle: return "idle";
    case CloseReason::stall: return "stall";
    case CloseReason::reset: return "reset";
    case CloseReason::error: return "error";
    case CloseReason::shutdown: return "shutdown";
    case CloseReason::session: return "session";
    }
    return "unknown";
}

ECHOD_CHILD_PATH SessionResult run_echo_session(int conn, const SessionLimits& limits,
                                                int control, ReadControl read_control,
                                                void* context, Pending pending)
{
    return Session(conn, limits, control, read_control, context, pending).run();
}

}  // namespace echod
