#include "daemon/listener.hpp"

#include "daemon/log_events.hpp"
#include "os/sys_error.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>

#include <optional>
#include <thread>

namespace echod {
namespace {

void set_option(int fd, int level, int name, const std::string& what)
{
    const int on = 1;
    check_sys(::setsockopt(fd, level, name, &on, sizeof on), what);
}

// Each datagram then comes with the address it was sent to: the UDP child answers from that
// address, and leaves one sent to a broadcast unanswered (child/udp_child.cpp).
void ask_for_destinations(int fd, int family, const std::string& where)
{
    if (family == AF_INET6) {
        set_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, "setsockopt IPV6_RECVPKTINFO " + where);
    } else {
        set_option(fd, IPPROTO_IP, IP_PKTINFO, "setsockopt IP_PKTINFO " + where);
    }
}

// No reply may go to a broadcast address: the kernel then refuses one to a forged source
// that is a subnet's broadcast address (which it lets in with rp_filter = 0), a "fraggle"
// the reflection guard cannot see, since it does not know the subnets. Off by default on
// echod's own sockets; a socket unit with Broadcast=yes passes one with it on.
void refuse_broadcast_replies(int fd, const std::string& where)
{
    const int off = 0;
    check_sys(::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &off, sizeof off),
              "setsockopt SO_BROADCAST " + where);
}

// bind(2); while the address is in use, tried again every 25 ms until `in_use_until`
// (sockets just removed from the fd store, which systemd closes when it gets to it).
void bind_to(int fd, const Endpoint& endpoint, const std::string& where,
             Clock::time_point in_use_until)
{
    while (::bind(fd, endpoint.addr(), endpoint.length) != 0) {
        const int error = errno;
        if (error != EADDRINUSE || Clock::now() >= in_use_until) {
            throw_sys_error("bind " + where, error);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

// A TCP listener's UDP twin, on its address and port. No SO_REUSEADDR: for UDP it would let
// another program bind the same port beside echod and take its datagrams.
UniqueFd open_udp(const Endpoint& endpoint, Clock::time_point in_use_until)
{
    const std::string where = "UDP " + format_endpoint(endpoint);
    UniqueFd fd(check_sys(::socket(endpoint.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                   0),
                          "socket " + where));
    if (endpoint.family() == AF_INET6) {
        set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, "setsockopt IPV6_V6ONLY " + where);
    }
    ask_for_destinations(fd.get(), endpoint.family(), where);
    bind_to(fd.get(), endpoint, where, in_use_until);
    return fd;
}

// A listening TCP socket on `endpoint` (port 0: the kernel picks).
UniqueFd open_tcp(const Endpoint& endpoint, int backlog, Clock::time_point in_use_until)
{
    const std::string where = format_endpoint(endpoint);
    UniqueFd fd(check_sys(::socket(endpoint.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                   0),
                          "socket " + where));
    set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, "setsockopt SO_REUSEADDR " + where);
    if (endpoint.family() == AF_INET6) {
        // "::" serves IPv6 only; IPv4 has its own listener, so each peer logs natively.
        set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, "setsockopt IPV6_V6ONLY " + where);
    }
    // Accepted sockets inherit this: echoes go out at once, at no per-connection cost.
    set_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, "setsockopt TCP_NODELAY " + where);
    set_urgent_inline(fd.get(), where);
    bind_to(fd.get(), endpoint, where, in_use_until);
    check_sys(::listen(fd.get(), backlog), "listen " + where);
    return fd;
}

Listener open_one(const std::string& address, std::uint16_t port, const Config& config,
                  Clock::time_point in_use_until)
{
    auto endpoint = parse_endpoint(address, port);
    if (!endpoint) {
        throw_sys_error("parse address " + address, EINVAL);
    }
    const std::string where = format_endpoint(*endpoint);
    UniqueFd fd = open_tcp(*endpoint, config.backlog, in_use_until);
    Listener listener{std::move(fd), address, config.port, {}, false, {}, {}, false};
    listener.bound.length = sizeof listener.bound.storage;
    check_sys(::getsockname(listener.fd.get(), listener.bound.addr(), &listener.bound.length),
              "getsockname " + where);
    if (config.udp) {
        listener.udp = open_udp(listener.bound, in_use_until);
    }
    return listener;
}

bool ipv6_missing(const std::system_error& e)
{
    const int code = e.code().value();
    return code == EAFNOSUPPORT || code == EADDRNOTAVAIL || code == EPROTONOSUPPORT;
}

// Opens the addresses not taken over, all on `port`; port 0 means the first one picks.
std::vector<Listener> open_new(const Config& config, const std::vector<std::string>& addresses,
                               std::uint16_t port, Clock::time_point in_use_until)
{
    std::vector<Listener> opened;
    for (const std::string& address : addresses) {
        try {
            opened.push_back(open_one(address, port, config, in_use_until));
            port = opened.back().bound.port();
        } catch (const std::system_error& e) {
            if (!(config.default_addresses && address == "::" && ipv6_missing(e))) {
                throw;
            }
            log_ipv6_missing(e.what());
        }
    }
    return opened;
}

// Warns once if the kernel lowered `backlog` on any of `listeners` (to net.core.somaxconn
// of the network namespace they were opened in).
void log_if_clamped(int backlog, const std::vector<Listener>& listeners)
{
    for (const Listener& listener : listeners) {
        if (const std::optional<int> applied = applied_backlog(listener.fd.get());
            applied && *applied < backlog) {
            log_backlog_clamped(backlog, *applied);
            return;
        }
    }
}

std::optional<int> socket_option(int fd, int name)
{
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, name, &value, &length) < 0) {
        return std::nullopt;
    }
    return value;
}

// What systemd passed at a descriptor: a listening TCP socket or a bound UDP socket, IPv4 or
// IPv6, or why it is neither.
struct PassedSocket {
    bool udp = false;
    std::string why_not;  // "" when echod can serve it
};

PassedSocket inspect_passed(int fd)
{
    struct stat status {};
    if (::fstat(fd, &status) < 0) {
        return {false, std::generic_category().message(errno)};
    }
    if (!S_ISSOCK(status.st_mode)) {
        return {false, "not a socket"};
    }
    const auto domain = socket_option(fd, SO_DOMAIN);
    const auto type = socket_option(fd, SO_TYPE);
    const auto protocol = socket_option(fd, SO_PROTOCOL);
    const auto listening = socket_option(fd, SO_ACCEPTCONN);
    if (!domain || !type || !protocol || !listening) {
        return {false, std::generic_category().message(errno)};
    }
    if (*domain != AF_INET && *domain != AF_INET6) {
        return {false, "not an IPv4 or IPv6 socket"};
    }
    if (*type == SOCK_DGRAM) {
        if (*protocol != IPPROTO_UDP) {
            return {true, "protocol is not UDP"};
        }
        Endpoint bound;
        bound.length = sizeof bound.storage;
        if (::getsockname(fd, bound.addr(), &bound.length) < 0) {
            return {true, std::generic_category().message(errno)};
        }
        return {true, bound.port() != 0 ? "" : "a UDP socket that is not bound"};
    }
    if (*type != SOCK_STREAM) {
        return {false, "neither a stream nor a datagram socket"};
    }
    if (*protocol != IPPROTO_TCP) {
        return {false, "protocol is not TCP"};
    }
    return {false, *listening != 0 ? "" : "not listening"};
}

}  // namespace

std::vector<Listener> open_listeners(const Config& config, std::vector<Listener>& current,
                                     Clock::time_point in_use_until)
{
    // Which current listener (if any) each configured address takes over, one for one. The
    // port matches if it is the one configured before, or the one bound: a reload from
    // `port = 0` to the port the kernel picked keeps the socket (binding it again would
    // fail with EADDRINUSE, against ourselves).
    std::vector<std::optional<std::size_t>> kept(config.addresses.size());
    std::vector<bool> taken(current.size(), false);
    std::vector<std::string> fresh;
    std::uint16_t port = config.port;
    for (std::size_t i = 0; i < config.addresses.size(); ++i) {
        for (std::size_t j = 0; j < current.size() && !kept[i]; ++j) {
            if (!taken[j] && current[j].address == config.addresses[i] &&
                (current[j].configured_port == config.port ||
                 current[j].bound.port() == config.port)) {
                kept[i] = j;
                taken[j] = true;
                port = current[j].bound.port();
            }
        }
        if (!kept[i]) {
            fresh.push_back(config.addresses[i]);
        }
    }
    // With port 0 and several addresses, another program may take the picked port between
    // two binds: pick again a few times.
    std::vector<Listener> opened;
    for (int attempt = 0;; ++attempt) {
        try {
            opened = open_new(config, fresh, port, in_use_until);
            break;
        } catch (const std::system_error& e) {
            if (port != 0 || e.code().value() != EADDRINUSE || attempt == 4) {
                throw;
            }
        }
    }
    // Everything that can fail is done before a kept listener is moved out of `current`.
    std::vector<UniqueFd> udp_for_kept(current.size());
    for (std::size_t j = 0; j < current.size(); ++j) {
        if (taken[j] && config.udp && !current[j].udp) {
            udp_for_kept[j] = open_udp(current[j].bound, in_use_until);
        }
    }
    for (std::size_t j = 0; j < current.size(); ++j) {
        if (taken[j]) {
            check_sys(::listen(current[j].fd.get(), config.backlog),
                      "listen " + format_endpoint(current[j].bound));
        }
    }
    std::vector<Listener> result;
    auto next_opened = opened.begin();
    for (std::size_t i = 0; i < config.addresses.size(); ++i) {
        if (kept[i]) {
            result.push_back(std::move(current[*kept[i]]));
            result.back().configured_port = config.port;
            if (!config.udp) {
                result.back().udp.reset();
            } else if (udp_for_kept[*kept[i]]) {
                result.back().udp = std::move(udp_for_kept[*kept[i]]);
            }
        } else if (next_opened != opened.end() && next_opened->address == config.addresses[i]) {
            result.push_back(std::move(*next_opened++));
        }
    }
    log_if_clamped(config.backlog, result);
    return result;
}

Listener open_tcp_beside(Listener udp, const Config& config, Clock::time_point in_use_until)
{
    udp.fd = open_tcp(udp.bound, config.backlog, in_use_until);
    return udp;
}

Listener adopt_listener(UniqueFd fd, std::string name, const std::string& source)
{
    const int n = fd.get();
    const PassedSocket passed = inspect_passed(n);
    if (!passed.why_not.empty()) {
        throw std::system_error(EINVAL, std::generic_category(),
                                source + ": descriptor " + std::to_string(n) +
                                    " is neither a listening TCP socket nor a bound UDP socket (" +
                                    passed.why_not + ")");
    }
    Listener listener{{}, {}, 0, {}, true, std::move(name), {}, false};
    listener.bound.length = sizeof listener.bound.storage;
    check_sys(::getsockname(n, listener.bound.addr(), &listener.bound.length),
              "getsockname of descriptor " + std::to_string(n));
    const int flags = check_sys(::fcntl(n, F_GETFL), "fcntl F_GETFL");
    check_sys(::fcntl(n, F_SETFL, flags | O_NONBLOCK), "fcntl O_NONBLOCK");
    listener.address = format_host(listener.bound);
    listener.configured_port = listener.bound.port();
    if (passed.udp) {
        ask_for_destinations(n, listener.bound.family(), "UDP " + format_endpoint(listener.bound));
        refuse_broadcast_replies(n, "UDP " + format_endpoint(listener.bound));
        listener.udp = std::move(fd);
    } else {
        // Urgent bytes inline, as on our own listeners. systemd shares the socket but never
        // reads a connection from it, so the option changes nothing for it.
        set_urgent_inline(n, format_endpoint(listener.bound));
        listener.fd = std::move(fd);
    }
    return listener;
}

std::optional<int> applied_backlog(int fd)
{
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
        info.tcpi_state != TCP_LISTEN) {
        return std::nullopt;
    }
    return static_cast<int>(info.tcpi_sacked);
}

int queued_connections(int fd)
{
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
        info.tcpi_state != TCP_LISTEN) {
        return 0;
    }
    return static_cast<int>(info.tcpi_unacked);
}

void set_urgent_inline(int fd, const std::string& where)
{
    set_option(fd, SOL_SOCKET, SO_OOBINLINE, "setsockopt SO_OOBINLINE " + where);
}

std::size_t count_sockets(const std::vector<Listener>& listeners)
{
    std::size_t sockets = 0;
    for (const Listener& listener : listeners) {
        sockets += (listener.fd ? 1 : 0) + (listener.udp ? 1 : 0);
    }
    return sockets;
}

std::string format_listeners(const std::vector<Listener>& listeners)
{
    std::string text;
    for (const Listener& listener : listeners) {
        if (listener.fd) {
            text += (text.empty() ? "" : ",") + format_endpoint(listener.bound);
        }
    }
    return text;
}

void stop_listening(std::vector<Listener>& listeners)
{
    for (Listener& listener : listeners) {
        if (listener.fd && !listener.adopted && !listener.stored) {
            ::shutdown(listener.fd.get(), SHUT_RDWR);  // accept4 now fails with EINVAL
        }
    }
}

void refuse_new_connections(std::vector<Listener>& listeners)
{
    sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    const sock_fprog program{1, drop_all};
    for (Listener& listener : listeners) {
        if (listener.fd && !listener.adopted && !listener.stored) {
            // If it fails, the queue is still served; only a handshake in the same moment
            // as the close may then be reset, as before.
            ::setsockopt(listener.fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &program,
                         sizeof program);
        }
    }
}

// accept4 passes on network errors of the new connection: that client is gone, go on.
bool accept_error_is_client_gone(int error)
{
    switch (error) {
    case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
    case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
    case EPERM:
        return true;
    default:
        return false;
    }
}

}  // namespace echod
