// The PROXY v2 header echod-bench --proxy-v2 sends (bench/bench_proxy_header.cpp) against
// the spec's bytes and read back by echod's own parser, over IPv4 and IPv6; and without
// the option, no header.
#define BOOST_TEST_MODULE bench_proxy_header
#include "../bench/bench_proxy_header.hpp"
#include "common/proxy_header.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string>

using namespace echod;

namespace {

sockaddr_storage address(const std::string& host, std::uint16_t port)
{
    const std::optional<Endpoint> endpoint = parse_endpoint(host, port);
    BOOST_TEST_REQUIRE(endpoint.has_value(), host);
    return endpoint->storage;
}

// Builds the header for source -> destination, checks its fixed part byte for byte, and
// parses it back, followed by a client's bytes as on the wire.
void check_round_trip(const std::string& source_host, const std::string& destination_host,
                      const std::string& source, const std::string& destination,
                      char family, std::size_t length)
{
    const bench::ProxyV2Header header(address(source_host, 40000), address(destination_host, 7));
    const std::string bytes(header.bytes());
    BOOST_TEST(bytes.size() == length);
    const std::string fixed = std::string("\r\n\r\n\0\r\nQUIT\n\x21", 13) + family +
                              '\0' + static_cast<char>(length - 16);
    BOOST_TEST(bytes.substr(0, 16) == fixed);
    const std::string wire = bytes + "client bytes";
    const ProxyParse parsed = parse_proxy_header(wire.data(), wire.size(), ProxyVersion::v2);
    BOOST_TEST_REQUIRE((parsed.status == ProxyParse::Status::complete), parsed.error);
    BOOST_TEST(parsed.header.length == length);
    BOOST_TEST((parsed.header.command == ProxyHeader::Command::proxy));
    BOOST_TEST_REQUIRE(parsed.header.source.has_value());
    BOOST_TEST_REQUIRE(parsed.header.destination.has_value());
    BOOST_TEST(format_endpoint(*parsed.header.source) == source);
    BOOST_TEST(format_endpoint(*parsed.header.destination) == destination);
}

}  // namespace

BOOST_AUTO_TEST_CASE(tcp_over_ipv4)
{
    check_round_trip("127.0.0.2", "127.0.0.1", "127.0.0.2:40000", "127.0.0.1:7", 0x11, 28);
}

BOOST_AUTO_TEST_CASE(tcp_over_ipv6)
{
    check_round_trip("2001:db8::1", "2001:db8::2", "[2001:db8::1]:40000", "[2001:db8::2]:7",
                     0x21, 52);
}

// Without --proxy-v2 nothing is sent first, and the socket is not even looked at (fd -1
// would make getsockname fail and throw).
BOOST_AUTO_TEST_CASE(no_header_without_the_option)
{
    BOOST_TEST(bench::ProxyV2Header().bytes().empty());
    const bench::Options options;
    BOOST_TEST(bench::connection_header(options, -1).bytes().empty());
}
