#include "daemon/service_manager.hpp"

#include "daemon/log_events.hpp"
#include "os/sys_error.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace echod {

// libsystemd is loaded only when systemd speaks to echod (NOTIFY_SOCKET set, or LISTEN_PID
// naming this process), not linked: outside systemd, its mappings and those of the six
// libraries it pulls in would be copied by every fork and torn down by every child's exit,
// for nothing (BENCHMARKS.md, "What the libraries cost").
struct Libsystemd {
    decltype(&::sd_notify) notify;
    decltype(&::sd_watchdog_enabled) watchdog_enabled;
    decltype(&::sd_listen_fds) listen_fds;
    decltype(&::sd_is_socket_inet) is_socket_inet;
};

namespace {

constexpr std::chrono::seconds status_interval{1};

constexpr const char* libsystemd_soname = "libsystemd.so.0";

template <typename Function>
void resolve(void* library, const char* name, Function& function)
{
    ::dlerror();
    void* symbol = ::dlsym(library, name);
    if (symbol == nullptr) {
        const char* reason = ::dlerror();
        throw std::system_error(ELIBBAD, std::generic_category(),
                                std::string("cannot find ") + name + " in " + libsystemd_soname +
                                    ": " + (reason != nullptr ? reason : "no such symbol"));
    }
    function = reinterpret_cast<Function>(symbol);
}

// Loads libsystemd once; `why` names the variable that asked for it. Throws
// std::system_error naming the library and the loader's reason.
const Libsystemd& libsystemd(const char* why)
{
    static const Libsystemd loaded = [why] {
        void* library = ::dlopen(libsystemd_soname, RTLD_NOW | RTLD_LOCAL);
        if (library == nullptr) {
            const char* reason = ::dlerror();
            throw std::system_error(ELIBACC, std::generic_category(),
                                    std::string("cannot load ") + libsystemd_soname +
                                        ", needed because " + why + " is set: " +
                                        (reason != nullptr ? reason : "unknown error"));
        }
        Libsystemd functions{};
        resolve(library, "sd_notify", functions.notify);
        resolve(library, "sd_watchdog_enabled", functions.watchdog_enabled);
        resolve(library, "sd_listen_fds", functions.listen_fds);
        resolve(library, "sd_is_socket_inet", functions.is_socket_inet);
        return functions;  // never unloaded
    }();
    return loaded;
}

bool set(const char* variable)
{
    const char* value = std::getenv(variable);
    return value != nullptr && *value != '\0';
}

// Whether socket activation may be meant for this process: LISTEN_PID is set and is not
// another process's pid (one left over from a parent). sd_listen_fds decides the rest,
// including a LISTEN_PID or LISTEN_FDS that does not parse.
bool passed_to_this_process()
{
    const char* pid = std::getenv("LISTEN_PID");
    if (pid == nullptr) {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(pid, &end, 10);
    const bool number = errno == 0 && end != pid && *end == '\0';
    return !number || value == static_cast<unsigned long long>(::getpid());
}

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

Listener adopt(const Libsystemd& systemd, int fd)
{
    const int inet = systemd.is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, -1, 0);
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
    if (systemd.is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
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
    // Urgent bytes inline, as on our own listeners. systemd shares the socket but never
    // reads a connection from it, so the option changes nothing for it.
    set_urgent_inline(fd, format_endpoint(listener.bound));
    return listener;
}

}  // namespace

ServiceManager::ServiceManager()
{
    notify_ = set("NOTIFY_SOCKET");
    if (!notify_) {
        return;
    }
    systemd_ = &libsystemd("NOTIFY_SOCKET");
    std::uint64_t usec = 0;
    if (systemd_->watchdog_enabled(0, &usec) > 0 && usec > 0) {
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
    const int result = systemd_->notify(0, message.c_str());
    if (result < 0) {
        log_notify_failed(std::system_category().message(-result));
    }
}

std::vector<Listener> adopt_listeners()
{
    if (!passed_to_this_process()) {
        // What sd_listen_fds(1) does then, without loading libsystemd.
        ::unsetenv("LISTEN_PID");
        ::unsetenv("LISTEN_FDS");
        ::unsetenv("LISTEN_FDNAMES");
        return {};
    }
    const Libsystemd& systemd = libsystemd("LISTEN_PID");
    const int count = systemd.listen_fds(1);
    if (count < 0) {
        throw_sys_error("socket activation: sd_listen_fds", -count);
    }
    std::vector<Listener> listeners;
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
        listeners.push_back(adopt(systemd, fd));
    }
    return listeners;
}

}  // namespace echod
