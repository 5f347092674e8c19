// The UDP reflection guard (child/udp_guard.hpp): which sources and destinations a datagram
// may have and still be answered, at the edges of each range, in both families and in the
// IPv4-mapped form a dual-stack socket reports.
#define BOOST_TEST_MODULE udp_guard
#include "child/udp_guard.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>

#include <string>

using echod::Endpoint;

namespace {

Endpoint endpoint(const std::string& address, std::uint16_t port = 40000)
{
    in_addr ipv4{};
    if (::inet_pton(AF_INET, address.c_str(), &ipv4) == 1) {
        return echod::make_endpoint(AF_INET, &ipv4, port);
    }
    in6_addr ipv6{};
    BOOST_TEST_REQUIRE(::inet_pton(AF_INET6, address.c_str(), &ipv6) == 1, address);
    return echod::make_endpoint(AF_INET6, &ipv6, port);
}

bool answerable(const std::string& address, std::uint16_t port = 40000)
{
    return echod::udp_source_answerable(endpoint(address, port));
}

}  // namespace

BOOST_AUTO_TEST_CASE(ordinary_hosts_on_high_ports_are_answered)
{
    for (const char* address : {"127.0.0.1", "192.0.2.1", "10.0.0.0", "223.255.255.255",
                                "240.0.0.1", "1.0.0.0", "::1", "2001:db8::1", "fe80::1",
                                "::ffff:192.0.2.1", "::ffff:127.0.0.1"}) {
        BOOST_TEST(answerable(address), address);
    }
}

BOOST_AUTO_TEST_CASE(ports_below_1024_and_port_0_are_not_answered)
{
    for (const char* address : {"127.0.0.1", "::1", "::ffff:192.0.2.1"}) {
        BOOST_TEST(!answerable(address, 0), address);
        BOOST_TEST(!answerable(address, 1), address);
        BOOST_TEST(!answerable(address, 7), address);     // echo itself: a loop
        BOOST_TEST(!answerable(address, 19), address);    // chargen
        BOOST_TEST(!answerable(address, 53), address);
        BOOST_TEST(!answerable(address, 123), address);
        BOOST_TEST(!answerable(address, 1023), address);
        BOOST_TEST(answerable(address, 1024), address);
        BOOST_TEST(answerable(address, 65535), address);
    }
}

BOOST_AUTO_TEST_CASE(well_known_services_above_1023_are_not_answered)
{
    for (const char* address : {"127.0.0.1", "::1", "::ffff:192.0.2.1"}) {
        for (int port : {1434, 1900, 3283, 3702, 5060, 5353, 5683, 10001, 11211}) {
            BOOST_TEST(!answerable(address, static_cast<std::uint16_t>(port)), address << " port " << port);
            BOOST_TEST(answerable(address, static_cast<std::uint16_t>(port + 1)),
                       address << " port " << port + 1);
        }
    }
}

BOOST_AUTO_TEST_CASE(ipv4_this_network_broadcast_and_multicast_are_not_answered)
{
    for (const char* address : {"0.0.0.0", "0.0.0.1", "0.255.255.255", "255.255.255.255",
                                "224.0.0.0", "224.0.0.1", "239.255.255.255"}) {
        BOOST_TEST(!answerable(address), address);
        BOOST_TEST(!answerable("::ffff:" + std::string(address)), address);
    }
    // The edges just outside each range.
    for (const char* address : {"1.0.0.0", "223.255.255.255", "240.0.0.0", "255.255.255.254"}) {
        BOOST_TEST(answerable(address), address);
        BOOST_TEST(answerable("::ffff:" + std::string(address)), address);
    }
}

BOOST_AUTO_TEST_CASE(ipv6_unspecified_and_multicast_are_not_answered)
{
    for (const char* address :
         {"::", "ff00::", "ff02::1", "ff05::1:3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
        BOOST_TEST(!answerable(address), address);
    }
    for (const char* address : {"::2", "feff:ffff::1", "fec0::1", "::ffff:0:0:1"}) {
        BOOST_TEST(answerable(address), address);
    }
}

BOOST_AUTO_TEST_CASE(is_one_host_ignores_the_port_and_refuses_other_families)
{
    BOOST_TEST(echod::is_one_host(endpoint("192.0.2.1", 0)));
    BOOST_TEST(echod::is_one_host(endpoint("::1", 7)));
    BOOST_TEST(!echod::is_one_host(endpoint("255.255.255.255", 50000)));
    BOOST_TEST(!echod::is_one_host(Endpoint{}));  // no address at all
    Endpoint unix_socket;
    unix_socket.storage.ss_family = AF_UNIX;
    unix_socket.length = sizeof(sa_family_t);
    BOOST_TEST(!echod::is_one_host(unix_socket));
    BOOST_TEST(!echod::udp_source_answerable(unix_socket));
}

// A source on the port the datagram came to is echod itself (a forged source) or another
// echo server on the same port: answering it starts a loop.
BOOST_AUTO_TEST_CASE(a_source_on_the_local_port_is_recognised)
{
    for (const char* address : {"127.0.0.1", "192.0.2.1", "::1", "::ffff:192.0.2.1"}) {
        BOOST_TEST(echod::udp_source_is_own_port(endpoint(address, 7007), 7007), address);
        BOOST_TEST(!echod::udp_source_is_own_port(endpoint(address, 7008), 7007), address);
        BOOST_TEST(!echod::udp_source_is_own_port(endpoint(address, 7006), 7007), address);
    }
}
