// The echo session over a socketpair: no daemon, no fork.
#define BOOST_TEST_MODULE echo_session
#include "child/echo_session.hpp"
#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>

using namespace echod;
using namespace echod::test;
using std::chrono::milliseconds;

namespace {

// The session's end runs on a thread; the test holds `peer`.
struct Pair {
    UniqueFd session_end;
    UniqueFd peer;
    UniqueFd control_read;
    UniqueFd control_write;

    Pair()
    {
        int fds[2];
        BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        session_end.reset(fds[0]);
        peer.reset(fds[1]);
        ::fcntl(session_end.get(), F_SETFL, O_NONBLOCK);
        ::fcntl(peer.get(), F_SETFL, O_NONBLOCK);
        BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
        control_read.reset(fds[0]);
        control_write.reset(fds[1]);
    }

    // The control pipe carries one byte per request: 'g' graceful, 'n' now.
    std::future<SessionResult> start(SessionLimits limits)
    {
        return std::async(std::launch::async, [this, limits] {
            auto read_request = [this] {
                char c = 0;
                const ssize_t n = ::read(control_read.get(), &c, 1);
                return n != 1 ? StopRequest::none : c == 'n' ? StopRequest::now : StopRequest::graceful;
            };
            return run_echo_session(session_end.get(), limits, control_read.get(), read_request);
        });
    }

    void request(char c) { BOOST_TEST_REQUIRE(::write(control_write.get(), &c, 1) == 1); }
};

std::string all_byte_values(std::size_t size)
{
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        data[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
    }
    return data;
}

SessionResult finished(std::future<SessionResult>& session, milliseconds timeout = 5000ms)
{
    BOOST_TEST_REQUIRE((session.wait_for(timeout) == std::future_status::ready),
                       "the session did not end in time");
    return session.get();
}

}  // namespace

BOOST_AUTO_TEST_CASE(echoes_every_byte_value_and_ends_at_eof)
{
    Pair pair;
    auto session = pair.start({});
    const std::string data = all_byte_values(3 * 1024 * 1024 + 17);
    BOOST_TEST((echo_full_duplex(pair.peer.get(), data) == data));
    ::shutdown(pair.peer.get(), SHUT_WR);
    const SessionResult result = finished(session);
    BOOST_TEST((result.reason == CloseReason::eof));
    BOOST_TEST(result.bytes_in == data.size());
    BOOST_TEST(result.bytes_out == data.size());
}

BOOST_AUTO_TEST_CASE(half_close_gets_everything_owed_then_eof)
{
    Pair pair;
    auto session = pair.start({});
    const std::string data = all_byte_values(100000);  // more than the socket buffers hold
    std::thread writer([&] {
        send_all(pair.peer.get(), data);
        ::shutdown(pair.peer.get(), SHUT_WR);
    });
    const std::string echoed = recv_exact(pair.peer.get(), data.size());
    writer.join();
    BOOST_TEST((echoed == data));
    BOOST_TEST((finished(session).reason == CloseReason::eof));
    pair.session_end.reset();  // the caller closes; the peer then sees the end
    BOOST_TEST(wait_closed(pair.peer.get(), 5000ms));
}

BOOST_AUTO_TEST_CASE(idle_timeout_closes_a_silent_peer)
{
    Pair pair;
    const auto start = Clock::now();
    auto session = pair.start({milliseconds(300), {}, {}});
    send_all(pair.peer.get(), "ping");
    BOOST_TEST(recv_exact(pair.peer.get(), 4) == "ping");
    const SessionResult result = finished(session);
    BOOST_TEST((result.reason == CloseReason::idle));
    BOOST_TEST(result.bytes_out == 4u);
    BOOST_TEST((Clock::now() - start >= milliseconds(300)));
}

BOOST_AUTO_TEST_CASE(write_stall_closes_a_peer_that_never_reads)
{
    Pair pair;
    auto session = pair.start({milliseconds(10000), milliseconds(300), {}});
    const std::string chunk(65536, 'x');
    std::size_t sent = 0;
    // Keep sending until the session gives up; it must not keep buffering.
    while (session.wait_for(0ms) != std::future_status::ready && sent < (64u << 20)) {
        const ssize_t n = ::send(pair.peer.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else {
            nothing_arrives(pair.control_read.get(), 10ms);  // bounded pause between tries
        }
    }
    const SessionResult result = finished(session);
    BOOST_TEST((result.reason == CloseReason::stall));
    BOOST_TEST(sent < (64u << 20));
    BOOST_TEST(result.bytes_in - result.bytes_out <= 64u * 1024u);  // one buffer at most
}

BOOST_AUTO_TEST_CASE(peer_reset_is_reason_reset)
{
    Pair pair;
    auto session = pair.start({});
    send_all(pair.peer.get(), "abc");
    // Closing with the echo unread makes the next receive on the other end fail.
    nothing_arrives(pair.control_read.get(), 100ms);
    pair.peer.reset();
    const SessionResult result = finished(session);
    BOOST_TEST((result.reason == CloseReason::reset));
    BOOST_TEST(result.error == ECONNRESET);
    BOOST_TEST(result.bytes_in == 3u);
}

BOOST_AUTO_TEST_CASE(stop_now_ends_at_once_with_reason_shutdown)
{
    Pair pair;
    auto session = pair.start({});
    send_all(pair.peer.get(), "hello");
    BOOST_TEST(recv_exact(pair.peer.get(), 5) == "hello");
    pair.request('n');
    const SessionResult result = finished(session, 2000ms);
    BOOST_TEST((result.reason == CloseReason::shutdown));
    BOOST_TEST(result.bytes_in == 5u);
}

BOOST_AUTO_TEST_CASE(graceful_stop_keeps_echoing_until_the_drain_deadline)
{
    Pair pair;
    auto session = pair.start({{}, {}, milliseconds(600)});
    pair.request('g');
    for (int i = 0; i < 3; ++i) {
        send_all(pair.peer.get(), "still here");
        BOOST_TEST(recv_exact(pair.peer.get(), 10) == "still here");
    }
    const SessionResult result = finished(session, 3000ms);
    BOOST_TEST((result.reason == CloseReason::shutdown));
    BOOST_TEST(result.bytes_out == 30u);
}

BOOST_AUTO_TEST_CASE(a_pending_stop_comes_before_data_that_is_ready)
{
    // Regression: a connection that was always ready hid stop requests and the drain
    // deadline. With more than a buffer of input queued, a stop already asked for (now, or
    // graceful with nothing left of the drain time) must be honoured before any read.
    for (const char request : {'n', 'g'}) {
        Pair pair;
        const std::string data(150000, 'q');
        const ssize_t queued = ::send(pair.peer.get(), data.data(), data.size(), MSG_NOSIGNAL);
        BOOST_TEST_REQUIRE(queued > 65536);
        pair.request(request);
        auto session = pair.start({{}, {}, milliseconds(0)});
        const SessionResult result = finished(session);
        BOOST_TEST((result.reason == CloseReason::shutdown));
        BOOST_TEST(result.bytes_in == 0u, "request " << request);
    }
}

BOOST_AUTO_TEST_CASE(stop_requests_are_heard_while_the_peer_streams_without_pause)
{
    for (const char request : {'g', 'n'}) {
        Pair pair;
        auto session = pair.start({{}, {}, milliseconds(200)});
        // One thread keeps the session's input full, another keeps its output drained: the
        // connection is always ready, in both directions.
        std::atomic<bool> stop{false};
        auto pump = [&](short events) {
            const std::string chunk(65536, 'z');
            char sink[65536];
            while (!stop) {
                pollfd pfd{pair.peer.get(), events, 0};
                if (::poll(&pfd, 1, 50) == 1) {
                    events == POLLOUT ? ::send(pair.peer.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL)
                                      : ::recv(pair.peer.get(), sink, sizeof sink, 0);
                }
            }
        };
        std::thread writer(pump, POLLOUT);
        std::thread reader(pump, POLLIN);
        nothing_arrives(pair.control_read.get(), 100ms);  // let the stream get going
        const auto asked = Clock::now();
        pair.request(request);
        const SessionResult result = finished(session, 3000ms);
        const auto took = Clock::now() - asked;
        stop = true;
        writer.join();
        reader.join();
        BOOST_TEST((result.reason == CloseReason::shutdown));
        BOOST_TEST(result.bytes_in > 0u);
        BOOST_TEST((took < (request == 'n' ? 150ms : 400ms)),
                   "stop " << request << " took "
                           << std::chrono::duration_cast<milliseconds>(took).count() << " ms");
    }
}

BOOST_AUTO_TEST_CASE(graceful_stop_ends_with_eof_when_the_peer_finishes_first)
{
    Pair pair;
    auto session = pair.start({{}, {}, milliseconds(10000)});
    pair.request('g');
    send_all(pair.peer.get(), "bye");
    ::shutdown(pair.peer.get(), SHUT_WR);
    BOOST_TEST(recv_exact(pair.peer.get(), 3) == "bye");
    BOOST_TEST((finished(session, 3000ms).reason == CloseReason::eof));
}
