#include "daemon/systemd_protocol.hpp"

#include "daemon/config_values.hpp"
#include "os/sys_error.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace echod {
namespace {

// The kernel's limit of descriptors in one SCM_RIGHTS message (SCM_MAX_FD).
constexpr std::size_t max_fds_per_message = 253;

constexpr std::chrono::microseconds max_watchdog = std::chrono::hours(24 * 365);

std::optional<std::string> environment(const char* variable)
{
    const char* value = std::getenv(variable);
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

// Decimal digits only, as systemd writes them: no sign, no spaces, no overflow.
std::optional<std::uint64_t> parse_decimal(const std::string& text)
{
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || stop != end) {
        return std::nullopt;
    }
    return value;
}

pid_t parse_pid(const char* variable, const std::string& value)
{
    const auto pid = parse_decimal(value);
    if (!pid || *pid == 0 || *pid > static_cast<std::uint64_t>(INT_MAX)) {
        throw SystemdVariableError(variable, value, "expected a process id");
    }
    return static_cast<pid_t>(*pid);
}

// A ':' between two names; an empty value is no name at all, as in sd_listen_fds(3)'s
// reference implementation.
std::vector<std::string> split_names(const std::string& value)
{
    std::vector<std::string> names;
    if (value.empty()) {
        return names;
    }
    for (std::size_t begin = 0;;) {
        const std::size_t colon = value.find(':', begin);
        names.push_back(value.substr(begin, colon - begin));
        if (colon == std::string::npos) {
            return names;
        }
        begin = colon + 1;
    }
}

int parse_fd_count(const std::string& value)
{
    const auto count = parse_decimal(value);
    if (!count || *count == 0 || *count > static_cast<std::uint64_t>(INT_MAX - listen_fds_start)) {
        throw SystemdVariableError("LISTEN_FDS", value,
                                   "expected a number of descriptors from 1 to " +
                                       std::to_string(INT_MAX - listen_fds_start));
    }
    return static_cast<int>(*count);
}

// Close-on-exec, as sd_listen_fds(3) leaves them: a program echod starts gets none.
void set_cloexec(int fd, const std::string& fds)
{
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 && errno == EBADF) {
        throw SystemdVariableError("LISTEN_FDS", fds,
                                   "descriptor " + std::to_string(fd) + " is not open");
    }
    check_sys(flags, "fcntl F_GETFD on passed descriptor " + std::to_string(fd));
    check_sys(::fcntl(fd, F_SETFD, flags | FD_CLOEXEC),
              "fcntl FD_CLOEXEC on passed descriptor " + std::to_string(fd));
}

// SCM_RIGHTS for `fds`, in `control` (cmsghdr elements, so the buffer is aligned for one).
void attach_fds(msghdr& message, std::vector<cmsghdr>& control, const std::vector<int>& fds)
{
    const std::size_t bytes = fds.size() * sizeof(int);
    control.assign((CMSG_SPACE(bytes) + sizeof(cmsghdr) - 1) / sizeof(cmsghdr), cmsghdr{});
    message.msg_control = control.data();
    message.msg_controllen = CMSG_SPACE(bytes);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(bytes);
    std::memcpy(CMSG_DATA(header), fds.data(), bytes);
}

}  // namespace

SystemdVariableError::SystemdVariableError(const std::string& variable,
                                           const std::string& value,
                                           const std::string& problem)
    : std::runtime_error("environment variable " + variable + " has value '" + shown(value) +
                         "': " + problem)
{
}

NotifySocket parse_notify_socket(const std::string& value)
{
    NotifySocket socket;
    socket.name = value;
    socket.address.sun_family = AF_UNIX;
    const std::size_t room = sizeof socket.address.sun_path - 1;  // a NUL, at end or start
    auto fail = [&value](const std::string& problem) {
        throw SystemdVariableError("NOTIFY_SOCKET", value, problem);
    };
    if (value[0] == '/') {
        if (value.size() > room) {
            fail("a socket path is at most " + std::to_string(room) + " bytes long");
        }
        std::memcpy(socket.address.sun_path, value.data(), value.size());
        socket.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() + 1);
    } else if (value[0] == '@') {
        const std::size_t name = value.size() - 1;
        if (name == 0) {
            fail("the abstract socket name after '@' is empty");
        }
        if (name > room) {
            fail("an abstract socket name is at most " + std::to_string(room) + " bytes long");
        }
        std::memcpy(socket.address.sun_path + 1, value.data() + 1, name);
        socket.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name);
    } else {
        fail(value.rfind("vsock:", 0) == 0
                 ? "a vsock address, which echod does not support; expected an absolute "
                   "path or '@' and an abstract socket name"
                 : "expected an absolute path or '@' and an abstract socket name");
    }
    return socket;
}

std::optional<NotifySocket> notify_socket_from_environment()
{
    const std::optional<std::string> value = environment("NOTIFY_SOCKET");
    if (!value || value->empty()) {
        return std::nullopt;
    }
    return parse_notify_socket(*value);
}

void send_notification(const NotifySocket& to, const std::string& message,
                       const std::vector<int>& fds)
{
    const std::string where = "NOTIFY_SOCKET " + shown(to.name);
    if (fds.size() > max_fds_per_message) {
        throw_sys_error("sendmsg of " + std::to_string(fds.size()) + " descriptors to " + where,
                        EINVAL);
    }
    // A socket per message, as sd_notify(3) does: messages are rare, and no descriptor
    // stays open for a child to inherit.
    const UniqueFd socket(
        check_sys(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket for " + where));
    iovec data{const_cast<char*>(message.data()), message.size()};
    msghdr header{};
    header.msg_name = const_cast<sockaddr_un*>(&to.address);
    header.msg_namelen = to.length;
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    std::vector<cmsghdr> control;
    if (!fds.empty()) {
        attach_fds(header, control, fds);
    }
    ssize_t sent = 0;
    do {
        sent = ::sendmsg(socket.get(), &header, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    check_sys(sent, "sendmsg to " + where);
}

std::optional<std::chrono::microseconds> parse_watchdog(const WatchdogVariables& variables,
                                                        pid_t self)
{
    if (!variables.usec) {
        return std::nullopt;
    }
    // systemd never passes 0 (WatchdogSec=0 passes nothing) nor UINT64_MAX (infinity).
    const auto usec = parse_decimal(*variables.usec);
    if (!usec || *usec == 0 || *usec == UINT64_MAX) {
        throw SystemdVariableError("WATCHDOG_USEC", *variables.usec,
                                   "expected a timeout in microseconds, at least 1");
    }
    if (variables.pid && parse_pid("WATCHDOG_PID", *variables.pid) != self) {
        return std::nullopt;
    }
    const auto ceiling = static_cast<std::uint64_t>(max_watchdog.count());
    return std::chrono::microseconds(std::min(*usec, ceiling));
}

std::optional<std::chrono::microseconds> watchdog_from_environment()
{
    return parse_watchdog({environment("WATCHDOG_USEC"), environment("WATCHDOG_PID")},
                          ::getpid());
}

std::optional<bool> parse_fd_store(const std::optional<std::string>& value)
{
    if (!value) {
        return std::nullopt;
    }
    const auto count = parse_decimal(*value);
    if (!count) {
        throw SystemdVariableError("FDSTORE", *value,
                                   "expected the number of descriptors the store may hold");
    }
    return *count > 0;
}

std::optional<bool> fd_store_from_environment()
{
    const std::optional<std::string> value = environment("FDSTORE");
    ::unsetenv("FDSTORE");
    return parse_fd_store(value);
}

PassedFds parse_listen_fds(const ListenVariables& variables, pid_t self)
{
    if (!variables.pid || parse_pid("LISTEN_PID", *variables.pid) != self || !variables.fds) {
        return {};
    }
    PassedFds passed{parse_fd_count(*variables.fds), {}};
    if (variables.names) {
        passed.names = split_names(*variables.names);
        if (passed.names.size() != static_cast<std::size_t>(passed.count)) {
            throw SystemdVariableError(
                "LISTEN_FDNAMES", *variables.names,
                std::to_string(passed.names.size()) + " names for LISTEN_FDS=" +
                    std::to_string(passed.count) + " descriptors; expected one name each");
        }
    }
    return passed;
}

std::vector<PassedFd> take_listen_fds()
{
    const ListenVariables variables{environment("LISTEN_PID"), environment("LISTEN_FDS"),
                                    environment("LISTEN_FDNAMES")};
    // Gone whatever they say, as sd_listen_fds(1) leaves them: a program started from here
    // must not take the descriptors for its own, nor a stale LISTEN_PID for a match.
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    const PassedFds passed = parse_listen_fds(variables, ::getpid());
    std::vector<PassedFd> taken;
    for (int i = 0; i < passed.count; ++i) {
        const int fd = listen_fds_start + i;
        set_cloexec(fd, *variables.fds);
        const auto index = static_cast<std::size_t>(i);
        taken.push_back({UniqueFd(fd), passed.names.empty() ? "unknown" : passed.names[index]});
    }
    return taken;
}

}  // namespace echod
