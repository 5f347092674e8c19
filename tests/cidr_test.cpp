// Address ranges (CIDR): parsing, matching peers, lists and their canonical text.
#define BOOST_TEST_MODULE cidr
#include "os/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <random>

using namespace echod;

namespace {

Endpoint peer(const std::string& address)
{
    const auto endpoint = parse_endpoint(address, 40000);
    BOOST_TEST_REQUIRE(endpoint.has_value(), address);
    return *endpoint;
}

bool in(const std::string& list, const std::string& address)
{
    return CidrList::parse(list).contains(peer(address));
}

// The message parse_cidr throws for `text`, or "" if it parses.
std::string error_of(const std::string& text)
{
    try {
        parse_cidr(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

std::string list_error_of(const std::string& text)
{
    try {
        CidrList::parse(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(ranges_parse_to_family_address_and_prefix)
{
    const Cidr v4 = parse_cidr("198.18.0.0/15");
    BOOST_TEST(v4.family == AF_INET);
    BOOST_TEST(v4.prefix == 15u);
    BOOST_TEST((v4.address == std::array<std::uint8_t, 16>{198, 18}));
    const Cidr v6 = parse_cidr("2001:DB8:8000:0::/33");
    BOOST_TEST(v6.family == AF_INET6);
    BOOST_TEST(v6.prefix == 33u);
    BOOST_TEST((v6.address == std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0x80}));
    BOOST_TEST(format_cidr(v6) == "2001:db8:8000::/33");
    // An address alone is one host.
    BOOST_TEST(parse_cidr("192.0.2.7").prefix == 32u);
    BOOST_TEST(parse_cidr("2001:db8::7").prefix == 128u);
    BOOST_TEST(format_cidr(parse_cidr("0.0.0.0/0")) == "0.0.0.0/0");
    BOOST_TEST(format_cidr(parse_cidr("::/0")) == "::/0");
}

// An IPv6 range inside ::ffff:0:0/96 is the IPv4 range it stands for; one that reaches
// outside it stays IPv6.
BOOST_AUTO_TEST_CASE(ipv4_mapped_ranges_are_ipv4_ranges)
{
    BOOST_TEST((parse_cidr("::ffff:192.0.2.0/120") == parse_cidr("192.0.2.0/24")));
    BOOST_TEST((parse_cidr("::ffff:192.0.2.1") == parse_cidr("192.0.2.1/32")));
    BOOST_TEST((parse_cidr("::ffff:0:0/96") == parse_cidr("0.0.0.0/0")));
    BOOST_TEST(parse_cidr("::fffe:0:0/95").family == AF_INET6);
    BOOST_TEST(parse_cidr("::c000:200/120").family == AF_INET6);  // IPv4-compatible: not mapped
}

BOOST_AUTO_TEST_CASE(bad_ranges_are_refused_each_with_its_reason)
{
    BOOST_TEST(error_of("") == "'': empty; expected an address or a range such as 192.0.2.0/24");
    BOOST_TEST(error_of("localhost/8") ==
               "'localhost/8': not a numeric IPv4 or IPv6 address (names are not looked up; "
               "IPv4 as a dotted quad such as 192.0.2.0)");
    BOOST_TEST(error_of("10.0.0.0/33") ==
               "'10.0.0.0/33': the prefix length 33 is more than 32 (IPv4)");
    BOOST_TEST(error_of("::/129") == "'::/129': the prefix length 129 is more than 128 (IPv6)");
    BOOST_TEST(error_of("10.0.0.0/08") == "'10.0.0.0/08': the prefix length 08 has a leading zero");
    BOOST_TEST(error_of("10.0.0.0/+8") ==
               "'10.0.0.0/+8': the prefix length '+8' is not a decimal number");
    BOOST_TEST(error_of("10.0.0.0/") == "'10.0.0.0/': no prefix length after the slash");
    BOOST_TEST(error_of("10.0.0.0 /8") == "'10.0.0.0 /8': white space inside a range");
    BOOST_TEST(error_of("fe80::/64%eth0") ==
               "'fe80::/64%eth0': the prefix length '64%eth0' is not a decimal number");
    BOOST_TEST(error_of("fe80::1%eth0") ==
               "'fe80::1%eth0': a zone (%eth0) cannot be given: a range holds its addresses on "
               "every interface");
    BOOST_TEST(error_of(std::string("10.0.0.1\0/8", 11)) ==
               "'10.0.0.1\\x00/8': not a numeric IPv4 or IPv6 address (names are not looked up; "
               "IPv4 as a dotted quad such as 192.0.2.0)");
    // Long text is cut in the message.
    BOOST_TEST(error_of(std::string(100, '1')).substr(0, 71) ==
               "'" + std::string(64, '1') + "...': ");
    for (const char* bad : {"127.1/8", "10.0.0.010", "0x7f.0.0.1", "1.2.3.4.5", "/8", "::1::/64",
                            "10.0.0.0/8/8", "10.0.0.0/99999999999999999999", "10.0.0.0/-1",
                            "[::1]/128", " 10.0.0.1", "2001:db8::/0x20"}) {
        BOOST_TEST(error_of(bad).rfind(std::string("'") + bad + "': ", 0) == 0u, bad);
    }
    BOOST_TEST(error_of("10.0.0.1\t") == "'10.0.0.1\\x09': white space inside a range");
    BOOST_TEST(error_of("0.0.0.0/0").empty());
    BOOST_TEST(error_of("10.0.0.0/0008").find("leading zero") != std::string::npos);
}

// As `ip route` does: a bit set after the prefix is a typo for a host or for a network.
BOOST_AUTO_TEST_CASE(bits_after_the_prefix_are_an_error_that_offers_both_readings)
{
    BOOST_TEST(error_of("192.0.2.1/24") ==
               "'192.0.2.1/24': bits are set after the first 24; write 192.0.2.0/24 for the "
               "network, or 192.0.2.1/32 for the one host");
    BOOST_TEST(error_of("2001:db8::1/64") ==
               "'2001:db8::1/64': bits are set after the first 64; write 2001:db8::/64 for the "
               "network, or 2001:db8::1/128 for the one host");
    BOOST_TEST(error_of("198.18.0.0/15").empty());
    BOOST_TEST(!error_of("198.19.0.0/15").empty());  // the bit just after the prefix
    BOOST_TEST(!error_of("198.18.0.0/14").empty());
    BOOST_TEST(!error_of("1.0.0.0/0").empty());
    BOOST_TEST(!error_of("::1/127").empty());
    BOOST_TEST(error_of("::1/128").empty());
}

BOOST_AUTO_TEST_CASE(ipv4_ranges_hold_their_first_and_last_address_and_nothing_beyond)
{
    const std::string list = "198.18.0.0/15";
    BOOST_TEST(!in(list, "198.17.255.255"));
    BOOST_TEST(in(list, "198.18.0.0"));
    BOOST_TEST(in(list, "198.19.255.255"));
    BOOST_TEST(!in(list, "198.20.0.0"));
    BOOST_TEST(in("192.0.2.0/24", "192.0.2.255"));
    BOOST_TEST(!in("192.0.2.0/24", "192.0.3.0"));
    BOOST_TEST(in("192.0.2.7/32", "192.0.2.7"));
    BOOST_TEST(!in("192.0.2.7/32", "192.0.2.6"));
    BOOST_TEST(!in("192.0.2.7/32", "192.0.2.8"));
    BOOST_TEST(in("192.0.2.7", "192.0.2.7"));
    BOOST_TEST(in("0.0.0.0/0", "0.0.0.0"));
    BOOST_TEST(in("0.0.0.0/0", "255.255.255.255"));
    BOOST_TEST(!in("0.0.0.0/0", "::"));
    BOOST_TEST(!in("0.0.0.0/0", "::1"));
}

BOOST_AUTO_TEST_CASE(ipv6_ranges_hold_their_first_and_last_address_and_nothing_beyond)
{
    const std::string list = "2001:db8:8000::/33";
    BOOST_TEST(!in(list, "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"));
    BOOST_TEST(in(list, "2001:db8:8000::"));
    BOOST_TEST(in(list, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    BOOST_TEST(!in(list, "2001:db9::"));
    BOOST_TEST(in("2001:db8::/127", "2001:db8::1"));
    BOOST_TEST(!in("2001:db8::/127", "2001:db8::2"));
    BOOST_TEST(in("2001:db8::5/128", "2001:db8::5"));
    BOOST_TEST(!in("2001:db8::5/128", "2001:db8::4"));
    BOOST_TEST(!in("2001:db8::5/128", "2001:db8::6"));
    BOOST_TEST(in("::/0", "::"));
    BOOST_TEST(in("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    BOOST_TEST(!in("::/0", "0.0.0.0"));
    BOOST_TEST(!in("::/0", "192.0.2.1"));
}

// A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: the same client, the same
// answer.
BOOST_AUTO_TEST_CASE(an_ipv4_mapped_peer_is_its_ipv4_address)
{
    BOOST_TEST(in("192.0.2.0/24", "::ffff:192.0.2.1"));
    BOOST_TEST(!in("192.0.2.0/24", "::ffff:192.0.3.1"));
    BOOST_TEST(in("::ffff:0:0/96", "::ffff:192.0.2.1"));
    BOOST_TEST(in("::ffff:0:0/96", "192.0.2.1"));
    BOOST_TEST(in("::ffff:192.0.2.0/120", "192.0.2.255"));
    BOOST_TEST(!in("::ffff:192.0.2.0/120", "192.0.3.0"));
    BOOST_TEST(in("0.0.0.0/0", "::ffff:0.0.0.0"));
    // IPv6 ranges are for IPv6 peers: not even ::/0 takes a mapped one.
    BOOST_TEST(!in("::/0", "::ffff:192.0.2.1"));
    BOOST_TEST(!in("::/64", "::ffff:192.0.2.1"));
    // ::c000:201 (IPv4-compatible, deprecated) is an IPv6 address, not 192.0.2.1.
    BOOST_TEST(!in("192.0.2.0/24", "::c000:201"));
    BOOST_TEST(in("::/64", "::c000:201"));
}

BOOST_AUTO_TEST_CASE(link_local_peers_match_on_any_interface_and_other_families_never)
{
    Endpoint link_local;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&link_local.storage);
    in6->sin6_family = AF_INET6;
    BOOST_TEST_REQUIRE(::inet_pton(AF_INET6, "fe80::1", &in6->sin6_addr) == 1);
    in6->sin6_scope_id = 7;
    link_local.length = sizeof *in6;
    BOOST_TEST(CidrList::parse("fe80::/10").contains(link_local));
    BOOST_TEST(CidrList::parse("fe80::1").contains(link_local));
    BOOST_TEST(!CidrList::parse("fe80::2").contains(link_local));

    Endpoint unix_peer;
    unix_peer.storage.ss_family = AF_UNIX;
    unix_peer.length = sizeof(sockaddr_un);
    BOOST_TEST(!CidrList::parse("0.0.0.0/0, ::/0").contains(unix_peer));
    BOOST_TEST(!CidrList{}.contains(peer("192.0.2.1")));
}

BOOST_AUTO_TEST_CASE(lists_take_spaces_around_items_but_no_empty_item)
{
    const CidrList list = CidrList::parse(" 192.0.2.0/24 ,\t2001:db8::/32,10.0.0.1  ");
    BOOST_TEST(list.entries().size() == 3u);
    BOOST_TEST(list.format() == "192.0.2.0/24, 2001:db8::/32, 10.0.0.1/32");
    BOOST_TEST(list.contains(peer("10.0.0.1")));
    BOOST_TEST(!list.contains(peer("10.0.0.2")));
    BOOST_TEST(list.contains(peer("2001:db8:ffff::1")));
    BOOST_TEST(CidrList::parse("").empty());
    BOOST_TEST(CidrList::parse(" \t ").empty());
    BOOST_TEST(!CidrList::parse("::1").empty());
    BOOST_TEST(list_error_of("10.0.0.0/8,,11.0.0.0/8") == "item 2 is empty (a comma too many?)");
    BOOST_TEST(list_error_of("10.0.0.0/8, ") == "item 2 is empty (a comma too many?)");
    BOOST_TEST(list_error_of("10.0.0.0/8,") == "item 2 is empty (a comma too many?)");
    BOOST_TEST(list_error_of(",10.0.0.0/8") == "item 1 is empty (a comma too many?)");
    BOOST_TEST(list_error_of(",") == "item 1 is empty (a comma too many?)");
    BOOST_TEST(list_error_of("10.0.0.0/8, 11.0.0.0/8, 12.0.0.1/8") ==
               "item 3, '12.0.0.1/8': bits are set after the first 8; write 12.0.0.0/8 for the "
               "network, or 12.0.0.1/32 for the one host");
    BOOST_TEST(list_error_of("10.0.0.0/8 11.0.0.0/8") ==
               "item 1, '10.0.0.0/8 11.0.0.0/8': white space inside a range");
}

BOOST_AUTO_TEST_CASE(a_repeated_range_is_kept_once_where_it_first_stands)
{
    const CidrList list =
        CidrList::parse("10.0.0.0/8, 2001:db8::/32, 10.0.0.0/8, ::ffff:10.0.0.0/104, "
                        "2001:DB8:0::/32, 10.1.0.0/16");
    BOOST_TEST(list.format() == "10.0.0.0/8, 2001:db8::/32, 10.1.0.0/16");
}

BOOST_AUTO_TEST_CASE(format_is_canonical_and_reads_back_to_the_same_list)
{
    const std::string written =
        "2001:0DB8:0000::/48,::ffff:192.0.2.0/120, 0.0.0.0/0 ,::/0,fe80::1,198.51.100.7";
    const CidrList list = CidrList::parse(written);
    const std::string canonical =
        "2001:db8::/48, 192.0.2.0/24, 0.0.0.0/0, ::/0, fe80::1/128, 198.51.100.7/32";
    BOOST_TEST(list.format() == canonical);
    const CidrList again = CidrList::parse(list.format());
    BOOST_TEST(again.format() == canonical);
    BOOST_TEST((again.entries() == list.entries()));
    BOOST_TEST(CidrList{}.format() == "");
}

// Nested, overlapping and adjacent ranges are merged for the search; what each one holds
// must not change.
BOOST_AUTO_TEST_CASE(nested_and_neighbouring_ranges_each_hold_what_they_should)
{
    const CidrList list =
        CidrList::parse("10.1.0.0/16, 10.0.0.0/8, 10.255.255.255, 11.0.0.0/8, 9.255.255.255, "
                        "13.0.0.0/8, 2001:db8::/32, 2001:db8:1::/48, 2001:db9::/32");
    for (const char* inside : {"9.255.255.255", "10.0.0.0", "10.1.2.3", "10.2.0.0",
                               "10.255.255.255", "11.0.0.0", "11.255.255.255", "13.0.0.0",
                               "13.255.255.255", "2001:db8::", "2001:db8:1::5",
                               "2001:db9:ffff::"}) {
        BOOST_TEST(list.contains(peer(inside)), inside);
    }
    for (const char* outside : {"9.255.255.254", "12.0.0.0", "12.255.255.255", "14.0.0.0",
                                "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:dba::"}) {
        BOOST_TEST(!list.contains(peer(outside)), outside);
    }
}

// A list of thousands (every other address of a /20, and some /28s): the binary search
// answers as a scan of every range does, on random peers and on each range's edges.
BOOST_AUTO_TEST_CASE(a_long_list_answers_as_a_linear_scan_does)
{
    std::string text;
    for (unsigned i = 0; i < 4096; i += 2) {
        text += "172.16." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ", ";
    }
    for (unsigned i = 0; i < 64; ++i) {
        const unsigned fourth = i * 4 / 16 * 16;
        text += "172.16." + std::to_string(32 + i) + "." + std::to_string(fourth) + "/28, ";
    }
    text += "2001:db8::/64";
    const CidrList list = CidrList::parse(text);
    BOOST_TEST(list.entries().size() == 2048u + 64u + 1u);

    auto scan = [&](const Endpoint& endpoint) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&endpoint.storage);
        const std::uint32_t address = ntohl(in->sin_addr.s_addr);
        for (const Cidr& cidr : list.entries()) {
            if (cidr.family != AF_INET) {
                continue;  // and its prefix (up to 128) would be no shift for 32 bits
            }
            std::uint32_t network = 0;
            std::memcpy(&network, cidr.address.data(), 4);
            const std::uint32_t mask = cidr.prefix == 0 ? 0 : ~0u << (32 - cidr.prefix);
            if ((address & mask) == ntohl(network)) {
                return true;
            }
        }
        return false;
    };
    std::mt19937 random(20240601);
    std::size_t found = 0;
    for (int k = 0; k < 20000; ++k) {
        const std::uint32_t address = 0xac100000u + (random() & 0x3fffu);  // in 172.16.0.0/18
        Endpoint endpoint;
        auto* in = reinterpret_cast<sockaddr_in*>(&endpoint.storage);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(address);
        endpoint.length = sizeof *in;
        const bool expected = scan(endpoint);
        found += expected;
        BOOST_TEST_REQUIRE(list.contains(endpoint) == expected, format_host(endpoint));
    }
    BOOST_TEST(found > 2000u);  // the sample reached the ranges
    BOOST_TEST(list.contains(peer("172.16.15.254")));
    BOOST_TEST(!list.contains(peer("172.16.15.255")));
    BOOST_TEST(list.contains(peer("172.16.95.240")));  // the last /28, 172.16.95.240/28
    BOOST_TEST(list.contains(peer("172.16.95.255")));
    BOOST_TEST(!list.contains(peer("172.16.95.239")));
    BOOST_TEST(!list.contains(peer("172.16.96.0")));
    BOOST_TEST(list.contains(peer("::ffff:172.16.0.0")));
    BOOST_TEST(list.contains(peer("2001:db8::ffff:ffff:ffff:ffff")));
}
