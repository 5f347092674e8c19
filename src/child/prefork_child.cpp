#include "child/prefork_child.hpp"

#include "child/child.hpp"
#include "common/child_path.hpp"
#include "daemon/listener.hpp"
#include "common/signals.hpp"
#include "os/sys_error.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace echod {
namespace {

class PreforkChild {
public:
    PreforkChild(std::vector<int>& listeners, int report_fd, int signal_fd,
                 const PreforkSettings& settings, Admission& admission, int hold)
        : listeners_(listeners),
          report_fd_(report_fd),
          settings_(settings),
          admission_(admission),
          hold_(hold),
          signal_fd_(signal_fd)
    {
    }

    [[noreturn]] ECHOD_CHILD_PATH void run(pid_t master)
    {
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0 || !watch(signal_fd_, 0)) {
            ::_exit(child_setup_failed);
        }
        for (int fd : listeners_) {
            if (!watch(fd, EPOLLEXCLUSIVE)) {
                ::_exit(child_setup_failed);
            }
        }
        watch_master(master);
        while (!retiring_ && (settings_.max_connections == 0 ||
                              served_ < settings_.max_connections)) {
            wait_and_accept();
        }
        ::_exit(child_reported);
    }

private:
    ECHOD_CHILD_PATH bool watch(int fd, std::uint32_t flags)
    {
        epoll_event event{};
        event.events = EPOLLIN | flags;
        event.data.fd = fd;
        return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0;
    }

    // One connection per pass: after serving, the loop condition (max_connections, a
    // retire request) is checked before another is taken. A listener event comes before a
    // stop request in the same pass: EPOLLEXCLUSIVE woke only this child for it, so it
    // serves that client before it leaves.
    ECHOD_CHILD_PATH void wait_and_accept()
    {
        epoll_event events[8];
        const int n = ::epoll_wait(epoll_fd_, events, 8, -1);
        bool stop = false;
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == signal_fd_) {
                stop = true;
            } else if (accept_from(events[i].data.fd)) {
                return;
            }
        }
        if (stop) {
            read_stop();  // idle: any request ends the child, there is nothing to drain
        }
    }

    // Returns whether a connection was taken (served or refused).
    ECHOD_CHILD_PATH bool accept_from(int listener)
    {
        Endpoint peer;
        peer.length = sizeof peer.storage;
        const int conn =
            ::accept4(listener, peer.addr(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn >= 0) {
            serve(conn, peer);
            ::close(conn);
            return true;
        }
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK || accept_error_is_client_gone(error)) {
            return false;  // another child took it, or the client left
        }
        if (error == EINVAL) {
            drop_listener(listener);  // the master stopped it (a reload or a stop)
            return false;
        }
        if (error == EBADF || error == ENOTSOCK) {
            // Not a listener of ours any more: nothing is exhausted, but a registration we
            // can no longer remove may keep waking us. Leave; the master forks a new spare.
            retiring_ = true;
            return false;
        }
        // EMFILE, ENFILE, ENOBUFS, ENOMEM: the master backs off before it forks again.
        ChildReport report = ChildReport::from_this_process(ReportKind::accept_failed);
        report.error = error;
        send_report(report_fd_, report);
        ::_exit(child_reported);
    }

    ECHOD_CHILD_PATH void serve(int conn, const Endpoint& peer)
    {
        auto stop = [this] { return read_stop(); };
        const ClientRules& rules = *settings_.rules;
        if (rules.proxy && rules.proxy_trusted.contains(peer)) {
            // Busy from now on, or the master would take this child for a spare while a
            // header is late, and fork no other.
            send_report(report_fd_,
                        ChildReport::from_this_process(ReportKind::waiting).with_peer(peer));
        }
        HeaderBuffer buffer;
        const ClientStart start =
            start_client(conn, peer, rules, admission_, hold_, false, signal_fd_, stop, buffer);
        send_report(report_fd_, start_report(start));
        if (start.refusal != Refusal::none) {
            return;  // closed with nothing written, as in fork mode
        }
        const SessionResult result =
            run_echo_session(conn, settings_.limits, signal_fd_, stop, start.pending);
        ++served_;
        admission_.counts.release(hold_);  // before the client can see the close
        ChildReport finished = ChildReport::finished(result);
        finished.last = retiring_ || (settings_.max_connections != 0 &&
                                      served_ >= settings_.max_connections);
        send_report(report_fd_, finished);
    }

    // Any stop or retire request closes the listeners at once, so a port the master gave up
    // (a reload, a stop, the master's death) is not held open by a child that drains.
    ECHOD_CHILD_PATH StopRequest read_stop()
    {
        const StopSignals stop = echod::read_stop(signal_fd_);
        retiring_ = retiring_ || stop.retire || stop.request != StopRequest::none;
        if (retiring_) {
            while (!listeners_.empty()) {
                drop_listener(listeners_.back());
            }
        }
        return stop.request;
    }

    // An epoll registration belongs to the open socket, not to the descriptor: the socket
    // stays open in the master and the other children, so a descriptor closed while still
    // registered goes on being reported, under a number that no longer names it. Deregister
    // first.
    ECHOD_CHILD_PATH void drop_listener(int listener)
    {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener, nullptr);
        ::close(listener);
        listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener),
                         listeners_.end());
        retiring_ = retiring_ || listeners_.empty();
    }

    std::vector<int>& listeners_;
    int report_fd_;
    const PreforkSettings& settings_;
    Admission& admission_;
    int hold_;
    int signal_fd_;  // the one the master opened for its children (common/signals.hpp)
    int epoll_fd_ = -1;
    unsigned served_ = 0;
    bool retiring_ = false;
};

}  // namespace

ECHOD_CHILD_PATH void run_prefork_child(std::vector<int>& listeners, const std::vector<int>& keep,
                                        int report_fd, int signal_fd,
                                        const PreforkSettings& settings, Admission& admission,
                                        int hold, pid_t master) noexcept
{
    close_inherited(keep.data(), keep.size());
    PreforkChild(listeners, report_fd, signal_fd, settings, admission, hold).run(master);
}

}  // namespace echod
