#include "client/client.hpp"

#include "os/clock.hpp"
#include "os/sys_error.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <stdexcept>

namespace echod {
namespace {

constexpr std::size_t chunk = 64 * 1024;
constexpr std::size_t max_in_flight = 4 * 1024 * 1024;

// Returns 0 or the errno of a failed connect.
int try_connect(int fd, const addrinfo& address, std::chrono::milliseconds timeout)
{
    if (::connect(fd, address.ai_addr, address.ai_addrlen) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS) {
        return errno;
    }
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
        return ETIMEDOUT;
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    return error;
}

}  // namespace

Addresses resolve(const std::string& host, const std::string& port, int family)
{
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        const char* only = family == AF_INET ? " (IPv4 only)" : family == AF_INET6 ? " (IPv6 only)" : "";
        throw std::runtime_error("cannot resolve " + host + only + " port " + port + ": " +
                                 ::gai_strerror(rc));
    }
    return Addresses(found, ::freeaddrinfo);
}

UniqueFd connect_to(const Addresses& addresses, const std::string& host, const std::string& port,
                    std::chrono::milliseconds timeout)
{
    std::string failures;
    for (const addrinfo* address = addresses.get(); address != nullptr; address = address->ai_next) {
        UniqueFd fd(::socket(address->ai_family,
                             address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        const int error = fd ? try_connect(fd.get(), *address, timeout) : errno;
        if (error == 0) {
            return fd;
        }
        failures += std::string(failures.empty() ? "" : "; ") + std::strerror(error);
    }
    throw ConnectError("cannot connect to " + host + " port " + port + ": " + failures);
}

std::string peer_address(int sock)
{
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    char text[NI_MAXHOST] = "?";
    if (::getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
        ::getnameinfo(reinterpret_cast<sockaddr*>(&peer), length, text, sizeof text, nullptr, 0,
                      NI_NUMERICHOST);
    }
    return text;
}

// The timeout is the server's: it runs only while the server owes something (an echo of
// bytes sent, taking bytes queued for it, or the close after the last), never while the
// client waits for its own input (a person typing, a slow pipe).
ExchangeResult exchange(int sock, int input, int output, std::chrono::milliseconds timeout)
{
    ExchangeResult result;
    std::deque<char> expected;  // sent, not yet echoed
    std::string outgoing;       // read from input, not yet sent
    bool input_done = false;
    bool shut = false;
    bool owed = false;
    char buffer[chunk];
    Clock::time_point deadline{};
    for (;;) {
        if (input_done && outgoing.empty() && !shut) {
            ::shutdown(sock, SHUT_WR);
            shut = true;
        }
        const bool owed_now = shut || !expected.empty() || !outgoing.empty();
        if (owed_now && !owed) {
            deadline = Clock::now() + timeout;
        }
        owed = owed_now;
        const bool want_input = !input_done && outgoing.empty() && expected.size() < max_in_flight;
        pollfd fds[2] = {{sock, static_cast<short>(POLLIN | (outgoing.empty() ? 0 : POLLOUT)), 0},
                         {want_input ? input : -1, POLLIN, 0}};
        const int rc = ::poll(fds, 2, owed ? poll_timeout_ms(Clock::now(), deadline) : -1);
        if (rc == 0) {
            result.problem = "no reply within " + std::to_string(timeout.count()) + " ms";
            return result;
        }
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_sys_error("poll");
        }
        if (fds[1].revents != 0) {
            const ssize_t n = ::read(input, buffer, sizeof buffer);
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                result.problem = std::string("cannot read the input: ") + std::strerror(errno);
                return result;
            }
            input_done = n == 0;
            outgoing.append(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
        }
        if ((fds[0].revents & POLLOUT) != 0) {
            const ssize_t n = ::send(sock, outgoing.data(), outgoing.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                result.problem = std::string("send: ") + std::strerror(errno);
                return result;
            }
            const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
            if (sent > 0) {
                deadline = Clock::now() + timeout;  // the server took bytes: it is alive
            }
            expected.insert(expected.end(), outgoing.begin(), outgoing.begin() + sent);
            outgoing.erase(0, sent);
            result.sent += sent;
        }
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::recv(sock, buffer, sizeof buffer, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    continue;
                }
                result.problem = std::string("recv: ") + std::strerror(errno);
                return result;
            }
            if (n == 0) {
                result.ok = shut && expected.empty();
                if (!result.ok) {
                    result.problem = "the server closed the connection after " +
                                     std::to_string(result.received) + " of " +
                                     std::to_string(result.sent + outgoing.size()) + " bytes";
                }
                return result;
            }
            deadline = Clock::now() + timeout;
            for (ssize_t i = 0; i < n; ++i, ++result.received) {
                if (expected.empty() || expected.front() != buffer[i]) {
                    result.problem = "the reply differs at byte " + std::to_string(result.received);
                    return result;
                }
                expected.pop_front();
            }
            if (!write_full(output, buffer, static_cast<std::size_t>(n))) {
                result.problem = std::string("cannot write the reply out: ") + std::strerror(errno);
                return result;
            }
        }
    }
}

}  // namespace echod
