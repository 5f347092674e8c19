#include "child/udp_child.hpp"

#include "child/child.hpp"
#include "child/udp_guard.hpp"
#include "common/child_report.hpp"
#include "common/signals.hpp"
#include "os/clock.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace echod {
namespace {

// Shorter than LimitEpisode::quiet, so the master sees a steady flood of drops as one
// episode; often enough for STATUS=, which it sends at most once a second.
constexpr std::chrono::milliseconds report_interval{250};
// Per socket, then back to poll: a flood on one socket starves neither the others nor the
// stop signals.
constexpr int datagrams_per_wakeup = 64;
// Larger than any UDP payload but an IPv6 jumbogram (65,507 bytes over IPv4, 65,527 over
// IPv6): a datagram that does not fit is dropped, never echoed in part.
constexpr std::size_t buffer_size = 65536;

// The address a datagram was sent to, as the kernel told it (IP_PKTINFO or IPV6_PKTINFO).
struct Destination {
    int level = 0;  // SOL_IP, SOL_IPV6, or 0: not told
    in_pktinfo ipv4{};
    in6_pktinfo ipv6{};
};

Destination destination_of(msghdr& message)
{
    Destination destination;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
            std::memcpy(&destination.ipv4, CMSG_DATA(c), sizeof destination.ipv4);
            destination.level = SOL_IP;
        } else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            std::memcpy(&destination.ipv6, CMSG_DATA(c), sizeof destination.ipv6);
            destination.level = SOL_IPV6;
        }
    }
    return destination;
}

// Whether the datagram was sent to one host: a socket bound to a wildcard address also gets
// broadcasts, and an echo to a broadcast is answered by every host that serves one, to a
// source the sender may have forged (the "fraggle" attack). IPv4 says it outright: the
// local address a reply would come from (ipi_spec_dst) is the destination itself only when
// that is an address of this host. It is 0 for a datagram queued before IP_PKTINFO was set
// (socket activation: systemd's socket holds the one that woke echod). What passes here
// unrecognised (a subnet broadcast then, or one on a dual-stack socket from systemd) fails
// at the reply, since a broadcast address cannot be a reply's source, and is counted as
// unsent.
bool to_one_host(const Destination& destination)
{
    if (destination.level == SOL_IP) {
        const in_pktinfo& info = destination.ipv4;
        return (info.ipi_spec_dst.s_addr == 0 ||
                info.ipi_spec_dst.s_addr == info.ipi_addr.s_addr) &&
               is_one_host(make_endpoint(AF_INET, &info.ipi_addr, 0));
    }
    if (destination.level == SOL_IPV6) {
        return is_one_host(make_endpoint(AF_INET6, &destination.ipv6.ipi6_addr, 0));
    }
    return true;  // not told: the reply comes from the socket's own address
}

// The control message that sends the reply from the address the datagram was sent to: on a
// wildcard socket the kernel would otherwise pick the source by route, and a client that
// sent to another address of this host (a connected socket insists on it) would not take
// the reply. Returns its length, 0 for none.
std::size_t reply_source(const Destination& destination, char* control, std::size_t room)
{
    msghdr message{};
    message.msg_control = control;
    message.msg_controllen = room;
    cmsghdr* c = CMSG_FIRSTHDR(&message);
    if (destination.level == SOL_IP) {
        in_pktinfo info{};
        info.ipi_spec_dst = destination.ipv4.ipi_addr;
        c->cmsg_level = SOL_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        return CMSG_SPACE(sizeof info);
    }
    if (destination.level == SOL_IPV6) {
        in6_pktinfo info{};
        info.ipi6_addr = destination.ipv6.ipi6_addr;
        // The interface only for a link-local address, which means something on its link
        // alone; any other reply takes the route the kernel picks.
        if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr)) {
            info.ipi6_ifindex = destination.ipv6.ipi6_ifindex;
        }
        c->cmsg_level = SOL_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        return CMSG_SPACE(sizeof info);
    }
    return 0;
}

class UdpChild {
public:
    UdpChild(const std::vector<int>& sockets, int report_fd, int signal_fd,
             const UdpSettings& settings)
        : report_fd_(report_fd), signal_fd_(signal_fd), settings_(settings)
    {
        // Everything the loop needs is allocated here, before the first datagram.
        poll_fds_.push_back({signal_fd, POLLIN, 0});
        for (int fd : sockets) {
            poll_fds_.push_back({fd, POLLIN, 0});
        }
    }

    [[noreturn]] void run()
    {
        for (;;) {
            const Clock::time_point now = Clock::now();
            const int timeout = poll_timeout_ms(
                now, counts_.empty() ? std::nullopt : std::optional(next_report_));
            if (::poll(poll_fds_.data(), poll_fds_.size(), timeout) > 0) {
                if (poll_fds_[0].revents != 0) {
                    read_signals();
                }
                for (std::size_t i = 1; i < poll_fds_.size(); ++i) {
                    if (poll_fds_[i].revents != 0) {
                        serve(poll_fds_[i].fd);
                    }
                }
            }
            report(Clock::now(), false);
        }
    }

private:
    // Every request ends the child at once: there is no conversation to finish, and what
    // is queued on the sockets waits there for the next UDP child.
    void read_signals()
    {
        const StopSignals stop = read_stop(signal_fd_);
        if (stop.request != StopRequest::none || stop.retire) {
            report(Clock::now(), true);
            ::_exit(child_reported);
        }
    }

    void serve(int fd)
    {
        const Clock::time_point now = Clock::now();
        for (int i = 0; i < datagrams_per_wakeup; ++i) {
            Endpoint source;
            iovec data{buffer_, sizeof buffer_};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo)) +
                                          CMSG_SPACE(sizeof(in6_pktinfo))];
            msghdr message{};
            message.msg_name = &source.storage;
            message.msg_namelen = sizeof source.storage;
            message.msg_iov = &data;
            message.msg_iovlen = 1;
            message.msg_control = control;
            message.msg_controllen = sizeof control;
            // MSG_TRUNC: the length of the whole datagram, even when it did not fit.
            const ssize_t length = ::recvmsg(fd, &message, MSG_DONTWAIT | MSG_TRUNC);
            if (length < 0) {
                return;  // EAGAIN: none left; anything else: poll again
            }
            source.length = message.msg_namelen;
            const bool truncated = (message.msg_flags & MSG_TRUNC) != 0 ||
                                   static_cast<std::size_t>(length) > sizeof buffer_;
            answer(fd, source, destination_of(message), truncated,
                   static_cast<std::size_t>(length), now);
        }
    }

    // In this order: the guard, then the access lists, then the size, then the rate, so
    // that only a datagram that would be answered takes a token.
    void answer(int fd, const Endpoint& source, const Destination& destination, bool truncated,
                std::size_t length, Clock::time_point now)
    {
        if (!udp_source_answerable(source) || !to_one_host(destination)) {
            drop(UdpDrop::guard);
        } else if (!settings_.rules->allows(source)) {
            drop(UdpDrop::denied);
        } else if (truncated) {
            drop(UdpDrop::truncated);
        } else if (!rates_.take(source_key(source), settings_.rate, now)) {
            drop(UdpDrop::rate);
        } else if (!send_reply(fd, source, destination, length)) {
            drop(UdpDrop::unsent);  // e.g. its send buffer is full: UDP may lose it
        } else {
            ++counts_.echoed;
            counts_.bytes += length;
        }
    }

    bool send_reply(int fd, const Endpoint& to, const Destination& from, std::size_t length)
    {
        iovec data{buffer_, length};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
        msghdr reply{};
        reply.msg_name = const_cast<sockaddr*>(to.addr());
        reply.msg_namelen = to.length;
        reply.msg_iov = &data;
        reply.msg_iovlen = 1;
        reply.msg_controllen = reply_source(from, control, sizeof control);
        reply.msg_control = reply.msg_controllen != 0 ? control : nullptr;
        return ::sendmsg(fd, &reply, MSG_DONTWAIT | MSG_NOSIGNAL) ==
               static_cast<ssize_t>(length);
    }

    void drop(UdpDrop reason) { ++counts_.dropped[static_cast<std::size_t>(reason)]; }

    // What changed since the last record, once per report_interval at most (`last`: now).
    void report(Clock::time_point now, bool last)
    {
        if (counts_.empty() || (!last && now < next_report_)) {
            return;
        }
        send_report(report_fd_, ChildReport::udp(counts_));
        counts_ = UdpCounts{};
        next_report_ = now + report_interval;
    }

    int report_fd_;
    int signal_fd_;
    const UdpSettings& settings_;
    RateTable rates_;  // this process's own: a new UDP child starts with full buckets
    std::vector<pollfd> poll_fds_;
    UdpCounts counts_;  // since the last record
    Clock::time_point next_report_{};
    char buffer_[buffer_size];
};

}  // namespace

void run_udp_child(const std::vector<int>& sockets, const std::vector<int>& keep, int report_fd,
                   int signal_fd, const UdpSettings& settings, pid_t master) noexcept
{
    close_inherited(keep.data(), keep.size());
    watch_master(master);
    try {
        UdpChild(sockets, report_fd, signal_fd, settings).run();
    } catch (...) {  // the rate table could not be mapped, or the poll set allocated
        ::_exit(child_setup_failed);
    }
}

}  // namespace echod
