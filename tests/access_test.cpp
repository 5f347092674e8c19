// Who is served, on the real echod in both modes: the PROXY protocol on a listener (the
// client a trusted balancer names is the one the limits, the lists and the log lines see),
// the access lists allow and deny, rate_per_source with rate_burst, the refusal episodes in
// the log, and the refusal counters of the status line.
#define BOOST_TEST_MODULE access
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <thread>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

const std::string fork_mode = "mode = fork\n";
const std::string prefork_mode = "mode = prefork\nmin_spare_children = 4\n";
// A PROXY listener whose only balancer is 127.0.0.1. proxy_timeout is long, so that a
// connection closed within the 2 s the cases allow was closed for what it sent, not timed
// out.
const std::string behind_balancer =
    "proxy_trusted = 127.0.0.1\nproxy_timeout = 10s\nlog_level = debug\n";

std::string literal(const std::string& text)
{
    static const std::string special = R"(\^$.|?*+()[]{})";
    std::string escaped;
    for (const char c : text) {
        if (special.find(c) != std::string::npos) {
            escaped += '\\';
        }
        escaped += c;
    }
    return escaped;
}

// --- PROXY headers (HAProxy's doc/proxy-protocol.txt) -----------------------------------

std::string big_endian16(std::size_t value)
{
    return {static_cast<char>((value >> 8) & 0xFF), static_cast<char>(value & 0xFF)};
}

std::string address_bytes(int family, const std::string& address)
{
    unsigned char bytes[16];
    BOOST_TEST_REQUIRE(::inet_pton(family, address.c_str(), bytes) == 1, address);
    return std::string(reinterpret_cast<const char*>(bytes), family == AF_INET ? 4 : 16);
}

std::string tlv(unsigned char type, const std::string& value)
{
    return static_cast<char>(type) + big_endian16(value.size()) + value;
}

// The 12-byte signature, version and command, family and protocol, the length of what
// follows, and that: the addresses, then any TLVs.
std::string v2_header(unsigned char version_command, unsigned char family,
                      const std::string& rest)
{
    static const char signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                       '\n', 'Q',  'U',  'I',  'T',  '\n'};
    return std::string(signature, sizeof signature) + static_cast<char>(version_command) +
           static_cast<char>(family) + big_endian16(rest.size()) + rest;
}

// PROXY (0x21) for a TCP client over IPv4 (0x11), that reached 127.0.0.1:7.
std::string v2_tcp4(const std::string& client, std::uint16_t port, const std::string& tlvs = "")
{
    return v2_header(0x21, 0x11,
                     address_bytes(AF_INET, client) + address_bytes(AF_INET, "127.0.0.1") +
                         big_endian16(port) + big_endian16(7) + tlvs);
}

// PROXY (0x21) for a TCP client over IPv6 (0x21), that reached [2001:db8::1]:7.
std::string v2_tcp6(const std::string& client, std::uint16_t port, const std::string& tlvs = "")
{
    return v2_header(0x21, 0x21,
                     address_bytes(AF_INET6, client) + address_bytes(AF_INET6, "2001:db8::1") +
                         big_endian16(port) + big_endian16(7) + tlvs);
}

// LOCAL (0x20): the balancer's own connection (a health check); UNSPEC, no addresses.
std::string v2_local()
{
    return v2_header(0x20, 0x00, "");
}

std::string v1_tcp4(const std::string& client, std::uint16_t port)
{
    return "PROXY TCP4 " + client + " 127.0.0.1 " + std::to_string(port) + " 7\r\n";
}

std::string v1_tcp6(const std::string& client, std::uint16_t port)
{
    return "PROXY TCP6 " + client + " ::1 " + std::to_string(port) + " 7\r\n";
}

// --- connections ---------------------------------------------------------------------

// A connection from `source` that sends `bytes` (a header and the client's data) in one
// write, so in one segment.
UniqueFd open_with(std::uint16_t port, const std::string& bytes,
                   const std::string& source = "127.0.0.1")
{
    UniqueFd fd = connect_tcp("127.0.0.1", port, source);
    send_all(fd.get(), bytes);
    return fd;
}

// `fd` is closed with nothing written, within `within`.
void expect_unserved(int fd, const std::string& what, std::chrono::milliseconds within = 2s)
{
    BOOST_TEST(wait_closed(fd, within), what << ": not closed unserved within " << within.count()
                                              << " ms");
}

// Exactly `data` comes back, and then, once the client is done, the close: nothing else
// (no header) was written.
void expect_only(int fd, const std::string& data)
{
    BOOST_TEST(recv_exact(fd, data.size()) == data);
    ::shutdown(fd, SHUT_WR);
    BOOST_TEST(wait_closed(fd), "more than the data came back");
}

// "127\.0\.0\.1:PORT": the balancer's end of `fd`, as a log line names it.
std::string via_of(int fd)
{
    return "127\\.0\\.0\\.1:" + std::to_string(local_port(fd));
}

// The next status line (SIGUSR1).
std::string status_line(Daemon& daemon)
{
    const std::size_t from = daemon.line_count();
    daemon.signal(SIGUSR1);
    return daemon.wait_for("notice: msg=\"status\" ", 10s, from);
}

// Whether a status line matches `pattern` within 20 requests. A prefork child reports a
// refusal before it closes the connection, but the master may read the report a poll pass
// after it answers a SIGUSR1.
bool status_shows(Daemon& daemon, const std::string& pattern)
{
    const std::regex re(pattern);
    std::string line;
    for (int i = 0; i < 20; ++i) {
        line = status_line(daemon);
        if (std::regex_search(line, re)) {
            return true;
        }
    }
    BOOST_TEST_MESSAGE("last status line: " << line);
    return false;
}

struct HostHasIpv6 {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const
    {
        UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in6 loopback{};
        loopback.sin6_family = AF_INET6;
        loopback.sin6_addr = in6addr_loopback;
        boost::test_tools::assertion_result result(
            fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0);
        result.message() << "needs IPv6 on the loopback interface";
        return result;
    }
};

// Joins a thread however the scope is left (a failed wait throws).
struct Joined {
    std::thread& thread;
    ~Joined()
    {
        if (thread.joinable()) {
            thread.join();
        }
    }
};

// --- 1. PROXY --------------------------------------------------------------------------

void a_v2_header_names_the_client_and_only_the_data_after_it_is_echoed(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\n" + behind_balancer);
    struct Case {
        std::string header;
        std::string client;  // as the log names it
    };
    const Case cases[] = {{v2_tcp4("192.0.2.10", 5000), "192\\.0\\.2\\.10:5000"},
                          {v2_tcp6("2001:db8::10", 5001), "\\[2001:db8::10\\]:5001"}};
    for (const Case& c : cases) {
        UniqueFd client = open_with(echod.port, c.header + "hello, echo");
        const std::string via = via_of(client.get());
        expect_only(client.get(), "hello, echo");
        echod.daemon.wait_for("debug: msg=\"connection accepted\" peer=" + c.client + " via=" + via +
                              " pid=\\d+$");
        echod.daemon.wait_for("info: msg=\"connection closed\" peer=" + c.client + " via=" + via +
                              " pid=\\d+ bytes_in=11 bytes_out=11 duration_ms=\\d+ reason=eof$");
    }
    // A header on its own, then the data once the header was read (the accepted line).
    UniqueFd apart = open_with(echod.port, v2_tcp4("192.0.2.13", 5004));
    echod.daemon.wait_for("debug: msg=\"connection accepted\" peer=192\\.0\\.2\\.13:5004 via=" +
                          via_of(apart.get()) + " ");
    send_all(apart.get(), "after the header");
    expect_only(apart.get(), "after the header");
    // A client that is done at once: header, data and its FIN back to back.
    UniqueFd brief = open_with(echod.port, v2_tcp4("192.0.2.12", 5003) + "brief");
    ::shutdown(brief.get(), SHUT_WR);
    BOOST_TEST(recv_exact(brief.get(), 5) == "brief");
    BOOST_TEST(wait_closed(brief.get()));
    // More data in the same write than the header buffer (536 bytes) holds: what was read
    // with the header is echoed first, the rest follows in order.
    std::string data(60000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>('a' + i % 23);
    }
    UniqueFd big = open_with(echod.port, v2_tcp4("192.0.2.11", 5002) + data);
    expect_only(big.get(), data);
    echod.daemon.wait_for("info: msg=\"connection closed\" peer=192\\.0\\.2\\.11:5002 via=" +
                          via_of(big.get()) + " pid=\\d+ bytes_in=60000 bytes_out=60000 ");
}

void max_per_source_counts_the_client_behind_the_balancer(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\nmax_per_source = 1\nmax_per_network = 0\n" +
                behind_balancer);
    UniqueFd a1 = open_with(echod.port, v2_tcp4("10.0.0.1", 4001) + "a1");
    BOOST_TEST(recv_exact(a1.get(), 2) == "a1");
    UniqueFd a2 = open_with(echod.port, v2_tcp4("10.0.0.1", 4002) + "a2");
    expect_unserved(a2.get(), "a second connection of client A");
    echod.daemon.wait_for("debug: msg=\"connection refused\" peer=10\\.0\\.0\\.1:4002 via=" +
                          via_of(a2.get()) + " reason=max_per_source$");
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=max_per_source max_per_source=1 source=10\\.0\\.0\\.1 "
                          "effect=\"further connections from it are closed\"$");
    UniqueFd b = open_with(echod.port, v2_tcp4("10.0.0.2", 4003) + "b");
    expect_only(b.get(), "b");
    expect_echo(a1.get(), "A is still served");
    // Its connection closed, A has room again.
    ::shutdown(a1.get(), SHUT_WR);
    BOOST_TEST(wait_closed(a1.get()));
    echod.daemon.wait_for("info: msg=\"connection closed\" peer=10\\.0\\.0\\.1:4001 via=");
    UniqueFd a3 = open_with(echod.port, v2_tcp4("10.0.0.1", 4004) + "a3");
    expect_only(a3.get(), "a3");
}

void a_v1_header_names_the_client(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v1\n" + behind_balancer);
    struct Case {
        std::string header;
        std::string client;
    };
    const Case cases[] = {{v1_tcp4("192.0.2.20", 4000), "192\\.0\\.2\\.20:4000"},
                          {v1_tcp6("2001:db8::20", 4001), "\\[2001:db8::20\\]:4001"}};
    for (const Case& c : cases) {
        UniqueFd client = open_with(echod.port, c.header + "v1 data");
        const std::string via = via_of(client.get());
        expect_only(client.get(), "v1 data");
        echod.daemon.wait_for("info: msg=\"connection closed\" peer=" + c.client + " via=" + via +
                              " pid=\\d+ bytes_in=7 bytes_out=7 duration_ms=\\d+ reason=eof$");
    }
    // UNKNOWN names no client: the connection's own peer stands, with no via.
    UniqueFd unknown = open_with(echod.port, "PROXY UNKNOWN\r\nunknown");
    const std::string peer = via_of(unknown.get());
    expect_only(unknown.get(), "unknown");
    echod.daemon.wait_for("info: msg=\"connection closed\" peer=" + peer + " pid=\\d+ bytes_in=7 ");
}

void proxy_protocol_takes_only_the_versions_it_names(const std::string& mode)
{
    struct Setting {
        const char* protocol;
        bool v1;
        bool v2;
    };
    for (const Setting& setting : {Setting{"v1", true, false}, Setting{"v2", false, true},
                                   Setting{"any", true, true}}) {
        BOOST_TEST_CONTEXT("proxy_protocol = " << setting.protocol)
        {
            Echod echod(mode + "proxy_protocol = " + setting.protocol + "\n" + behind_balancer);
            UniqueFd one = open_with(echod.port, v1_tcp4("192.0.2.1", 4001) + "v1 data");
            UniqueFd two = open_with(echod.port, v2_tcp4("192.0.2.2", 4002) + "v2 data");
            if (setting.v1) {
                expect_only(one.get(), "v1 data");
            } else {
                expect_unserved(one.get(), "a v1 header");
                echod.daemon.wait_for("debug: msg=\"connection refused\" peer=" + via_of(one.get()) +
                                      " reason=bad_header why=\"PROXY v1 header, but only v2 "
                                      "is accepted\"$");
            }
            if (setting.v2) {
                expect_only(two.get(), "v2 data");
            } else {
                expect_unserved(two.get(), "a v2 header");
                echod.daemon.wait_for("debug: msg=\"connection refused\" peer=" + via_of(two.get()) +
                                      " reason=bad_header why=\"PROXY v2 header, but only v1 "
                                      "is accepted\"$");
            }
        }
    }
}

void a_header_split_across_writes_is_put_together(const std::string& mode)
{
    // Every cut of a v2 header (with a TLV) and of a v1 header, each on a connection of its
    // own, all at once: three writes with pauses between them, the header's last bytes and
    // the client's data in the third. At debug every connection has its line, however many
    // close at once (at info, more than 50 a second are summarised).
    Echod echod(mode + "log_level = debug\nproxy_protocol = any\nproxy_trusted = 127.0.0.1\nproxy_timeout = 5s\n"
                       "max_per_source = 0\nmax_per_network = 0\n");
    const std::string headers[] = {v2_tcp4("192.0.2.30", 4030, tlv(0xE0, "tlv")),
                                    v1_tcp4("192.0.2.31", 4031)};
    struct Split {
        UniqueFd fd;
        std::string pieces[3];
        std::string data;
    };
    std::vector<Split> splits;
    for (const std::string& header : headers) {
        for (std::size_t cut = 1; cut < header.size(); ++cut) {
            const std::size_t second = cut + (header.size() - cut) / 2;
            Split split;
            split.data = "split at " + std::to_string(cut) + " of " + std::to_string(header.size());
            split.pieces[0] = header.substr(0, cut);
            split.pieces[1] = header.substr(cut, second - cut);
            split.pieces[2] = header.substr(second) + split.data;
            split.fd = connect_tcp("127.0.0.1", echod.port);
            const int one = 1;
            ::setsockopt(split.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            splits.push_back(std::move(split));
        }
    }
    for (int piece = 0; piece < 3; ++piece) {
        if (piece > 0) {
            std::this_thread::sleep_for(50ms);  // the client's pause: what is under test
        }
        for (Split& split : splits) {
            if (!split.pieces[piece].empty()) {
                send_all(split.fd.get(), split.pieces[piece]);
            }
        }
    }
    for (Split& split : splits) {
        BOOST_TEST_CONTEXT(split.data) { expect_only(split.fd.get(), split.data); }
    }
    echod.daemon.wait_count("info: msg=\"connection closed\" peer=192\\.0\\.2\\.3[01]:403[01] via=\\S+ "
                            "pid=\\d+ bytes_in=\\d+ bytes_out=\\d+ duration_ms=\\d+ reason=eof$",
                            splits.size());
    BOOST_TEST(echod.daemon.count("msg=\"connection refused\"") == 0u);
}

void a_header_that_never_completes_is_closed_at_proxy_timeout(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = any\nproxy_trusted = 127.0.0.1\nproxy_timeout = 300ms\n"
                       "log_level = debug\n");
    const std::string partial[] = {v2_tcp4("192.0.2.40", 4040).substr(0, 10),
                                   "PROXY TCP4 192.0.2.41", ""};
    const auto start = Clock::now();
    std::vector<UniqueFd> clients;
    for (const std::string& bytes : partial) {
        clients.push_back(connect_tcp("127.0.0.1", echod.port));
        if (!bytes.empty()) {
            send_all(clients.back().get(), bytes);
        }
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        BOOST_TEST_CONTEXT("partial header " << i)
        {
            // A daemon that ignored proxy_timeout would wait its default, 3 s.
            BOOST_TEST(wait_closed(clients[i].get(), 2s));
            const auto took = Clock::now() - start;
            BOOST_TEST((took >= 300ms && took < 2s),
                       std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                           << " ms");
            echod.daemon.wait_for("debug: msg=\"connection refused\" peer=" + via_of(clients[i].get()) +
                                  " reason=bad_header why=\"no complete PROXY header within "
                                  "proxy_timeout\"$");
        }
    }
    // The deadline is the header's, not an idle time: a header trickling in a byte every
    // 50 ms (2 s in all) is closed at proxy_timeout all the same.
    const std::string header = v1_tcp4("192.0.2.43", 4043);
    const auto trickle_start = Clock::now();  // before the connection: echod's clock starts later
    UniqueFd trickle = connect_tcp("127.0.0.1", echod.port);
    bool closed = false;
    for (std::size_t i = 0; i < header.size() && !closed; ++i) {
        closed = ::send(trickle.get(), &header[i], 1, MSG_NOSIGNAL) != 1;
        pollfd pfd{trickle.get(), POLLIN, 0};
        if (!closed && ::poll(&pfd, 1, 50) == 1) {  // the pause between bytes
            char byte = 0;
            const ssize_t n = ::recv(trickle.get(), &byte, 1, 0);
            BOOST_TEST_REQUIRE(n <= 0, "the trickling client got a byte");
            closed = true;
        }
    }
    const auto trickle_took = Clock::now() - trickle_start;
    BOOST_TEST(closed);
    BOOST_TEST((trickle_took >= 300ms && trickle_took < 2s),
               std::chrono::duration_cast<std::chrono::milliseconds>(trickle_took).count()
                   << " ms");
    UniqueFd good = open_with(echod.port, v2_tcp4("192.0.2.42", 4042) + "still served");
    expect_only(good.get(), "still served");
}

void a_slow_header_does_not_hold_up_other_clients(const std::string& mode)
{
    // As many connections as there are spares (prefork_mode: 4) that have sent part of a
    // header, then a client with a whole one: it must not wait for theirs. Fork mode forks
    // for it; prefork mode needs a child that is really idle.
    Echod echod(mode + "proxy_protocol = v2\nproxy_trusted = 127.0.0.1\nproxy_timeout = 5s\n");
    std::vector<UniqueFd> slow;
    for (int i = 0; i < 4; ++i) {
        const std::string header = v2_tcp4("192.0.2.91", static_cast<std::uint16_t>(5000 + i));
        slow.push_back(open_with(echod.port, header.substr(0, 8)));
    }
    const auto start = Clock::now();
    UniqueFd ready = open_with(echod.port, v2_tcp4("192.0.2.90", 4090) + "ready");
    pollfd pfd{ready.get(), POLLIN, 0};
    const bool in_time = ::poll(&pfd, 1, 1000) == 1;
    BOOST_TEST(in_time, "a client with a whole header waited "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(
                                   Clock::now() - start).count()
                            << " ms behind clients still sending theirs (prefork: a known "
                               "failure, see where the case is registered)");
    if (!in_time) {
        return;  // the known prefork failure: see the note where the case is registered
    }
    expect_only(ready.get(), "ready");
    // The slow ones, complete now, are served too.
    for (int i = 0; i < 4; ++i) {
        const std::string header = v2_tcp4("192.0.2.91", static_cast<std::uint16_t>(5000 + i));
        send_all(slow[i].get(), header.substr(8) + "slow");
        expect_only(slow[i].get(), "slow");
    }
}

void a_malformed_header_is_closed_at_once(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = any\n" + behind_balancer);
    std::string wrong_version = v2_tcp4("192.0.2.43", 4043);
    wrong_version[12] = 0x11;  // version 1, command PROXY
    std::string bad_signature = v2_tcp4("192.0.2.44", 4044);
    bad_signature[10] = 'X';
    struct Bad {
        std::string bytes;
        std::string why;
    };
    const Bad bad[] = {
        {"GET / HTTP/1.0\r\n\r\n", "not a PROXY header"},
        // 16 + 0x0210 = 544 bytes, over the 536 the spec allows (0x0208 is the most).
        {v2_header(0x21, 0x11, std::string(0x210, '\0')), "PROXY v2: longer than 536 bytes"},
        {wrong_version + "data", "PROXY v2: the version is not 2"},
        {bad_signature + "data", "PROXY v2: bad signature"},
        {"PROXY TCP4 192.0.2.300 127.0.0.1 4045 7\r\ndata", "PROXY v1: bad source address"},
    };
    for (const Bad& b : bad) {
        BOOST_TEST_CONTEXT(b.why)
        {
            UniqueFd client = open_with(echod.port, b.bytes);
            expect_unserved(client.get(), b.why);
            echod.daemon.wait_for("debug: msg=\"connection refused\" peer=" + via_of(client.get()) +
                                  " reason=bad_header why=\"" + literal(b.why) + "\"$");
        }
    }
    UniqueFd good = open_with(echod.port, v2_tcp4("192.0.2.46", 4046) + "still served");
    expect_only(good.get(), "still served");
}

void a_client_without_a_header_is_never_echoed(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = any\n" + behind_balancer);
    struct Plain {
        std::string bytes;
        std::string why;
    };
    const Plain plain[] = {
        {"hello\n", "not a PROXY header"},
        {"PING\r\n", "PROXY v1: the line does not start with 'PROXY '"},
        // "\r\n" alone could still become a v2 signature: it waits for proxy_timeout.
        {"\r\n\r\nhello\r\n", "PROXY v2: bad signature"},
    };
    for (const Plain& p : plain) {
        BOOST_TEST_CONTEXT(p.why)
        {
            UniqueFd client = open_with(echod.port, p.bytes);
            expect_unserved(client.get(), "plain data");
            echod.daemon.wait_for("debug: msg=\"connection refused\" peer=" + via_of(client.get()) +
                                  " reason=bad_header why=\"" + literal(p.why) + "\"$");
        }
    }
    BOOST_TEST(echod.daemon.count("msg=\"connection accepted\"") == 0u);
}

void a_peer_outside_proxy_trusted_is_closed_at_once(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\n" + behind_balancer);
    // A valid header from 127.0.0.5, and a connection from it that sends nothing: both
    // closed without waiting for a header (proxy_timeout is 10 s).
    UniqueFd with_header =
        open_with(echod.port, v2_tcp4("192.0.2.50", 4050) + "data", "127.0.0.5");
    UniqueFd silent = connect_tcp("127.0.0.1", echod.port, "127.0.0.5");
    expect_unserved(with_header.get(), "an untrusted peer with a header");
    expect_unserved(silent.get(), "an untrusted peer that sends nothing");
    for (const UniqueFd* fd : {&with_header, &silent}) {
        echod.daemon.wait_for("debug: msg=\"connection refused\" peer=127\\.0\\.0\\.5:" +
                              std::to_string(local_port(fd->get())) + " reason=untrusted$");
    }
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=proxy_trusted peer=127\\.0\\.0\\.5 "
                          "effect=\"further refusals are counted, not logged\"$");
    UniqueFd trusted = open_with(echod.port, v2_tcp4("192.0.2.51", 4051) + "trusted");
    expect_only(trusted.get(), "trusted");
    BOOST_TEST(echod.daemon.count("msg=\"connection accepted\" peer=192\\.0\\.2\\.50") == 0u);
    BOOST_TEST(status_shows(echod.daemon, " refused=2 refused_untrusted=2 fork_failed=0 "));
}

void a_local_connection_is_echoed_and_counted_against_no_one(const std::string& mode)
{
    // With max_per_source = 1: two LOCAL connections from the balancer and a client the
    // headers name 127.0.0.1 (the balancer's own address), all at once.
    Echod echod(mode + "proxy_protocol = v2\nmax_per_source = 1\nmax_per_network = 0\n" +
                behind_balancer);
    UniqueFd check1 = open_with(echod.port, v2_local() + "health 1");
    BOOST_TEST(recv_exact(check1.get(), 8) == "health 1");
    UniqueFd check2 = open_with(echod.port, v2_local() + "health 2");
    BOOST_TEST(recv_exact(check2.get(), 8) == "health 2");
    UniqueFd client = open_with(echod.port, v2_tcp4("127.0.0.1", 4000) + "client");
    BOOST_TEST(recv_exact(client.get(), 6) == "client");
    // The limit is in force: the same client again is refused.
    UniqueFd again = open_with(echod.port, v2_tcp4("127.0.0.1", 4001) + "again");
    expect_unserved(again.get(), "a second connection of client 127.0.0.1");
    expect_echo(check1.get(), " still");
    for (UniqueFd* fd : {&check1, &check2}) {
        const std::string peer = via_of(fd->get());
        ::shutdown(fd->get(), SHUT_WR);
        BOOST_TEST(wait_closed(fd->get()));
        echod.daemon.wait_for("debug: msg=\"connection accepted\" peer=" + peer + " pid=\\d+ local=yes$");
        echod.daemon.wait_for("debug: msg=\"connection closed\" peer=" + peer +
                              " pid=\\d+ local=yes bytes_in=\\d+ bytes_out=\\d+ "
                              "duration_ms=\\d+ reason=eof$");
    }
    // Logged at debug only: no line about them at info or above.
    BOOST_TEST(echod.daemon.count("(info|notice|warning|error): .*local=yes") == 0u);
    BOOST_TEST(status_shows(echod.daemon, " refused=1 refused_max_per_source=1 fork_failed=0 "));
}

void without_proxy_protocol_a_header_is_just_data(const std::string& mode)
{
    Echod echod(mode + "log_level = debug\n");
    for (const std::string& header : {v2_tcp4("192.0.2.60", 4060), v1_tcp4("192.0.2.61", 4061)}) {
        UniqueFd client = open_with(echod.port, header + "data");
        const std::string peer = via_of(client.get());
        expect_only(client.get(), header + "data");
        echod.daemon.wait_for("info: msg=\"connection closed\" peer=" + peer + " pid=\\d+ bytes_in=" +
                              std::to_string(header.size() + 4) + " ");
    }
    BOOST_TEST(echod.daemon.count("192\\.0\\.2\\.6|via=") == 0u);
}

void unknown_tlvs_after_the_addresses_are_skipped(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\n" + behind_balancer);
    const std::string tlvs = tlv(0x01, "h2") +             // ALPN
                             tlv(0x02, "example.com") +    // authority
                             tlv(0x04, std::string(3, '\0')) +  // NOOP
                             tlv(0x20, std::string("\x01\0\0\0\0", 5) +
                                           tlv(0x21, "TLSv1.3")) +  // SSL, with a sub-TLV
                             tlv(0xE0, "private") +        // a custom type
                             tlv(0x7F, "");                // unassigned, empty
    struct Case {
        std::string header;
        std::string client;
    };
    // The longest header the spec allows: 536 bytes, a TLV filling what the 16-byte start,
    // the 12 bytes of addresses and its own 3-byte start leave.
    const std::string longest =
        v2_tcp4("192.0.2.72", 4072, tlv(0xEE, std::string(536 - 16 - 12 - 3, 'x')));
    BOOST_TEST_REQUIRE(longest.size() == 536u);
    const Case cases[] = {{v2_tcp4("192.0.2.70", 4070, tlvs), "192\\.0\\.2\\.70:4070"},
                          {v2_tcp6("2001:db8::71", 4071, tlvs), "\\[2001:db8::71\\]:4071"},
                          {longest, "192\\.0\\.2\\.72:4072"}};
    for (const Case& c : cases) {
        UniqueFd client = open_with(echod.port, c.header + "after the TLVs");
        const std::string via = via_of(client.get());
        expect_only(client.get(), "after the TLVs");
        echod.daemon.wait_for("info: msg=\"connection closed\" peer=" + c.client + " via=" + via +
                              " pid=\\d+ bytes_in=14 bytes_out=14 ");
    }
}

void a_balancer_over_ipv6_is_named_in_brackets(const std::string& mode)
{
    Echod echod(mode + "address = ::1\nproxy_protocol = v2\nproxy_trusted = ::1/128\n"
                       "proxy_timeout = 10s\nlog_level = debug\n");
    UniqueFd client = connect_tcp("::1", echod.port);
    send_all(client.get(), v2_tcp4("192.0.2.100", 4100) + "over IPv6");
    expect_only(client.get(), "over IPv6");
    echod.daemon.wait_for("info: msg=\"connection closed\" peer=192\\.0\\.2\\.100:4100 via=\\[::1\\]:" +
                          std::to_string(local_port(client.get())) + " pid=\\d+ bytes_in=9 ");
}

void a_refusal_flood_is_one_episode_not_a_line_per_connection(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\nproxy_trusted = 127.0.0.1\nproxy_timeout = 10s\n");
    constexpr int flood = 40;
    for (int i = 0; i < flood; ++i) {
        UniqueFd garbage = open_with(echod.port, "garbage " + std::to_string(i) + "\n");
        expect_unserved(garbage.get(), "garbage");
        UniqueFd outsider =
            open_with(echod.port, v2_tcp4("192.0.2.80", 4080) + "data", "127.0.0.5");
        expect_unserved(outsider.get(), "an untrusted peer");
    }
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=proxy_header refused=40 duration_ms=\\d+$");
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=proxy_trusted refused=40 duration_ms=\\d+$");
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=proxy_header") == 1u);
    BOOST_TEST(echod.daemon.count("notice: msg=\"limit reached\" limit=proxy_header peer=127\\.0\\.0\\.1"
                                  " why=\"not a PROXY header\" "
                                  "effect=\"further refusals are counted, not logged\"$") == 1u);
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=proxy_trusted") == 1u);
    BOOST_TEST(echod.daemon.count("notice: msg=\"limit reached\" limit=proxy_trusted "
                                  "peer=127\\.0\\.0\\.5 "
                                  "effect=\"further refusals are counted, not logged\"$") == 1u);
    BOOST_TEST(echod.daemon.count("(warning|error): ") == 0u, echod.daemon.log());
    BOOST_TEST(echod.daemon.count("connection (refused|closed)") == 0u);
    BOOST_TEST(status_shows(echod.daemon,
                            " refused=80 refused_untrusted=40 refused_bad_header=40 fork_failed="));
}

// --- 2. allow and deny -----------------------------------------------------------------

void allow_serves_only_the_clients_it_lists(const std::string& mode)
{
    Echod echod(mode + "allow = 127.0.0.2/32\nlog_level = debug\n");
    UniqueFd inside = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(inside.get(), "allowed");
    constexpr int outsiders = 5;
    for (int i = 0; i < outsiders; ++i) {
        UniqueFd outside = open_with(echod.port, "x", "127.0.0.3");
        expect_unserved(outside.get(), "127.0.0.3");
        echod.daemon.wait_for("debug: msg=\"connection refused\" peer=127\\.0\\.0\\.3:" +
                              std::to_string(local_port(outside.get())) + " reason=denied$");
    }
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=allow/deny peer=127\\.0\\.0\\.3 "
                          "effect=\"further refusals are counted, not logged\"$");
    const std::string cleared =
        echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=allow/deny refused=5 duration_ms=\\d+$");
    // It ends once no client was refused for a second.
    BOOST_TEST(std::stoll(cleared.substr(cleared.rfind('=') + 1)) >= 1000);
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=allow/deny") == 1u);
    BOOST_TEST(status_shows(echod.daemon, " refused=5 refused_denied=5 fork_failed=0 "));
    expect_echo(inside.get(), " and still served");
    UniqueFd again = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(again.get(), "allowed again");
}

void deny_wins_over_allow(const std::string& mode)
{
    Echod echod(mode + "allow = 127.0.0.0/8\ndeny = 127.0.0.3/32\nlog_level = debug\n");
    for (const char* source : {"127.0.0.2", "127.0.0.4"}) {
        UniqueFd client = connect_tcp("127.0.0.1", echod.port, source);
        expect_echo(client.get(), source);
    }
    UniqueFd denied = open_with(echod.port, "x", "127.0.0.3");
    expect_unserved(denied.get(), "127.0.0.3");
    echod.daemon.wait_for("debug: msg=\"connection refused\" peer=127\\.0\\.0\\.3:\\d+ reason=denied$");
}

void an_ipv6_client_is_outside_an_ipv4_allow_list(const std::string& mode)
{
    Echod echod(mode + "address = 127.0.0.1, ::1\nallow = 127.0.0.0/8\nlog_level = debug\n");
    UniqueFd v6 = connect_tcp("::1", echod.port);
    send_all(v6.get(), "x");
    expect_unserved(v6.get(), "::1");
    echod.daemon.wait_for("debug: msg=\"connection refused\" peer=\\[::1\\]:" +
                          std::to_string(local_port(v6.get())) + " reason=denied$");
    UniqueFd v4 = connect_tcp("127.0.0.1", echod.port);
    expect_echo(v4.get(), "IPv4 is allowed");
}

void a_reload_that_changes_the_lists_applies_to_new_connections_only(const std::string& mode)
{
    Echod echod(mode + "log_level = debug\n");
    UniqueFd before = connect_tcp("127.0.0.1", echod.port, "127.0.0.3");
    expect_echo(before.get(), "before the reload");
    const std::vector<pid_t> children = child_pids(echod.daemon.pid());
    std::size_t from = echod.daemon.line_count();
    echod.reload(with_loopback_defaults(mode + "log_level = debug\ndeny = 127.0.0.3/32\n"));
    echod.daemon.wait_for("notice: msg=\"reloaded\" ", 10s, from);
    // Prefork: only the spare serving `before` may be left of those with the old rules.
    BOOST_TEST_REQUIRE(wait_children_gone(echod.daemon.pid(), children, 1));
    UniqueFd after = open_with(echod.port, "x", "127.0.0.3");
    expect_unserved(after.get(), "127.0.0.3 after the reload");
    echod.daemon.wait_for("debug: msg=\"connection refused\" peer=127\\.0\\.0\\.3:" +
                          std::to_string(local_port(after.get())) + " reason=denied$");
    UniqueFd other = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(other.get(), "another client");
    expect_echo(before.get(), "still served after the reload");
    // And back: without the list, 127.0.0.3 is served again.
    const std::vector<pid_t> denying = child_pids(echod.daemon.pid());
    from = echod.daemon.line_count();
    echod.reload(with_loopback_defaults(mode + "log_level = debug\n"));
    echod.daemon.wait_for("notice: msg=\"reloaded\" ", 10s, from);
    BOOST_TEST_REQUIRE(wait_children_gone(echod.daemon.pid(), denying, 2));  // `before`, `other`
    UniqueFd welcome = connect_tcp("127.0.0.1", echod.port, "127.0.0.3");
    expect_echo(welcome.get(), "served again");
    const std::string peer = "127\\.0\\.0\\.3:" + std::to_string(local_port(before.get()));
    send_all(before.get(), "!");
    expect_only(before.get(), "!");
    echod.daemon.wait_for("info: msg=\"connection closed\" peer=" + peer + " pid=\\d+ bytes_in=47 "
                          "bytes_out=47 duration_ms=\\d+ reason=eof$");
}

void behind_a_balancer_the_lists_apply_to_the_client(const std::string& mode)
{
    // The balancer, 127.0.0.1, is in neither list: it is not the one they are about.
    Echod echod(mode + "proxy_protocol = v2\nallow = 192.0.2.0/24\ndeny = 192.0.2.66/32\n" +
                behind_balancer);
    UniqueFd inside = open_with(echod.port, v2_tcp4("192.0.2.7", 4007) + "allowed");
    expect_only(inside.get(), "allowed");
    UniqueFd outside = open_with(echod.port, v2_tcp4("198.51.100.7", 4008) + "outside");
    expect_unserved(outside.get(), "a client outside allow");
    echod.daemon.wait_for("debug: msg=\"connection refused\" peer=198\\.51\\.100\\.7:4008 via=" +
                          via_of(outside.get()) + " reason=denied$");
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=allow/deny peer=198\\.51\\.100\\.7 "
                          "effect=\"further refusals are counted, not logged\"$");
    UniqueFd denied = open_with(echod.port, v2_tcp4("192.0.2.66", 4009) + "denied");
    expect_unserved(denied.get(), "a denied client");
    echod.daemon.wait_for("debug: msg=\"connection refused\" peer=192\\.0\\.2\\.66:4009 via=" +
                          via_of(denied.get()) + " reason=denied$");
    // An IPv4-mapped client in a TCP6 header is the IPv4 client it maps.
    UniqueFd mapped = open_with(echod.port, v2_tcp6("::ffff:192.0.2.8", 4010) + "mapped");
    expect_only(mapped.get(), "mapped");
    UniqueFd mapped_outside = open_with(echod.port, v2_tcp6("::ffff:198.51.100.8", 4011) + "x");
    expect_unserved(mapped_outside.get(), "an IPv4-mapped client outside allow");
    // The balancer's own health check names no client.
    UniqueFd check = open_with(echod.port, v2_local() + "health");
    expect_only(check.get(), "health");
    BOOST_TEST(status_shows(echod.daemon, " refused=3 refused_denied=3 fork_failed=0 "));
}

// --- 3. rate_per_source ----------------------------------------------------------------

struct FloodResult {
    int served = 0;
    int refused = 0;
    int other = 0;
    std::vector<EchoOutcome> first;  // the first outcomes, in order
    Clock::time_point start;
    Clock::time_point end;
};

// One client at full speed: a connection after the other from `source`, each sending
// `prefix` and a byte, for `how_long`. No Boost.Test assertions: it runs in a thread.
FloodResult flood(std::uint16_t port, const std::string& source, const std::string& prefix,
                  std::chrono::milliseconds how_long)
{
    FloodResult result;
    result.start = Clock::now();
    const auto end = result.start + how_long;
    for (int i = 0; i < 1000000 && Clock::now() < end; ++i) {
        const EchoOutcome outcome = attempt_echo(source, port, prefix, "r");
        (outcome == EchoOutcome::served    ? result.served
         : outcome == EchoOutcome::refused ? result.refused
                                           : result.other)++;
        if (result.first.size() < 16) {
            result.first.push_back(outcome);
        }
    }
    result.end = Clock::now();
    return result;
}

struct RateClients {
    std::string flood_source;  // the connection's source address
    std::string flood_prefix;  // a PROXY header, or nothing
    std::string flood_client;  // the client as the log names it
    std::string probe_source;
    std::string probe_prefix;
    std::string probe_client;
};

// rate_per_source = 20, rate_burst = 10: a client that connects at full speed for 2 s gets
// about rate × 2 + burst connections served and the rest refused, while another client is
// served at once, its own burst in full.
void a_flood_gets_rate_and_burst_and_others_are_served(Echod& echod, const RateClients& c)
{
    constexpr int rate = 20;
    constexpr int burst = 10;
    FloodResult result;
    std::thread flooder(
        [&] { result = flood(echod.port, c.flood_source, c.flood_prefix, 2000ms); });
    Joined joined{flooder};
    // The flood has emptied its bucket.
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=rate_per_source rate_per_source=20 source=" +
                          literal(c.flood_client) + " effect=\"further connections from it are closed\"$");
    const auto probe_start = Clock::now();
    auto probe = [&] { return attempt_echo(c.probe_source, echod.port, c.probe_prefix, "p"); };
    const EchoOutcome first_probe = probe();
    const auto probe_took = Clock::now() - probe_start;
    int probes_served = first_probe == EchoOutcome::served ? 1 : 0;
    for (int i = 1; i < burst; ++i) {
        probes_served += probe() == EchoOutcome::served ? 1 : 0;
    }
    const auto probes_end = Clock::now();
    flooder.join();

    const double elapsed = std::chrono::duration<double>(result.end - result.start).count();
    const double most = burst + rate * elapsed;
    BOOST_TEST_MESSAGE("FIGURE " << c.flood_client << ": " << result.served << " served, "
                                 << result.refused << " refused, " << result.other
                                 << " neither in " << elapsed << " s (at most " << most
                                 << "); the other client's first connection echoed in "
                                 << std::chrono::duration_cast<std::chrono::microseconds>(
                                        probe_took).count()
                                 << " us");
    BOOST_TEST(result.other == 0);
    // The bucket starts full: the first `burst` connections are all served.
    BOOST_TEST_REQUIRE(result.first.size() >= static_cast<std::size_t>(burst));
    for (int i = 0; i < burst; ++i) {
        BOOST_TEST((result.first[i] == EchoOutcome::served),
                   "attempt " << i << ": " << echo_outcome_name(result.first[i]));
    }
    // The bucket (GCRA) serves n connections by the time it serves the nth only if
    // n <= burst + rate × (that time - the first's), and both happened within the flood:
    // this bound is exact, with no slack. Without a working limit, thousands get through.
    BOOST_TEST(result.served <= most);
    // Below it, the client loses tokens only where it paused for longer than a full bucket
    // lasts (burst / rate = 500 ms) and the fraction of a token left at the end: a quarter
    // off still fails at half the rate (30 of 50).
    BOOST_TEST(result.served >= 0.75 * most);
    BOOST_TEST(result.refused > 0);
    // The other client, during the flood: served at once, and its whole burst.
    BOOST_TEST((probes_end < result.end), "the probes outlasted the flood");
    BOOST_TEST((first_probe == EchoOutcome::served), echo_outcome_name(first_probe));
    BOOST_TEST((probe_took < 100ms),
               std::chrono::duration_cast<std::chrono::milliseconds>(probe_took).count()
                   << " ms");
    BOOST_TEST(probes_served == burst);
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=rate_per_source rate_per_source=20 source=" +
                                  literal(c.flood_client) + " ") == 1u);
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=rate_per_source rate_per_source=20 source=" +
                                  literal(c.probe_client) + " ") == 0u);
    // The daemon counted every refusal the client saw, and no other.
    BOOST_TEST(status_shows(echod.daemon, " refused=" + std::to_string(result.refused) +
                                              " refused_rate_per_source=" +
                                              std::to_string(result.refused) + " fork_failed="));
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=rate_per_source rate_per_source=20 source=" +
                          literal(c.flood_client) + " refused=" + std::to_string(result.refused) +
                          " duration_ms=\\d+$");
}

void rate_per_source_limits_a_flooding_client(const std::string& mode)
{
    Echod echod(mode + "rate_per_source = 20\nrate_burst = 10\nlog_level = notice\n");
    a_flood_gets_rate_and_burst_and_others_are_served(
        echod, {"127.0.0.2", "", "127.0.0.2", "127.0.0.3", "", "127.0.0.3"});
}

void rate_per_source_limits_each_client_behind_a_balancer(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\nproxy_trusted = 127.0.0.1\nrate_per_source = 20\n"
                       "rate_burst = 10\nlog_level = notice\n");
    a_flood_gets_rate_and_burst_and_others_are_served(
        echod, {"127.0.0.1", v2_tcp4("10.1.0.1", 1000), "10.1.0.1", "127.0.0.1",
                v2_tcp4("10.1.0.2", 1000), "10.1.0.2"});
}

void each_limit_of_a_source_is_an_episode_of_its_own(const std::string& mode)
{
    // A source held at max_per_source (one connection open) keeps connecting: each attempt
    // takes one of its 2 tokens, then it is over its rate too. The rate refusals begin an
    // episode of their own, and each episode counts its own refusals.
    Echod echod(mode + "max_per_source = 1\nrate_per_source = 1\nrate_burst = 2\n"
                       "log_level = debug\n");
    UniqueFd held = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(held.get(), "held");
    const std::string over_rate = "debug: msg=\"connection refused\" peer=127\\.0\\.0\\.2:\\d+ "
                                  "reason=rate_per_source$";
    for (int i = 0; i < 20 && echod.daemon.count(over_rate) == 0; ++i) {
        UniqueFd extra = open_with(echod.port, "x", "127.0.0.2");
        expect_unserved(extra.get(), "127.0.0.2 at its limits");
        echod.daemon.wait_for("debug: msg=\"connection refused\" peer=127\\.0\\.0\\.2:" +
                              std::to_string(local_port(extra.get())) + " ");
    }
    const std::size_t by_rate = echod.daemon.count(over_rate);
    const std::size_t by_count =
        echod.daemon.count("debug: msg=\"connection refused\" .* reason=max_per_source$");
    BOOST_TEST_REQUIRE(by_rate > 0u);
    BOOST_TEST(by_count > 0u);
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=max_per_source max_per_source=1 source=127\\.0\\.0\\.2 "
                          "effect=\"further connections from it are closed\"$");
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=rate_per_source rate_per_source=1 source=127\\.0\\.0\\.2 "
                          "effect=\"further connections from it are closed\"$", 2s);
    held.reset();
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=max_per_source max_per_source=1 source=127\\.0\\.0\\.2 "
                          "refused=" + std::to_string(by_count) + " duration_ms=\\d+$");
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=rate_per_source rate_per_source=1 source=127\\.0\\.0\\.2 "
                          "refused=" + std::to_string(by_rate) + " duration_ms=\\d+$");
}

// --- 4. counters -----------------------------------------------------------------------

void the_status_line_counts_each_refusal_by_reason(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\nmax_per_source = 1\nmax_per_network = 0\n"
                       "deny = 10.9.9.0/24\nrate_per_source = 1\nrate_burst = 3\n" +
                behind_balancer);
    // Untrusted: 2.
    for (int i = 0; i < 2; ++i) {
        UniqueFd outsider = open_with(echod.port, v2_tcp4("10.9.0.9", 4000) + "x", "127.0.0.5");
        expect_unserved(outsider.get(), "an untrusted peer");
    }
    // A bad header: 3.
    for (int i = 0; i < 3; ++i) {
        UniqueFd garbage = open_with(echod.port, "garbage\n");
        expect_unserved(garbage.get(), "garbage");
    }
    // Denied: 1.
    UniqueFd denied = open_with(echod.port, v2_tcp4("10.9.9.1", 4000) + "x");
    expect_unserved(denied.get(), "a denied client");
    // max_per_source: 2 (each takes one of the client's 3 tokens first).
    UniqueFd held = open_with(echod.port, v2_tcp4("10.9.0.2", 4000) + "held");
    BOOST_TEST(recv_exact(held.get(), 4) == "held");
    for (int i = 0; i < 2; ++i) {
        UniqueFd extra = open_with(echod.port, v2_tcp4("10.9.0.2", 4001) + "x");
        expect_unserved(extra.get(), "a client at max_per_source");
    }
    // rate_per_source: 3 served one after the other, then 2 refused, all within a second
    // (one token a second, 3 at once).
    for (int i = 0; i < 3; ++i) {
        UniqueFd served = open_with(echod.port, v2_tcp4("10.9.0.1", 4000) + "r");
        expect_only(served.get(), "r");
    }
    for (int i = 0; i < 2; ++i) {
        UniqueFd fast = open_with(echod.port, v2_tcp4("10.9.0.1", 4000) + "x");
        expect_unserved(fast.get(), "a client over its rate");
    }
    echod.daemon.wait_count("debug: msg=\"connection refused\" ", 10);
    BOOST_TEST(status_shows(echod.daemon,
                            " refused=10 refused_max_per_source=2 refused_denied=1 "
                            "refused_rate_per_source=2 refused_untrusted=2 refused_bad_header=3 "
                            "fork_failed=0 "));
    for (const char* reason : {"untrusted", "bad_header", "denied", "max_per_source",
                               "rate_per_source"}) {
        BOOST_TEST_CONTEXT(reason)
        {
            const std::size_t expected = std::string(reason) == "denied" ? 1
                                         : std::string(reason) == "bad_header" ? 3
                                                                                : 2;
            BOOST_TEST(echod.daemon.count(std::string("debug: msg=\"connection refused\" .* reason=") +
                                          reason + "( |$)") == expected);
        }
    }
}

}  // namespace

// Each case once per mode; the second form with a Boost.Test decorator.
#define IN_BOTH_MODES(name)                                  \
    BOOST_AUTO_TEST_CASE(fork_##name) { name(fork_mode); } \
    BOOST_AUTO_TEST_CASE(prefork_##name) { name(prefork_mode); }
#define IN_BOTH_MODES_IF(name, decorator)                                \
    BOOST_AUTO_TEST_CASE(fork_##name, decorator) { name(fork_mode); } \
    BOOST_AUTO_TEST_CASE(prefork_##name, decorator) { name(prefork_mode); }

IN_BOTH_MODES(a_v2_header_names_the_client_and_only_the_data_after_it_is_echoed)
IN_BOTH_MODES(max_per_source_counts_the_client_behind_the_balancer)
IN_BOTH_MODES(a_v1_header_names_the_client)
IN_BOTH_MODES(proxy_protocol_takes_only_the_versions_it_names)
IN_BOTH_MODES(a_header_split_across_writes_is_put_together)
IN_BOTH_MODES(a_header_that_never_completes_is_closed_at_proxy_timeout)
IN_BOTH_MODES(a_slow_header_does_not_hold_up_other_clients)
IN_BOTH_MODES(a_malformed_header_is_closed_at_once)
IN_BOTH_MODES(a_client_without_a_header_is_never_echoed)
IN_BOTH_MODES(a_peer_outside_proxy_trusted_is_closed_at_once)
IN_BOTH_MODES(a_local_connection_is_echoed_and_counted_against_no_one)
IN_BOTH_MODES(without_proxy_protocol_a_header_is_just_data)
IN_BOTH_MODES(unknown_tlvs_after_the_addresses_are_skipped)
IN_BOTH_MODES_IF(a_balancer_over_ipv6_is_named_in_brackets,
                 *boost::unit_test::precondition(HostHasIpv6()))
IN_BOTH_MODES(a_refusal_flood_is_one_episode_not_a_line_per_connection)
IN_BOTH_MODES(allow_serves_only_the_clients_it_lists)
IN_BOTH_MODES(deny_wins_over_allow)
IN_BOTH_MODES_IF(an_ipv6_client_is_outside_an_ipv4_allow_list,
                 *boost::unit_test::precondition(HostHasIpv6()))
IN_BOTH_MODES(a_reload_that_changes_the_lists_applies_to_new_connections_only)
IN_BOTH_MODES(behind_a_balancer_the_lists_apply_to_the_client)
IN_BOTH_MODES(rate_per_source_limits_a_flooding_client)
IN_BOTH_MODES(rate_per_source_limits_each_client_behind_a_balancer)
IN_BOTH_MODES(each_limit_of_a_source_is_an_episode_of_its_own)
IN_BOTH_MODES(the_status_line_counts_each_refusal_by_reason)
