#include "daemon/service_manager.hpp"

#include <algorithm>

#include "daemon/log_events.hpp"

#include <time.h>

#include <system_error>

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

}  // namespace

ServiceManager::ServiceManager() : notify_(notify_socket_from_environment())
{
    if (!notify_) {
        return;  // the pings would have nowhere to go
    }
    if (const auto timeout = watchdog_from_environment()) {
        // Ping at half the timeout, as sd_watchdog_enabled(3) advises, but not more often
        // than every millisecond: WATCHDOG_USEC=1 would otherwise make the loop spin.
        watchdog_ = std::max<std::chrono::microseconds>(*timeout / 2, std::chrono::milliseconds(1));
    }
    try {
        fd_store_ = fd_store_from_environment().value_or(true);
    } catch (const SystemdVariableError& e) {
        log_fd_store_variable_malformed(e.what());  // a restart then refuses clients: say so
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

std::string ServiceManager::store_fd(const std::string& name, int fd)
{
    if (!notify_) {
        return "no NOTIFY_SOCKET";
    }
    try {
        send_notification(*notify_, "FDSTORE=1\nFDNAME=" + name, {fd});
    } catch (const std::system_error& e) {
        return e.what();
    }
    return "";
}

void ServiceManager::remove_fd(const std::string& name)
{
    send("FDSTOREREMOVE=1\nFDNAME=" + name);
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
    try {
        send_notification(*notify_, message);
    } catch (const std::system_error& e) {
        log_notify_failed(e.what());  // systemd may be restarting: the next one may pass
    }
}

std::vector<Listener> adopt_listeners()
{
    return adopt_listeners(take_listen_fds());
}

std::vector<Listener> adopt_listeners(std::vector<PassedFd> fds)
{
    std::vector<Listener> listeners;
    for (PassedFd& passed : fds) {
        listeners.push_back(adopt_listener(std::move(passed.fd), std::move(passed.name)));
    }
    return listeners;
}

}  // namespace echod
