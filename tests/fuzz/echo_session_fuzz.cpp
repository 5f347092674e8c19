// libFuzzer target: the echo session over a socketpair. The input is what a client sends,
// cut into writes whose sizes come from the input itself; the client then shuts down its
// sending side. Every byte must come back, in order, then EOF, with reason eof.
#include "child/echo_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

[[noreturn]] void bug(const char* what)
{
    std::fprintf(stderr, "echo_session_fuzz: %s\n", what);
    std::abort();
}

// poll() until `p` is ready or `limit` has passed. libFuzzer's -timeout alarm (SIGALRM,
// with a handler) interrupts poll() in whichever thread it lands on; that EINTR is not
// a lack of progress, so the wait goes on to the same deadline.
bool wait_ready(pollfd& p, std::chrono::milliseconds limit)
{
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + limit;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        const int rc = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
        if (rc == 1) {
            return true;
        }
        if (rc == 0 || errno != EINTR) {
            return false;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return 0;
    }
    const int small = 4096;  // small socket buffers: backpressure and short writes happen
    for (int fd : pair) {
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    ::fcntl(pair[1], F_SETFL, O_NONBLOCK);
    echod::SessionResult result;
    std::thread server([&] {
        const echod::SessionLimits limits{std::chrono::seconds(5), std::chrono::seconds(5),
                                          std::chrono::seconds(1)};
        result = echod::run_echo_session(pair[1], limits);
        ::close(pair[1]);
    });
    // The client writes and reads at once, so a large input cannot deadlock.
    std::string back;
    std::size_t sent = 0;
    std::size_t step = 0;
    bool shut = false;
    char buffer[8192];
    for (;;) {
        pollfd p{pair[0], static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
        // The session's own idle and stall timeouts (5 s) end any wait before this.
        if (!wait_ready(p, std::chrono::seconds(30))) {
            bug("no progress for 30 s");
        }
        if ((p.revents & POLLOUT) != 0 && !shut) {
            // Write sizes from the input: 1 + the next byte, so 1 to 256 bytes at a time.
            const std::size_t want = 1 + (size > 0 ? data[step++ % size] : 0);
            const std::size_t n = std::min(want, size - sent);
            const ssize_t w = n > 0 ? ::send(pair[0], data + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
            sent += w > 0 ? static_cast<std::size_t>(w) : 0;
            if (sent == size) {
                ::shutdown(pair[0], SHUT_WR);
                shut = true;
            }
        }
        if ((p.revents & (POLLIN | POLLHUP)) != 0) {
            const ssize_t r = ::recv(pair[0], buffer, sizeof buffer, MSG_DONTWAIT);
            if (r == 0) {
                break;
            }
            if (r > 0) {
                back.append(buffer, static_cast<std::size_t>(r));
            }
        }
    }
    server.join();
    ::close(pair[0]);
    if (back.size() != size || (size > 0 && std::memcmp(back.data(), data, size) != 0)) {
        bug("the echo differs from what was sent");
    }
    if (result.reason != echod::CloseReason::eof || result.bytes_in != size ||
        result.bytes_out != size) {
        bug("the session did not end with eof and every byte counted");
    }
    return 0;
}
