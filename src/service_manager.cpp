#include "service_manager.hpp"

#include "log.hpp"
#include "sys_error.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

namespace echod {
namespace {

constexpr std::chrono::seconds status_interval{1};

std::string monotonic_usec()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return std::to_string(static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                          static_cast<unsigned long long>(now.tv_nsec) / 1000ULL);
}

[[noreturn]] void not_a_tcp_listener(int fd, const std::string& why)
{
    throw std::system_error(EINVAL, std::generic_category(),
                            "socket activation: descriptor " + std::to_string(fd) +
                                " is not a listening TCP socket (" + why + ")");
}

Listener adopt(int fd)
{
    const int inet = ::sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, -1, 0);
    if (inet < 0) {
        not_a_tcp_listener(fd, std::system_category().message(-inet));
    }
    if (inet == 0) {
        not_a_tcp_listener(fd, "not an IPv4 or IPv6 stream socket");
    }
    int protocol = 0;
    socklen_t length = sizeof protocol;
    if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) < 0 ||
        protocol != IPPROTO_TCP) {
        not_a_tcp_listener(fd, "protocol is not TCP");
    }
    if (::sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
        not_a_tcp_listener(fd, "not listening");
    }
    Listener listener{UniqueFd(fd), {}, 0, {}, true};
    listener.bound.length = sizeof listener.bound.storage;
    check_sys(::getsockname(fd, listener.bound.addr(), &listener.bound.length),
              "getsockname of descriptor " + std::to_string(fd));
    const int flags = check_sys(::fcntl(fd, F_GETFL), "fcntl F_GETFL");
    check_sys(::fcntl(fd, F_SETFL, flags | O_NONBLOCK), "fcntl O_NONBLOCK");
    listener.address = format_host(listener.bound);
    listener.configured_port = listener.bound.port();
    return listener;
}

}  // namespace

ServiceManager::ServiceManager()
{
    const char* socket = std::getenv("NOTIFY_SOCKET");
    notify_ = socket != nullptr && *socket != '\0';
    std::uint64_t usec = 0;
    if (notify_ && ::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        // Ping at half the timeout, as sd_watchdog_enabled(3) advises.
        watchdog_ = std::chrono::microseconds(usec / 2);
    }
}

void ServiceManager::ready(const std::string& status)
{
    announce("READY=1\n", status, Clock::now());
}

void ServiceManager::reloading()
{
    send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=reloading");
    last_status_ = "reloading";
}

void ServiceManager::stopping(const std::string& status)
{
    announce("STOPPING=1\n", status, Clock::now());
}

std::optional<Clock::time_point> ServiceManager::next_due() const
{
    std::optional<Clock::time_point> due;
    if (watchdog_) {
        due = next_ping_;
    }
    if (status_pending_ && (!due || next_status_ < *due)) {
        due = next_status_;
    }
    return due;
}

void ServiceManager::ping(Clock::time_point now)
{
    send("WATCHDOG=1");
    next_ping_ = now + *watchdog_;
}

void ServiceManager::send_status(const std::string& status, Clock::time_point now)
{
    status_pending_ = false;
    if (status != last_status_) {
        announce("", status, now);
    }
}

void ServiceManager::announce(const std::string& state, const std::string& status,
                              Clock::time_point now)
{
    send(state + "STATUS=" + status);
    status_pending_ = false;
    next_status_ = now + status_interval;
    last_status_ = status;
}

void ServiceManager::send(const std::string& message)
{
    if (!notify_) {
        return;
    }
    const int result = ::sd_notify(0, message.c_str());
    if (result < 0) {
        log_debug("sd_notify failed: " + std::system_category().message(-result));
    }
}

std::vector<Listener> adopt_listeners()
{
    const int count = ::sd_listen_fds(1);
    if (count < 0) {
        throw_sys_error("socket activation: sd_listen_fds", -count);
    }
    std::vector<Listener> listeners;
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
        listeners.push_back(adopt(fd));
    }
    return listeners;
}

}  // namespace echod
