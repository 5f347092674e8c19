#include "daemon/reload_request.hpp"

#include "common/signals.hpp"
#include "os/clock.hpp"
#include "os/sys_error.hpp"
#include "os/unique_fd.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

namespace echod {
namespace {

// The abstract socket name ("\0echod-reload-TOKEN") and its length.
socklen_t answer_address(std::uint32_t token, sockaddr_un& address)
{
    address = {};
    address.sun_family = AF_UNIX;
    const int n = std::snprintf(address.sun_path + 1, sizeof address.sun_path - 1,
                                "echod-reload-%08x", token);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                  static_cast<std::size_t>(n));
}

// What echod asks of /proc/PID/status, read once per process.
struct ProcessStatus {
    std::string name;           // Name:
    std::string state;          // State:
    pid_t parent = 0;           // PPid:
    std::uint64_t blocked = 0;  // SigBlk: the signals it blocks
};

// Nothing if /proc does not show the process (gone, or hidden from us).
std::optional<ProcessStatus> process_status(pid_t pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/status");
    ProcessStatus status;
    bool seen = false;
    for (std::string line; std::getline(file, line);) {
        const std::size_t colon = line.find(':');
        const std::string field = line.substr(0, colon);
        const std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (field == "Name") {
            status.name = value;
            seen = true;
        } else if (field == "State") {
            status.state = value;
        } else if (field == "PPid") {
            status.parent = static_cast<pid_t>(std::stol(value));
        } else if (field == "SigBlk") {
            status.blocked = std::stoull(value, nullptr, 16);
        }
    }
    return seen ? std::optional(status) : std::nullopt;
}

// A master blocks what it reads from its signalfd.
bool blocks_reload_signals(std::uint64_t blocked)
{
    auto blocks = [blocked](int signal) { return (blocked >> (signal - 1)) & 1U; };
    return blocks(SIGHUP) && blocks(reload_request_signal());
}

// Whether `process` is a child of an echod master: children keep the master's signal mask
// (and read their signals from a signalfd the master opened), so the mask alone does not
// tell them from their master; their parent does: a process of the same name that blocks
// the same.
bool child_of_a_master(const ProcessStatus& process)
{
    const std::optional<ProcessStatus> parent = process_status(process.parent);
    return parent && parent->name == process.name && blocks_reload_signals(parent->blocked);
}

// A process /proc hides from us (hidepid: the unit's ProtectProc=invisible, when
// PrivateUsers= gives ExecReload a user namespace of its own) cannot be checked; the pid
// we were given ($MAINPID there) is trusted then.
void check_master(pid_t pid)
{
    const std::optional<ProcessStatus> status = process_status(pid);
    if (!status) {
        // Gone (ESRCH), or alive but hidden from us.
        check_sys(::kill(pid, 0), "send the reload request to pid " + std::to_string(pid));
        return;
    }
    if (!blocks_reload_signals(status->blocked)) {
        throw NotAMaster("pid " + std::to_string(pid) +
                         " is not an echod master (it does not read the reload request from a"
                         " signalfd); nothing was sent");
    }
    if (child_of_a_master(*status)) {
        throw NotAMaster("pid " + std::to_string(pid) +
                         " is not an echod master (it is a child of " +
                         std::to_string(status->parent) + "); nothing was sent");
    }
}

// The requester's end of the answer: bound to a token of its own. The name is visible to
// every local user (/proc/net/unix), so an answer counts only if the kernel says the master
// sent it (SO_PASSCRED).
UniqueFd bind_answer_socket(std::uint32_t& token)
{
    UniqueFd fd(check_sys(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
                          "socket AF_UNIX"));
    const int on = 1;
    check_sys(::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on),
              "setsockopt SO_PASSCRED");
    for (int attempt = 0;; ++attempt) {
        check_sys(::getrandom(&token, sizeof token, 0), "getrandom");
        sockaddr_un address;
        const socklen_t length = answer_address(token, address);
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) == 0) {
            return fd;
        }
        if (errno != EADDRINUSE || attempt == 8) {
            throw_sys_error("bind the answer socket");
        }
    }
}

std::optional<ReloadOutcome> decode(int value)
{
    if (value < 0 || value > static_cast<int>(ReloadOutcome::stopping)) {
        return std::nullopt;
    }
    return static_cast<ReloadOutcome>(value);
}

// The master's answer, if it has come. Datagrams from any other process are dropped.
std::optional<ReloadOutcome> answer_so_far(pid_t pid, int socket_fd)
{
    for (;;) {
        char byte = 0;
        iovec data{&byte, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        msghdr message{};
        message.msg_iov = &data;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        if (::recvmsg(socket_fd, &message, 0) != 1) {
            return std::nullopt;
        }
        const cmsghdr* header = CMSG_FIRSTHDR(&message);
        if (header == nullptr || header->cmsg_level != SOL_SOCKET ||
            header->cmsg_type != SCM_CREDENTIALS) {
            continue;
        }
        ucred sender{};
        std::memcpy(&sender, CMSG_DATA(header), sizeof sender);
        if (sender.pid == pid) {
            return decode(byte - '0');
        }
    }
}

// Whether `pid` is gone: no such process, or a zombie its parent has not reaped yet (where
// /proc shows it).
bool gone(pid_t pid)
{
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        return true;
    }
    const std::optional<ProcessStatus> status = process_status(pid);
    return status && status->state.find_first_of("ZX") != std::string::npos;
}

}  // namespace

ReloadOutcome request_reload(pid_t pid, std::chrono::milliseconds timeout)
{
    check_master(pid);
    std::uint32_t token = 0;
    const UniqueFd socket_fd = bind_answer_socket(token);  // before asking: no answer is lost
    sigval value{};
    value.sival_int = static_cast<int>(token);
    check_sys(::sigqueue(pid, reload_request_signal(), value),
              "send the reload request to pid " + std::to_string(pid));
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (auto outcome = answer_so_far(pid, socket_fd.get())) {
            return *outcome;
        }
        // Short waits, so a master that dies without answering is noticed.
        pollfd pfd{socket_fd.get(), POLLIN, 0};
        ::poll(&pfd, 1, 100);
        if (gone(pid)) {
            return answer_so_far(pid, socket_fd.get()).value_or(ReloadOutcome::no_answer);
        }
    }
    return ReloadOutcome::no_answer;
}

bool is_reload_request(const signalfd_siginfo& signal)
{
    return static_cast<int>(signal.ssi_signo) == reload_request_signal();
}

void answer_reload_request(const signalfd_siginfo& request, ReloadOutcome outcome)
{
    if (request.ssi_code != SI_QUEUE) {
        return;  // kill -s, systemctl kill: no token, nobody waits for an answer
    }
    const int value = static_cast<int>(outcome);
    // The requester may have given up and gone; nothing else to do then.
    const UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un address;
    const socklen_t length = answer_address(static_cast<std::uint32_t>(request.ssi_int), address);
    const char byte = static_cast<char>('0' + value);
    ::sendto(fd.get(), &byte, 1, MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address), length);
}

}  // namespace echod
