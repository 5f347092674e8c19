// Listening sockets: non-blocking, close-on-exec, one per configured address, one port; or the
// ones systemd passed (socket activation). With udp = on, each has a UDP socket beside it on
// the same address and port.
#pragma once

#include "os/address.hpp"
#include "os/clock.hpp"
#include "daemon/config.hpp"
#include "os/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace echod {

struct Listener {
    UniqueFd fd;
    std::string address;          // as configured
    std::uint16_t configured_port = 0;
    Endpoint bound;               // what the kernel gave (the real port when configured 0)
    bool adopted = false;         // passed in by systemd, which keeps listening on it
    std::string fd_name;          // adopted: the socket unit's FileDescriptorName=
    // The UDP socket on the same address and port (udp = on), or a UDP socket systemd passed
    // (ListenDatagram=): then `fd` is empty, and `bound` is the UDP socket's address.
    UniqueFd udp;
    // A copy of `fd` is in systemd's file descriptor store (daemon/fd_store.hpp), which
    // hands the socket to the next master: like an adopted one it is never filtered or
    // shut down at a stop.
    bool stored = false;
};

// Opens the listeners `config` asks for. Listeners in `current` whose address stays the
// same, and whose configured or bound port is the one configured now, are taken over (a
// changed backlog is applied with listen()), so a reload never closes a socket it keeps. If
// anything fails, `current` is left intact and std::system_error names the call and the
// address. With config.udp, each listener gets a UDP socket bound to the address and port
// its TCP socket has (a kept one keeps its own); without, a kept listener's is closed here
// (the UDP child holds it until it is retired). With port 0 the TCP socket picks the port,
// and if its UDP twin cannot have it, another is picked. A bind that finds the address in
// use is tried again every 25 ms until `in_use_until` (at start, after stored sockets were
// removed from systemd's fd store: systemd closes its copies when it gets to the message);
// by default it fails at once.
std::vector<Listener> open_listeners(const Config& config, std::vector<Listener>& current,
                                     Clock::time_point in_use_until = {});
// A stored UDP socket whose TCP twin the fd store lost: `udp` (its `fd` empty) with a fresh
// listening TCP socket on the same address and port, as open_listeners() opens one. Binds
// as open_listeners() does.
Listener open_tcp_beside(Listener udp, const Config& config, Clock::time_point in_use_until);

// A socket passed by systemd (socket activation), `name` from LISTEN_FDNAMES: checked to be
// a listening TCP socket or a bound UDP socket, IPv4 or IPv6, and made non-blocking (a UDP
// one is returned in `udp`, with `fd` empty). Throws std::system_error naming `source`, the
// descriptor and why it is neither. Its address, port and backlog are the socket unit's.
Listener adopt_listener(UniqueFd fd, std::string name,
                        const std::string& source = "socket activation");

// Stops `listeners` listening in every process that holds them (prefork children do), so
// the port is free at once; connections still queued on them are reset, as at a close.
// Sockets adopted from systemd are left listening: the socket unit shares them and keeps
// listening for the next activation; so are stored ones, which the fd store keeps for the
// next master. Descriptors stay open until the vector is destroyed.
void stop_listening(std::vector<Listener>& listeners);
// Has the kernel drop new handshakes on the listeners echod bound (a socket filter), so
// that the accept queue only shrinks; adopted and stored ones are left alone (the filter
// would stay with systemd's socket, and the next master's).
void refuse_new_connections(std::vector<Listener>& listeners);

// The descriptors `listeners` hold: their TCP and UDP sockets.
std::size_t count_sockets(const std::vector<Listener>& listeners);

// "127.0.0.1:7,[::1]:7": the TCP listeners.
std::string format_listeners(const std::vector<Listener>& listeners);

// The backlog the kernel applied to a listening socket: the one asked for, capped at
// net.core.somaxconn of the socket's network namespace. A listener's TCP_INFO reports it in
// tcpi_sacked (Linux tcp_get_info: sk_max_ack_backlog; the queue itself is in
// tcpi_unacked), which needs no /proc/sys: the unit's ProcSubset=pid hides that. None if
// `fd` is not a listening TCP socket.
std::optional<int> applied_backlog(int fd);
// The connections waiting in a listening TCP socket's accept queue now (TCP_INFO's
// tcpi_unacked, see above); 0 if `fd` is not one.
int queued_connections(int fd);

// SO_OOBINLINE on a listening socket: TCP urgent data (MSG_OOB) then arrives in the stream
// like any other byte, so it is echoed and counted; without it the byte is taken out of the
// stream and lost. Accepted sockets inherit it (checked on Linux 6.18 by daemon_test and
// prefork_test), so no connection pays a call for it.
void set_urgent_inline(int fd, const std::string& where);

// accept4 passes on network errors of the new connection: that client is gone, go on.
bool accept_error_is_client_gone(int error);

}  // namespace echod
