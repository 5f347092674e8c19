// Numeric address parsing, printing, and the unit max_per_source counts in.
#define BOOST_TEST_MODULE address
#include "os/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <boost/test/unit_test.hpp>

using namespace echod;

namespace {

SourceKey key_of(const std::string& address)
{
    const auto endpoint = parse_endpoint(address, 1234);
    BOOST_TEST_REQUIRE(endpoint.has_value(), address);
    return source_key(*endpoint);
}

// A link-local peer as accept() gives it: the address and the interface it came in on.
SourceKey link_local_key(const char* address, std::uint32_t scope)
{
    Endpoint peer;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(40000);
    BOOST_TEST_REQUIRE(::inet_pton(AF_INET6, address, &in6->sin6_addr) == 1);
    in6->sin6_scope_id = scope;
    peer.length = sizeof *in6;
    return source_key(peer);
}

}  // namespace

BOOST_AUTO_TEST_CASE(only_numeric_addresses_parse)
{
    BOOST_TEST(parse_endpoint("127.0.0.1", 7).has_value());
    BOOST_TEST(parse_endpoint("::1", 7).has_value());
    BOOST_TEST(parse_endpoint("[::1]", 7).has_value());
    BOOST_TEST(!parse_endpoint("localhost", 7).has_value());
    BOOST_TEST(!parse_endpoint("", 7).has_value());
    BOOST_TEST(!parse_endpoint("1.2.3.4.5", 7).has_value());
}

// inet_pton's rules, not inet_aton's (which getaddrinfo applies even with AI_NUMERICHOST):
// "127.0.0.010" was 127.0.0.8, "127.1" and "2130706433" were 127.0.0.1, "1" was 0.0.0.1.
BOOST_AUTO_TEST_CASE(ipv4_is_a_dotted_quad_only)
{
    for (const char* legacy : {"127.0.0.010", "127.1", "127.0.1", "2130706433", "1", "0x7f.0.0.1",
                               "0177.0.0.1", "127.0.0.1 ", " 127.0.0.1", "256.0.0.1"}) {
        BOOST_TEST(!parse_endpoint(legacy, 7).has_value(), legacy);
    }
    BOOST_TEST(format_endpoint(*parse_endpoint("127.0.0.8", 7)) == "127.0.0.8:7");
    BOOST_TEST(format_endpoint(*parse_endpoint("0.0.0.1", 7)) == "0.0.0.1:7");
    BOOST_TEST(format_endpoint(*parse_endpoint("::ffff:127.0.0.1", 7)) == "[::ffff:127.0.0.1]:7");
}

BOOST_AUTO_TEST_CASE(a_scope_names_an_interface_of_this_host)
{
    const auto by_name = parse_endpoint("fe80::1%lo", 7);
    BOOST_TEST_REQUIRE(by_name.has_value());
    BOOST_TEST(is_link_local(*by_name));
    const unsigned lo = ::if_nametoindex("lo");
    BOOST_TEST(scope_id(*by_name) == lo);
    BOOST_TEST(format_host(*by_name) == "fe80::1%lo");
    BOOST_TEST(scope_id(*parse_endpoint("[fe80::1%" + std::to_string(lo) + "]", 7)) == lo);
    BOOST_TEST(!parse_endpoint("fe80::1%no-such-interface", 7).has_value());
    BOOST_TEST(!parse_endpoint("fe80::1%4000000000", 7).has_value());
    BOOST_TEST(!parse_endpoint("fe80::1%", 7).has_value());
    BOOST_TEST(!parse_endpoint("127.0.0.1%lo", 7).has_value());
    BOOST_TEST(scope_id(*parse_endpoint("fe80::1", 7)) == 0u);
    BOOST_TEST(is_wildcard(*parse_endpoint("0.0.0.0", 7)));
    BOOST_TEST(is_wildcard(*parse_endpoint("::", 7)));
    BOOST_TEST(!is_wildcard(*parse_endpoint("::1", 7)));
    BOOST_TEST(is_v4_mapped(*parse_endpoint("::ffff:10.0.0.1", 7)));
    BOOST_TEST(!is_v4_mapped(*parse_endpoint("10.0.0.1", 7)));
}

BOOST_AUTO_TEST_CASE(endpoints_print_with_brackets_for_ipv6)
{
    BOOST_TEST(format_endpoint(*parse_endpoint("127.0.0.1", 7)) == "127.0.0.1:7");
    BOOST_TEST(format_endpoint(*parse_endpoint("::1", 7007)) == "[::1]:7007");
    BOOST_TEST(format_host(*parse_endpoint("2001:db8::5", 7)) == "2001:db8::5");
}

BOOST_AUTO_TEST_CASE(sources_are_ipv4_addresses_and_ipv6_slash_64s)
{
    BOOST_TEST((key_of("192.0.2.1") == key_of("192.0.2.1")));
    BOOST_TEST(!(key_of("192.0.2.1") == key_of("192.0.2.2")));
    BOOST_TEST((key_of("2001:db8:1:2::1") == key_of("2001:db8:1:2:ffff::9")));  // same /64
    BOOST_TEST(!(key_of("2001:db8:1:2::1") == key_of("2001:db8:1:3::1")));
    BOOST_TEST((key_of("::ffff:192.0.2.1") == key_of("192.0.2.1")));  // IPv4-mapped
    BOOST_TEST(!(key_of("::c000:201") == key_of("192.0.2.1")));  // not mapped: IPv6
    BOOST_TEST(SourceKeyHash{}(key_of("2001:db8:1:2::1")) == SourceKeyHash{}(key_of("2001:db8:1:2::7")));
}

// fe80::/64 is on every link: as a /64, every link-local peer on every interface was one
// source for max_per_source. Each is its own, by whole address and interface.
BOOST_AUTO_TEST_CASE(link_local_sources_are_whole_addresses_on_their_interface)
{
    BOOST_TEST((link_local_key("fe80::1", 2) == link_local_key("fe80::1", 2)));
    BOOST_TEST(!(link_local_key("fe80::1", 2) == link_local_key("fe80::2", 2)));
    BOOST_TEST(!(link_local_key("fe80::1", 2) == link_local_key("fe80::1", 3)));
    BOOST_TEST(!(link_local_key("fe80::a:b:c:d", 2) == link_local_key("fe80::a:b:c:e", 2)));
    BOOST_TEST(SourceKeyHash{}(link_local_key("fe80::1", 2)) !=
               SourceKeyHash{}(link_local_key("fe80::2", 2)));
    BOOST_TEST(link_local_key("fe80::1", 2).bytes[0] != key_of("2001:db8::1").bytes[0]);
    // Other IPv6 peers still count by /64.
    BOOST_TEST((key_of("2001:db8:1:2::1") == key_of("2001:db8:1:2::2")));
}
