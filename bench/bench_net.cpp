#include "bench_net.hpp"

#include <arpa/inet.h>
#include <sys/resource.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace bench {

namespace {

bool is_ipv4_loopback(const in_addr& address)
{
    return (ntohl(address.s_addr) >> 24) == 127;
}

Target ipv4_target(const in_addr& host, int port, const std::string& text)
{
    Target target;
    auto& sin = reinterpret_cast<sockaddr_in&>(target.address);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<std::uint16_t>(port));
    sin.sin_addr = host;
    target.length = sizeof sin;
    target.spread_sources = is_ipv4_loopback(host);
    target.text = text + ":" + std::to_string(port);
    return target;
}

Target ipv6_target(const in6_addr& host, int port, const std::string& text)
{
    Target target;
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(target.address);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(static_cast<std::uint16_t>(port));
    sin6.sin6_addr = host;
    target.length = sizeof sin6;
    target.text = "[" + text + "]:" + std::to_string(port);
    return target;
}

// IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(), which can then reuse a
// port per destination: without it each bind() would hold one port of the source address.
bool bind_source(int fd, const in_addr& source)
{
    const int on = 1;
    if (::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on) != 0) {
        return false;
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr = source;
    return ::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0;
}

Dialed failed(Dialed dialed, const char* call)
{
    dialed.error = errno;
    dialed.call = call;
    dialed.fd.reset();
    return dialed;
}

}  // namespace

void throw_sys_error(const std::string& call)
{
    throw std::system_error(errno, std::generic_category(), call);
}

int check_sys(int result, const std::string& call)
{
    if (result == -1) {
        throw_sys_error(call);
    }
    return result;
}

Target make_target(const std::string& host, int port)
{
    std::string bare = host;
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
        bare = bare.substr(1, bare.size() - 2);
    }
    in_addr v4{};
    if (::inet_pton(AF_INET, bare.c_str(), &v4) == 1) {
        return ipv4_target(v4, port, bare);
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, bare.c_str(), &v6) == 1) {
        return ipv6_target(v6, port, bare);
    }
    throw std::invalid_argument("not a numeric IPv4 or IPv6 address");
}

std::optional<in_addr> source_address(const Target& target, int sources, std::size_t index)
{
    if (!target.spread_sources || sources <= 0) {
        return std::nullopt;
    }
    const auto host = static_cast<std::uint32_t>(2 + index % static_cast<std::size_t>(sources));
    in_addr source{};
    source.s_addr = htonl((127u << 24) | host);
    return source;
}

Dialed dial(const Target& target, const std::optional<in_addr>& source)
{
    Dialed dialed;
    dialed.fd.reset(::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!dialed.fd) {
        return failed(std::move(dialed), "socket");
    }
    if (source && !bind_source(dialed.fd.get(), *source)) {
        return failed(std::move(dialed), "bind");
    }
    dialed.started = Clock::now();
    if (::connect(dialed.fd.get(), reinterpret_cast<const sockaddr*>(&target.address),
                  target.length) == 0) {
        dialed.connected = true;
    } else if (errno != EINPROGRESS) {
        return failed(std::move(dialed), "connect");
    }
    return dialed;
}

int connect_error(int fd)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        return errno;
    }
    return error;
}

std::uint64_t raise_fd_limit()
{
    rlimit limit{};
    check_sys(::getrlimit(RLIMIT_NOFILE, &limit), "getrlimit RLIMIT_NOFILE");
    if (limit.rlim_cur != limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        check_sys(::setrlimit(RLIMIT_NOFILE, &limit), "setrlimit RLIMIT_NOFILE");
    }
    return limit.rlim_cur;
}

int ms_until(Clock::time_point now, Clock::time_point deadline, int cap_ms)
{
    if (deadline <= now) {
        return 0;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    return left < cap_ms ? static_cast<int>(left) : cap_ms;
}

double seconds_between(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration<double>(to - from).count();
}

Poller::Poller(std::size_t batch)
    : epoll_(check_sys(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")), events_(batch)
{
}

void Poller::add(int fd, std::uint64_t key)
{
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = key;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        throw_sys_error("epoll_ctl ADD fd=" + std::to_string(fd));
    }
}

std::size_t Poller::wait(int timeout_ms)
{
    const int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                               timeout_ms);
    if (n < 0) {
        if (errno == EINTR) {
            return 0;
        }
        throw_sys_error("epoll_wait");
    }
    return static_cast<std::size_t>(n);
}

}  // namespace bench
