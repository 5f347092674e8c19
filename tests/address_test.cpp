// Numeric address parsing, printing, and the unit max_per_source counts in.
#define BOOST_TEST_MODULE address
#include "os/address.hpp"

#include <boost/test/unit_test.hpp>

using namespace echod;

namespace {

SourceKey key_of(const std::string& address)
{
    const auto endpoint = parse_endpoint(address, 1234);
    BOOST_TEST_REQUIRE(endpoint.has_value(), address);
    return source_key(*endpoint);
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
