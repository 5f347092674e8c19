// UDP echo (RFC 862 section 2, udp = on) on the real echod, in fork and prefork mode: real
// clients (socat, a python3 client, this test's own sockets) get their datagrams back byte
// for byte; the reflection guard, the access lists and the per-source rate leave unanswered
// what they should, and the counters and the log say so; a reload turns UDP on and off and
// loses nothing queued; the UDP child is replaced when killed and stops with the master.
#define BOOST_TEST_MODULE udp
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

const std::string fork_mode = "mode = fork\n";
const std::string prefork_mode = "mode = prefork\n";

// Each case runs once per mode.
#define IN_BOTH_MODES(name)                                         \
    BOOST_AUTO_TEST_CASE(name##_fork) { name(fork_mode); }         \
    BOOST_AUTO_TEST_CASE(name##_prefork) { name(prefork_mode); }

sockaddr_storage socket_address(const std::string& host, std::uint16_t port, socklen_t& length)
{
    sockaddr_storage storage{};
    if (host.find(':') != std::string::npos) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        BOOST_TEST_REQUIRE(::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1, host);
        length = sizeof *in6;
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        BOOST_TEST_REQUIRE(::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1, host);
        length = sizeof *in;
    }
    return storage;
}

// A UDP socket of this test, bound to `source` (a loopback address) and `port` (0: any).
class UdpClient {
public:
    explicit UdpClient(const std::string& source = "127.0.0.1", std::uint16_t port = 0)
        : ipv6_(source.find(':') != std::string::npos)
    {
        fd_.reset(::socket(ipv6_ ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                           0));
        BOOST_TEST_REQUIRE(static_cast<bool>(fd_));
        socklen_t length = 0;
        const sockaddr_storage address = socket_address(source, port, length);
        bind_error_ = ::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0
                          ? 0
                          : errno;
        BOOST_TEST_REQUIRE((port != 0 || bind_error_ == 0), "bind " << source);
    }

    int bind_error() const { return bind_error_; }

    void allow_broadcast() const
    {
        const int on = 1;
        BOOST_TEST_REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) == 0);
    }

    // To `to` (by default the loopback address of the socket's family), port `port`.
    void send(std::uint16_t port, const std::string& data, const std::string& to = "") const
    {
        socklen_t length = 0;
        const sockaddr_storage address =
            socket_address(to.empty() ? (ipv6_ ? "::1" : "127.0.0.1") : to, port, length);
        BOOST_TEST_REQUIRE(::sendto(fd_.get(), data.data(), data.size(), 0,
                                    reinterpret_cast<const sockaddr*>(&address),
                                    length) == static_cast<ssize_t>(data.size()),
                           "sendto: " << std::strerror(errno));
    }

    // The next datagram, or none within `timeout` (0: only one already here).
    std::optional<std::string> receive(std::chrono::milliseconds timeout = 5s) const
    {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
            return std::nullopt;
        }
        std::string buffer(70000, '\0');
        const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
        BOOST_TEST_REQUIRE(n >= 0, "recv: " << std::strerror(errno));
        buffer.resize(static_cast<std::size_t>(n));
        return buffer;
    }

    // Sends `data` and requires exactly it back.
    void expect_echo(std::uint16_t port, const std::string& data, const std::string& to = "") const
    {
        send(port, data, to);
        const std::optional<std::string> echo = receive();
        BOOST_TEST_REQUIRE(echo.has_value(), "no echo of " << data.size() << " bytes");
        BOOST_TEST(*echo == data);
    }

private:
    bool ipv6_;
    UniqueFd fd_;
    int bind_error_ = 0;
};

// Whether the kernel refuses datagrams to 127.0.0.1:port (nothing bound there): a connected
// socket gets the ICMP port unreachable as ECONNREFUSED.
bool udp_port_refused(std::uint16_t port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    socklen_t length = 0;
    const sockaddr_storage address = socket_address("127.0.0.1", port, length);
    BOOST_TEST_REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) ==
                       0);
    BOOST_TEST_REQUIRE(::send(fd.get(), "x", 1, 0) == 1);
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) {
        return false;
    }
    char byte;
    return ::recv(fd.get(), &byte, 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
}

// The processes but the master that hold a UDP socket on `port` (`ss -p`): the UDP children.
std::set<pid_t> udp_children(const Echod& echod)
{
    const CommandResult ss =
        run_command({"ss", "-uanpH", "sport = :" + std::to_string(echod.port)});
    BOOST_TEST_REQUIRE(ss.status == 0, ss.err);
    std::set<pid_t> pids;
    const std::regex pid(R"(pid=(\d+))");
    for (std::sregex_iterator it(ss.out.begin(), ss.out.end(), pid), end; it != end; ++it) {
        pids.insert(std::stoi((*it)[1]));
    }
    pids.erase(echod.daemon.pid());
    return pids;
}

// The one UDP child, once it is the only one. A child just forked (a prefork spare, a
// fork-mode child) holds the master's sockets, the UDP ones too, for the moment before it
// closes what it inherited: `ss` may list it then.
std::set<pid_t> settled_udp_children(const Echod& echod, std::size_t expected)
{
    std::set<pid_t> pids = udp_children(echod);
    for (int i = 0; i < 250 && pids.size() != expected; ++i) {  // 5 s at most
        std::this_thread::sleep_for(20ms);
        pids = udp_children(echod);
    }
    return pids;
}

pid_t the_udp_child(const Echod& echod)
{
    const std::set<pid_t> pids = settled_udp_children(echod, 1);
    BOOST_TEST_REQUIRE(pids.size() == 1u);
    return *pids.begin();
}

// Waits for `pid` to exit (a pidfd: works for any process), up to `timeout`.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout = 5s)
{
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd) {
        return errno == ESRCH;
    }
    pollfd p{fd.get(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 generator(seed);
    std::string bytes(n, '\0');
    for (char& byte : bytes) {
        byte = static_cast<char>(generator() & 0xff);
    }
    return bytes;
}

// One datagram from a python3 client (connected, so it takes a reply only from the address
// it sent to); what it printed.
CommandResult python_echo(const std::string& host, std::uint16_t port, const std::string& message)
{
    const char* script = R"(
import socket, sys
host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((host, port))
s.send(message)
sys.stdout.buffer.write(s.recv(65536))
)";
    return run_command({"python3", "-c", script, host, std::to_string(port), message});
}

// socat sends its input as one datagram and prints what comes back; it waits -t seconds for
// it after the end of its input.
CommandResult socat_echo(const std::string& address, const std::string& message)
{
    return run_command({"socat", "-t", "2", "-", address}, message);
}

// The drop episode begins with the first counts the UDP child reported.
std::string drops_reached(const std::string& counts)
{
    return "notice: msg=\"limit reached\" limit=udp_drops " + counts +
           " effect=\"further drops are summed up when they stop\"";
}

// --- the cases, each run in both modes --------------------------------------------------

void socat_and_python_get_their_datagrams_back_over_both_families(const std::string& mode)
{
    Echod echod("udp = on\naddress = 127.0.0.1, ::1\n" + mode);
    const std::string p = std::to_string(echod.port);
    const std::string ready = echod.daemon.wait_for("notice: msg=\"ready\" ");
    BOOST_TEST(ready.find(" udp=127.0.0.1:" + p + ",[::1]:" + p + " pid=") != std::string::npos,
               ready);
    const CommandResult v4 = socat_echo("UDP:127.0.0.1:" + p, "Hello world!\n");
    BOOST_TEST(v4.status == 0, v4.err);
    BOOST_TEST(v4.out == "Hello world!\n");
    const CommandResult v6 = socat_echo("UDP6:[::1]:" + p, "over IPv6\n");
    BOOST_TEST(v6.status == 0, v6.err);
    BOOST_TEST(v6.out == "over IPv6\n");
    for (const char* host : {"127.0.0.1", "::1"}) {
        const CommandResult python = python_echo(host, echod.port, "from python");
        BOOST_TEST(python.status == 0, python.err);
        BOOST_TEST(python.out == "from python");
    }
    echo_once(echod.port, "TCP goes on as before");
}
IN_BOTH_MODES(socat_and_python_get_their_datagrams_back_over_both_families)

void datagrams_come_back_identical_from_empty_to_the_largest(const std::string& mode)
{
    Echod echod("udp = on\nudp_rate_per_source = 0\n" + mode);
    UdpClient client;
    client.expect_echo(echod.port, random_bytes(1472, 1));  // a full Ethernet frame's payload
    client.expect_echo(echod.port, "");                     // an empty datagram gets one
    client.expect_echo(echod.port, random_bytes(65507, 2));  // the largest over IPv4
    for (unsigned i = 0; i < 100; ++i) {
        client.expect_echo(echod.port, random_bytes(i * 37 % 2000, i + 3));
    }
}
IN_BOTH_MODES(datagrams_come_back_identical_from_empty_to_the_largest)

// A client that sent to another address of the host than the one a route would pick takes
// only a reply from where it sent (a connected socket insists on it): the UDP child answers
// from the datagram's own destination.
void on_a_wildcard_address_the_reply_comes_from_the_address_sent_to(const std::string& mode)
{
    Echod echod("udp = on\naddress = 0.0.0.0\n" + mode);
    for (const char* host : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
        const CommandResult python = python_echo(host, echod.port, std::string("to ") + host);
        BOOST_TEST(python.status == 0, host << ": " << python.err);
        BOOST_TEST(python.out == std::string("to ") + host);
    }
}
IN_BOTH_MODES(on_a_wildcard_address_the_reply_comes_from_the_address_sent_to)

// Boost.Test skips a case whose precondition fails, and says why.
struct RootForALowPort {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const
    {
        boost::test_tools::assertion_result result(::geteuid() == 0);
        result.message() << "needs root (binds a source port below 1024)";
        return result;
    }
};

void a_source_port_below_1024_gets_nothing(const std::string& mode)
{
    Echod echod("udp = on\n" + mode);
    // The first of a few privileged ports that is free here.
    std::optional<UdpClient> low;
    for (std::uint16_t port = 1000; port < 1010 && !low; ++port) {
        low.emplace("127.0.0.1", port);
        if (low->bind_error() != 0) {
            low.reset();
        }
    }
    BOOST_TEST_REQUIRE(low.has_value(), "no free UDP port from 1000 to 1009");
    low->send(echod.port, "from a service port");
    // The UDP child takes datagrams on a socket in order, and loopback delivers its replies
    // in order: once a later datagram's echo is here, an earlier reply would be too.
    UdpClient high;
    high.expect_echo(echod.port, "from an ordinary port");
    BOOST_TEST(!low->receive(0ms).has_value());
    echod.daemon.wait_for(drops_reached("guard=1 denied=0 rate=0 truncated=0 unsent=0"));
}
BOOST_AUTO_TEST_CASE(a_source_port_below_1024_gets_nothing_fork,
                     *boost::unit_test::precondition(RootForALowPort()))
{
    a_source_port_below_1024_gets_nothing(fork_mode);
}
BOOST_AUTO_TEST_CASE(a_source_port_below_1024_gets_nothing_prefork,
                     *boost::unit_test::precondition(RootForALowPort()))
{
    a_source_port_below_1024_gets_nothing(prefork_mode);
}

// The "fraggle" attack: one forged datagram to a subnet's broadcast address, and every host
// that echoes answers the victim. A socket on 0.0.0.0 gets broadcasts; the loopback's is
// 127.255.255.255.
void a_datagram_to_a_broadcast_address_gets_nothing(const std::string& mode)
{
    Echod echod("udp = on\naddress = 0.0.0.0\n" + mode);
    UdpClient client;
    client.allow_broadcast();
    client.send(echod.port, "to every host", "127.255.255.255");
    client.expect_echo(echod.port, "to this one");
    BOOST_TEST(!client.receive(0ms).has_value());
    echod.daemon.wait_for(drops_reached("guard=1 denied=0 rate=0 truncated=0 unsent=0"));
}
IN_BOTH_MODES(a_datagram_to_a_broadcast_address_gets_nothing)

// Echod on a high port answering a datagram from its own port: a forged source equal to its
// own socket, or another echo server on the same port, would start a loop that only the
// rate ends, and nothing ends with udp_rate_per_source = 0. Here the other server's socket
// is this test's, on 127.0.0.2 and echod's port.
void a_source_on_echods_own_port_gets_nothing(const std::string& mode)
{
    Echod echod("udp = on\nudp_rate_per_source = 0\naddress = 127.0.0.1\n" + mode);
    UdpClient peer("127.0.0.2", echod.port);
    BOOST_TEST_REQUIRE(peer.bind_error() == 0, std::strerror(peer.bind_error()));
    peer.send(echod.port, "from another echo server on the same port");
    UdpClient other;
    other.expect_echo(echod.port, "from an ordinary port");
    BOOST_TEST(!peer.receive(0ms).has_value());
    echod.daemon.wait_for(drops_reached("guard=1 denied=0 rate=0 truncated=0 unsent=0"));
}
IN_BOTH_MODES(a_source_on_echods_own_port_gets_nothing)

void the_per_source_rate_holds_while_another_source_is_answered(const std::string& mode)
{
    Echod echod("udp = on\nudp_rate_per_source = 10\n" + mode);
    UdpClient flood("127.0.0.2");
    UdpClient other("127.0.0.3");
    const auto start = Clock::now();
    for (int i = 0; i < 200; ++i) {
        flood.send(echod.port, std::to_string(i));
    }
    // Another source has a bucket of its own: answered at once. (Its datagram follows the
    // 200 on the same socket, so the replies to those are all sent once its echo is here.)
    std::optional<std::string> answer;
    for (int attempt = 0; attempt < 3 && !answer; ++attempt) {
        other.send(echod.port, "another source");
        answer = other.receive(2s);
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    BOOST_TEST_REQUIRE(answer.has_value());
    BOOST_TEST(*answer == "another source");
    std::size_t echoed = 0;
    while (flood.receive(0ms)) {
        ++echoed;
    }
    // A burst of twice the rate, then the rate: 20 at once, 10 a second after.
    BOOST_TEST(echoed >= 20u);
    BOOST_TEST(static_cast<double>(echoed) <= 20 + 10 * elapsed + 1, "in " << elapsed << " s");
    BOOST_TEST_MESSAGE("FIGURE udp rate: " << echoed << " of 200 echoed in " << elapsed << " s");
    echod.daemon.wait_for("msg=\"limit reached\" limit=udp_drops guard=0 denied=0 rate=[1-9]");
    // The rest were dropped for the rate (or, had the socket's queue overflowed, by the
    // kernel before echod saw them).
    const std::string cleared = echod.daemon.wait_for("msg=\"limit cleared\" limit=udp_drops dropped=", 10s);
    std::smatch rate;
    BOOST_TEST_REQUIRE(std::regex_search(cleared, rate, std::regex(" rate=(\\d+) ")), cleared);
    const std::size_t dropped = std::stoul(rate[1]);
    BOOST_TEST((dropped >= 1u && dropped <= 200 - echoed), cleared << " (echoed " << echoed << ")");
}
IN_BOTH_MODES(the_per_source_rate_holds_while_another_source_is_answered)

void deny_and_allow_apply_to_udp(const std::string& mode)
{
    {
        Echod echod("udp = on\ndeny = 127.0.0.2\n" + mode);
        UdpClient denied("127.0.0.2");
        denied.send(echod.port, "denied");
        UdpClient("127.0.0.1").expect_echo(echod.port, "not denied");
        BOOST_TEST(!denied.receive(0ms).has_value());
        echod.daemon.wait_for(drops_reached("guard=0 denied=1 rate=0 truncated=0 unsent=0"));
    }
    Echod echod("udp = on\nallow = 127.0.0.3/32, 10.0.0.0/8\n" + mode);
    UdpClient outside("127.0.0.1");
    outside.send(echod.port, "not allowed");
    UdpClient("127.0.0.3").expect_echo(echod.port, "allowed");
    BOOST_TEST(!outside.receive(0ms).has_value());
    echod.daemon.wait_for(drops_reached("guard=0 denied=1 rate=0 truncated=0 unsent=0"));
}
IN_BOTH_MODES(deny_and_allow_apply_to_udp)

// The master's totals; the drop episode's end (a second after the last drop) comes after
// every count reported before it.
void the_status_line_counts_what_was_echoed_and_dropped(const std::string& mode)
{
    Echod echod("udp = on\ndeny = 127.0.0.2\n" + mode);
    UdpClient client;
    for (int i = 0; i < 3; ++i) {
        client.expect_echo(echod.port, "counted " + std::to_string(i));
    }
    UdpClient("127.0.0.2").send(echod.port, "dropped");
    echod.daemon.wait_for(
        "notice: msg=\"limit cleared\" limit=udp_drops dropped=1 guard=0 denied=1 rate=0 truncated=0 unsent=0 "
        "duration_ms=\\d+$");
    const std::size_t from = echod.daemon.line_count();
    echod.daemon.signal(SIGUSR1);
    const std::string status = echod.daemon.wait_for("notice: msg=\"status\" ", 10s, from);
    BOOST_TEST(status.find(" udp_echoed=3 udp_dropped=1 ") != std::string::npos, status);
    if (mode == prefork_mode) {
        BOOST_TEST(status.find(" spare=5 ") != std::string::npos, status);  // not the UDP child
    }
}
IN_BOTH_MODES(the_status_line_counts_what_was_echoed_and_dropped)

// Neither max_children nor the spares count it.
void the_udp_child_takes_no_client_slot(const std::string& mode)
{
    Echod echod("udp = on\nmax_children = 1\nmin_spare_children = 1\nmax_spare_children = 1\n" +
                mode);
    UdpClient().expect_echo(echod.port, "udp");
    // Were the UDP child one of the max_children, no TCP client would be served (fork
    // mode: the master would stop accepting; prefork: it would fork no spare).
    echo_once(echod.port, "the one TCP client");
    echo_once(echod.port, "and the next");
}
IN_BOTH_MODES(the_udp_child_takes_no_client_slot)

void a_reload_turns_udp_off_and_on(const std::string& mode)
{
    Echod echod("udp = on\n" + mode);
    const std::string settings = with_loopback_defaults(mode);
    const std::string p = std::to_string(echod.port);
    UdpClient client;
    client.expect_echo(echod.port, "on");
    const pid_t child = the_udp_child(echod);

    echod.reload(settings + "udp = off\n");
    echod.daemon.wait_for("notice: msg=\"reloaded\" listening=127.0.0.1:" + p + " port=" + p +
                          " .* mode=\\w+ pid=");
    BOOST_TEST(wait_gone(child));  // retired: the port is closed once it is gone
    BOOST_TEST(udp_port_refused(echod.port));
    BOOST_TEST(settled_udp_children(echod, 0).empty());
    echo_once(echod.port, "TCP untouched");

    echod.reload(settings + "udp = on\n");
    echod.daemon.wait_for("notice: msg=\"reloaded\" listening=127.0.0.1:" + p + " .* udp=127.0.0.1:" + p +
                          " pid=");
    client.expect_echo(echod.port, "on again");
    BOOST_TEST(echod.daemon.count("warning") == 0u, echod.daemon.log());
}
IN_BOTH_MODES(a_reload_turns_udp_off_and_on)

// A UDP child that cannot run: the retired one stopped (SIGSTOP), so that a datagram sent
// before the reload can only be answered by the new child, from the socket the reload kept.
struct Stopped {
    explicit Stopped(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
    ~Stopped() { ::kill(pid_, SIGCONT); }
    pid_t pid_;
};

void a_reload_keeps_the_udp_socket_and_what_waits_on_it(const std::string& mode)
{
    Echod echod("udp = on\n" + mode);
    const std::string p = std::to_string(echod.port);
    UdpClient client;
    client.expect_echo(echod.port, "before");
    UdpClient denied("127.0.0.2");
    const pid_t old = the_udp_child(echod);
    {
        Stopped stopped(old);
        client.send(echod.port, "queued across the reload");
        echod.reload(with_loopback_defaults(mode) + "udp = on\ndeny = 127.0.0.2\n");
        echod.daemon.wait_for("notice: msg=\"reloaded\" .* udp=127.0.0.1:" + p + " pid=");
        const std::optional<std::string> echo = client.receive();
        BOOST_TEST_REQUIRE(echo.has_value());
        BOOST_TEST(*echo == "queued across the reload");
    }
    BOOST_TEST(wait_gone(old));  // it read its retirement once it ran again
    // The new child has the new settings.
    denied.send(echod.port, "now denied");
    client.expect_echo(echod.port, "after");
    BOOST_TEST(!denied.receive(0ms).has_value());
    BOOST_TEST(settled_udp_children(echod, 1).size() == 1u);
}
IN_BOTH_MODES(a_reload_keeps_the_udp_socket_and_what_waits_on_it)

void a_killed_udp_child_is_replaced_with_one_warning(const std::string& mode)
{
    Echod echod("udp = on\n" + mode);
    const pid_t child = the_udp_child(echod);
    const auto killed = Clock::now();
    BOOST_TEST_REQUIRE(::kill(child, SIGKILL) == 0);
    echod.daemon.wait_for("warning: msg=\"udp child exited; forking another after a pause\" pid=" + std::to_string(child) +
                          " reason=killed signal=9$");
    // Sent while no child may be running: it waits on the socket for the next one.
    UdpClient().expect_echo(echod.port, "served by the next one");
    BOOST_TEST_MESSAGE("FIGURE udp child killed: echoed again "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                                                killed)
                              .count()
                       << " ms after the kill");
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=udp_child down=1 duration_ms=\\d+$");
    BOOST_TEST(echod.daemon.count("udp child exited") == 1u);
    BOOST_TEST(zombie_children(echod.daemon.pid()) == 0u);
}
IN_BOTH_MODES(a_killed_udp_child_is_replaced_with_one_warning)

void sigterm_stops_the_udp_child_with_the_master(const std::string& mode)
{
    Echod echod("udp = on\n" + mode);
    UdpClient().expect_echo(echod.port, "served");
    const pid_t udp = the_udp_child(echod);
    const std::vector<pid_t> children = child_pids(echod.daemon.pid());
    BOOST_TEST(std::count(children.begin(), children.end(), udp) == 1);
    echod.daemon.signal(SIGTERM);
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    BOOST_TEST(echod.daemon.count("notice: msg=\"stopped\" ") == 1u);
    // The master reaped every child before it exited, and the UDP port is free at once.
    for (pid_t pid : children) {
        BOOST_TEST((::kill(pid, 0) != 0 && errno == ESRCH), pid << " outlived the master");
    }
    UdpClient rebind("127.0.0.1", echod.port);
    BOOST_TEST(rebind.bind_error() == 0, std::strerror(rebind.bind_error()));
}
IN_BOTH_MODES(sigterm_stops_the_udp_child_with_the_master)

void udp_is_off_by_default(const std::string& mode)
{
    Echod echod(mode);
    BOOST_TEST(echod.daemon.wait_for("notice: msg=\"ready\" ").find(" udp=") == std::string::npos);
    BOOST_TEST(udp_port_refused(echod.port));
    const std::size_t from = echod.daemon.line_count();
    echod.daemon.signal(SIGUSR1);
    BOOST_TEST(echod.daemon.wait_for("notice: msg=\"status\" ", 10s, from).find("udp_") ==
               std::string::npos);
}
IN_BOTH_MODES(udp_is_off_by_default)

}  // namespace

// --- socket activation ----------------------------------------------------------------

namespace {

// systemd's own activator with a datagram socket on 127.0.0.1:port: it execs echod (with
// the socket as descriptor 3) when the first datagram arrives, which waits there for it.
struct ActivatedByDatagram {
    ActivatedByDatagram(const std::string& settings, std::uint16_t port)
        : config(dir.write("echod.conf", settings)),
          daemon({"--config", config},
                 {"systemd-socket-activate", "--datagram",
                  "--listen=127.0.0.1:" + std::to_string(port)})
    {
        daemon.wait_for("Listening on 127.0.0.1:" + std::to_string(port));
    }

    TempDir dir;
    std::string config;
    Daemon daemon;
};

}  // namespace

BOOST_AUTO_TEST_CASE(socket_activation_serves_a_passed_udp_socket_when_udp_is_on)
{
    const std::uint16_t port = free_port();
    const std::string p = std::to_string(port);
    ActivatedByDatagram activated("udp = on\n", port);
    UdpClient client;
    client.send(port, "the first datagram, queued before echod started");
    activated.daemon.wait_for("notice: msg=\"ready\" .* udp=127.0.0.1:" + p + " pid=");
    const std::optional<std::string> first = client.receive();
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(*first == "the first datagram, queued before echod started");
    client.expect_echo(port, "and the next");

    // A reload that turns UDP off keeps the unit's socket, unserved, and says so.
    activated.dir.write("echod.conf", "udp = off\n");
    activated.daemon.signal(SIGHUP);
    activated.daemon.wait_for("notice: msg=\"socket activation: UDP sockets not served\" udp=off "
                              "sockets=127.0.0.1:" + p + "$");
    activated.daemon.signal(SIGTERM);
    BOOST_TEST(activated.daemon.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(socket_activation_with_udp_off_leaves_a_passed_udp_socket_unserved)
{
    const std::uint16_t port = free_port();
    ActivatedByDatagram activated("udp = off\n", port);
    UdpClient client;
    client.send(port, "wakes echod, gets no answer");
    activated.daemon.wait_for("notice: msg=\"socket activation: UDP sockets not served\" udp=off "
                              "sockets=127.0.0.1:" + std::to_string(port) + "$");
    const std::string ready = activated.daemon.wait_for("notice: msg=\"ready\" ");
    BOOST_TEST(ready.find(" udp=") == std::string::npos, ready);
    // No UDP child was forked before the ready line, so none will answer.
    BOOST_TEST(child_pids(activated.daemon.pid()).empty());
    activated.daemon.signal(SIGTERM);
    BOOST_TEST(activated.daemon.wait_exit() == 0);
}
