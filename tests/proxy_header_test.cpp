// The PROXY protocol header parser against HAProxy's doc/proxy-protocol.txt: its examples
// and limits, each version alone and both, every truncation of valid headers, and what
// must be refused, as early as it can be.
#define BOOST_TEST_MODULE proxy_header
#include "common/child_report.hpp"
#include "common/proxy_header.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace echod {
std::ostream& operator<<(std::ostream& out, ProxyParse::Status status)
{
    const char* names[] = {"complete", "need_more", "invalid"};
    return out << names[static_cast<int>(status)];
}
}  // namespace echod

// Counts the allocations made through operator new, for the test that the parser makes none
// (a child parses the header between fork and _exit).
namespace {
std::size_t allocations = 0;
}
void* operator new(std::size_t size)
{
    ++allocations;
    if (void* memory = std::malloc(size != 0 ? size : 1)) {
        return memory;
    }
    throw std::bad_alloc();
}
// GCC takes these for a mismatched free() of what new returned; they are new's own pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* memory) noexcept
{
    std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept
{
    std::free(memory);
}
#pragma GCC diagnostic pop

using namespace echod;
using namespace std::string_literals;
using Status = ProxyParse::Status;
using Command = ProxyHeader::Command;

namespace {

constexpr ProxyVersion any = ProxyVersion::any;
constexpr ProxyVersion only_v1 = ProxyVersion::v1;
constexpr ProxyVersion only_v2 = ProxyVersion::v2;

ProxyParse parse(const std::string& input, ProxyVersion accepted = any)
{
    return parse_proxy_header(input.data(), input.size(), accepted);
}

std::string raw(std::initializer_list<int> values)
{
    std::string bytes;
    for (const int value : values) {
        bytes += static_cast<char>(value);
    }
    return bytes;
}

// A v2 header: signature, version and command, family and protocol, length, then `body`.
std::string v2(int ver_cmd, int family, const std::string& body)
{
    return std::string("\r\n\r\n\0\r\nQUIT\n", 12) +
           raw({ver_cmd, family, static_cast<int>(body.size() >> 8), static_cast<int>(body.size() & 0xFF)}) +
           body;
}

// 192.0.2.1:40000 to 198.51.100.7:7, and 2001:db8::1:40000 to 2001:db8::2:7.
const std::string ipv4_block = raw({192, 0, 2, 1, 198, 51, 100, 7, 0x9C, 0x40, 0, 7});
const std::string ipv6_block = raw({0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                    0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                                    0x9C, 0x40, 0, 7});

// What follows the header on the wire: the client's own bytes.
const std::string client_data = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// Checks `input` parses complete with addresses as given ("" for none), taking exactly
// its own length even with the client's bytes after it.
void check_complete(const std::string& input, ProxyVersion version, const std::string& source,
                    const std::string& destination, Command command = Command::proxy)
{
    for (const std::string& wire : {input, input + client_data, input + input}) {
        const ProxyParse result = parse(wire);
        BOOST_TEST_REQUIRE(result.status == Status::complete, result.error);
        BOOST_TEST(result.header.length == input.size());
        BOOST_TEST((result.header.version == version));
        BOOST_TEST((result.header.command == command));
        BOOST_TEST(result.header.source.has_value() == !source.empty());
        BOOST_TEST(result.header.destination.has_value() == !destination.empty());
        if (result.header.source && result.header.destination) {
            BOOST_TEST(format_endpoint(*result.header.source) == source);
            BOOST_TEST(format_endpoint(*result.header.destination) == destination);
        }
        BOOST_TEST(parse(wire, version).status == Status::complete);
    }
}

// The length of the first prefix of `input` that is invalid, every shorter one being
// need_more; npos if there is none.
std::size_t invalid_from(const std::string& input, ProxyVersion accepted = any)
{
    for (std::size_t n = 0; n <= input.size(); ++n) {
        const ProxyParse result = parse(input.substr(0, n), accepted);
        if (result.status == Status::invalid) {
            BOOST_TEST(result.error[0] != '\0');
            return n;
        }
        BOOST_TEST(result.status == Status::need_more, "prefix " << n << " of " << input.size());
    }
    return std::string::npos;
}

// Each input, and the length of its first invalid prefix.
struct InvalidFrom {
    std::string input;
    std::size_t length;
};

void check_invalid_from(std::initializer_list<InvalidFrom> cases)
{
    for (const auto& [input, length] : cases) {
        BOOST_TEST(invalid_from(input) == length, input);
    }
}

std::string invalid_error(const std::string& input, ProxyVersion accepted = any)
{
    const ProxyParse result = parse(input, accepted);
    BOOST_TEST(result.status == Status::invalid, input);
    return result.error;
}

const std::string v1_ipv4_max = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
const std::string all_ones = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
const std::string v1_ipv6_max = "PROXY TCP6 " + all_ones + " " + all_ones + " 65535 65535\r\n";
const std::string v1_unknown_max = "PROXY UNKNOWN " + all_ones + " " + all_ones + " 65535 65535\r\n";

// Valid headers of each kind, for truncation.
std::vector<std::string> valid_headers()
{
    return {"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
            "PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 0 7\r\n",
            "PROXY TCP6 1:2:3:4:5:6:7:8 1:2:3:4:5:6:1.2.3.4 65535 10\r\n",
            "PROXY TCP6 1:: 1:2:3:4:5:6:7:: 1 2\r\n",
            v1_ipv4_max, v1_ipv6_max, v1_unknown_max, "PROXY UNKNOWN\r\n",
            v2(0x21, 0x11, ipv4_block), v2(0x21, 0x21, ipv6_block), v2(0x20, 0x00, ""),
            v2(0x20, 0x11, ipv4_block), v2(0x21, 0x11, ipv4_block + raw({0x04, 0, 2, 'h', '2'})),
            v2(0x21, 0x31, std::string(216, 'u'))};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_spec_examples_and_longest_lines_parse)
{
    check_complete("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", ProxyVersion::v1,
                   "192.168.0.1:56324", "192.168.0.11:443");
    BOOST_TEST(v1_ipv4_max.size() == 56u);
    check_complete(v1_ipv4_max, ProxyVersion::v1, "255.255.255.255:65535", "255.255.255.255:65535");
    BOOST_TEST(v1_ipv6_max.size() == 104u);
    check_complete(v1_ipv6_max, ProxyVersion::v1, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                   "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    check_complete("PROXY UNKNOWN\r\n", ProxyVersion::v1, "", "");
    BOOST_TEST(v1_unknown_max.size() == 107u);
    check_complete(v1_unknown_max, ProxyVersion::v1, "", "");
}

BOOST_AUTO_TEST_CASE(v1_takes_every_ipv6_form_inet_pton_does)
{
    check_complete("PROXY TCP6 ::1 ::2 1 0\r\n", ProxyVersion::v1, "[::1]:1", "[::2]:0");
    check_complete("PROXY TCP6 2001:DB8:0000::A ::ffff:192.0.2.1 80 65535\r\n", ProxyVersion::v1,
                   "[2001:db8::a]:80", "[::ffff:192.0.2.1]:65535");
    check_complete("PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n", ProxyVersion::v1, "0.0.0.0:0", "10.0.0.1:0");
}

// UNKNOWN: the rest of the line is ignored, whatever it is; the connection's own
// endpoints stand.
BOOST_AUTO_TEST_CASE(v1_unknown_ignores_the_rest_of_its_line)
{
    check_complete("PROXY UNKNOWN anything at all, even \x01\x7f or 999.1.1.1\r\n", ProxyVersion::v1, "", "");
    check_complete("PROXY UNKNOWN \r\n", ProxyVersion::v1, "", "");
    check_invalid_from({
        {"PROXY UNKNOWNX\r\n", 14},
        {"PROXY UNKNOWN x\ny\r\n", 16},  // a lone LF ends no line
        {"PROXY UNKNOWN x\ry\r\n", 17},  // nor does a lone CR
    });
}

BOOST_AUTO_TEST_CASE(v2_tcp_gives_both_endpoints)
{
    check_complete(v2(0x21, 0x11, ipv4_block), ProxyVersion::v2, "192.0.2.1:40000", "198.51.100.7:7");
    check_complete(v2(0x21, 0x21, ipv6_block), ProxyVersion::v2, "[2001:db8::1]:40000",
                   "[2001:db8::2]:7");
}

// LOCAL: the proxy's own connection (a health check). Its family is ignored, and its
// length still says where the client's bytes start.
BOOST_AUTO_TEST_CASE(v2_local_has_no_addresses_whatever_it_carries)
{
    check_complete(v2(0x20, 0x00, ""), ProxyVersion::v2, "", "", Command::local);
    check_complete(v2(0x20, 0x11, ipv4_block), ProxyVersion::v2, "", "", Command::local);
    check_complete(v2(0x20, 0x21, ipv6_block + "tlv"), ProxyVersion::v2, "", "", Command::local);
    check_complete(v2(0x20, 0xFF, "xyz"), ProxyVersion::v2, "", "", Command::local);
    check_complete(v2(0x20, 0x11, ""), ProxyVersion::v2, "", "", Command::local);
}

// UNSPEC, UDP and AF_UNIX under PROXY: accepted with no address (the spec has a receiver
// fall back to UNSPEC for what it does not support), but the length must still cover the
// family's address block.
BOOST_AUTO_TEST_CASE(v2_proxy_without_tcp_addresses_falls_back_to_unspec)
{
    check_complete(v2(0x21, 0x00, ""), ProxyVersion::v2, "", "");
    check_complete(v2(0x21, 0x00, "ignored"), ProxyVersion::v2, "", "");
    check_complete(v2(0x21, 0x12, ipv4_block), ProxyVersion::v2, "", "");
    check_complete(v2(0x21, 0x22, ipv6_block), ProxyVersion::v2, "", "");
    check_complete(v2(0x21, 0x31, std::string(216, '\0')), ProxyVersion::v2, "", "");
    check_complete(v2(0x21, 0x32, std::string(216, 'x') + "tlv"), ProxyVersion::v2, "", "");
}

BOOST_AUTO_TEST_CASE(v2_lengths_too_short_for_the_family_are_invalid)
{
    const std::pair<int, std::size_t> families[] = {{0x11, 12}, {0x12, 12}, {0x21, 36}, {0x22, 36},
                                                    {0x31, 216}, {0x32, 216}};
    for (const auto& [family, needed] : families) {
        const std::string header = v2(0x21, family, std::string(needed - 1, '\0'));
        BOOST_TEST(invalid_from(header) == 16u, family);  // at once, from the length
        BOOST_TEST(invalid_error(header) == "PROXY v2: the length does not cover the addresses");
        BOOST_TEST(parse(v2(0x21, family, std::string(needed, '\0'))).status == Status::complete);
    }
    BOOST_TEST(invalid_from(v2(0x21, 0x11, "") + ipv4_block) == 16u);
}

// TLVs after the addresses are skipped without being read, even when malformed.
BOOST_AUTO_TEST_CASE(v2_tlvs_are_skipped)
{
    const std::string alpn = raw({0x01, 0x00, 0x02, 'h', '2'});
    const std::string noop = raw({0x04, 0x00, 0x00});
    const std::string overrun = raw({0xE0, 0xFF, 0xFF, 'x'});
    check_complete(v2(0x21, 0x11, ipv4_block + alpn + noop), ProxyVersion::v2, "192.0.2.1:40000",
                   "198.51.100.7:7");
    check_complete(v2(0x21, 0x21, ipv6_block + overrun), ProxyVersion::v2, "[2001:db8::1]:40000",
                   "[2001:db8::2]:7");
    const std::string header = v2(0x21, 0x11, ipv4_block + alpn);
    BOOST_TEST(parse(header + client_data).header.length == 16 + 12 + 5u);
}

BOOST_AUTO_TEST_CASE(every_truncation_of_a_valid_header_needs_more)
{
    for (const std::string& header : valid_headers()) {
        const ProxyVersion version = header[0] == 'P' ? only_v1 : only_v2;
        for (const ProxyVersion accepted : {any, version}) {
            BOOST_TEST(invalid_from(header.substr(0, header.size() - 1), accepted) == std::string::npos);
            const ProxyParse whole = parse(header, accepted);
            BOOST_TEST(whole.status == Status::complete);
            BOOST_TEST(whole.header.length == header.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(each_version_alone_refuses_the_other)
{
    for (const std::string& header : valid_headers()) {
        const bool is_v1 = header[0] == 'P';
        const ProxyVersion other = is_v1 ? only_v2 : only_v1;
        BOOST_TEST(invalid_from(header, other) == 1u);  // at the first byte
        BOOST_TEST(invalid_error(header, other) ==
                   (is_v1 ? "PROXY v1 header, but only v2 is accepted"
                          : "PROXY v2 header, but only v1 is accepted"));
    }
    BOOST_TEST(parse("", only_v1).status == Status::need_more);
    BOOST_TEST(parse("", only_v2).status == Status::need_more);
}

BOOST_AUTO_TEST_CASE(anything_else_is_invalid_at_its_first_wrong_byte)
{
    check_invalid_from({
        {"GET / HTTP/1.1\r\n", 1},
        {raw({0x16, 0x03, 0x01, 0x00}), 1},  // a TLS ClientHello
        {"\n", 1},
        {"SSH-2.0-x\r\n", 1},
        {"proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n", 1},
        {"PROXI TCP4", 5},
        {"PRX", 3},
        {"\r\n\r\n\r\n", 5},  // a v2 signature has a NUL there
        {std::string("\r\n\r\n\0\r\nQUIT\r", 12), 12},
    });
    BOOST_TEST(invalid_error("x") == "not a PROXY header");
}

BOOST_AUTO_TEST_CASE(v1_protocols_are_tcp4_tcp6_and_unknown_only)
{
    for (const char* line : {"PROXY TCP5 1.2.3.4 1.2.3.5 1 2\r\n", "PROXY tcp4 1.2.3.4 1.2.3.5 1 2\r\n",
                             "PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n"}) {
        BOOST_TEST(invalid_error(line) == "PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN");
    }
    check_invalid_from({
        {"PROXY TCP5 ", 10},
        {"PROXY TCP41.2.3.4", 11},
        {"PROXY \r\n", 7},
    });
}

// Exactly one space between fields, none at either end of the line.
BOOST_AUTO_TEST_CASE(v1_spaces_are_exact)
{
    check_invalid_from({
        {"PROXY  TCP4 1.2.3.4 1.2.3.5 1 2\r\n", 7},
        {"PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n", 12},
        {"PROXY TCP4 1.2.3.4  1.2.3.5 1 2\r\n", 20},
        {"PROXY TCP4 1.2.3.4 1.2.3.5 1 2 \r\n", 31},
        {"PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n", 31},
        {"PROXY\tTCP4 1.2.3.4 1.2.3.5 1 2\r\n", 6},
        {"PROXY TCP4 1.2.3.4\t1.2.3.5 1 2\r\n", 19},
    });
    BOOST_TEST(invalid_error("PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n") ==
               "PROXY v1: not exactly one space between fields");
}

BOOST_AUTO_TEST_CASE(v1_ports_are_plain_decimals_up_to_65535)
{
    const std::string head = "PROXY TCP4 1.2.3.4 1.2.3.5 ";
    for (const char* port : {"65536", "99999", "123456", "01", "00", "-1", "+1", "1a", "0x10", "1e3"}) {
        BOOST_TEST(invalid_error(head + port + " 7\r\n") == "PROXY v1: bad source port", port);
        BOOST_TEST(invalid_error(head + "7 " + port + "\r\n") == "PROXY v1: bad destination port", port);
    }
    // Refused at the byte that makes it impossible.
    BOOST_TEST(invalid_from(head + "65536 7\r\n") == head.size() + 5);
    BOOST_TEST(invalid_from(head + "01 7\r\n") == head.size() + 2);
    BOOST_TEST(invalid_from(head + "7 0x\r\n") == head.size() + 4);
    check_complete(head + "0 65535\r\n", ProxyVersion::v1, "1.2.3.4:0", "1.2.3.5:65535");
}

BOOST_AUTO_TEST_CASE(v1_addresses_are_strict_and_of_the_family_named)
{
    for (const char* address : {"1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.010", "256.1.1.1", "127.1",
                                "2130706433", "0x7f.0.0.1", "localhost", "1.2.3.4/24", "::1",
                                "::ffff:1.2.3.4", "1.2.3.-4"}) {
        BOOST_TEST(invalid_error(std::string("PROXY TCP4 ") + address + " 1.2.3.5 1 2\r\n") ==
                   "PROXY v1: bad source address", address);
        BOOST_TEST(invalid_error(std::string("PROXY TCP4 1.2.3.5 ") + address + " 1 2\r\n") ==
                   "PROXY v1: bad destination address", address);
    }
    for (const char* address : {"1.2.3.4", "::1%lo", "[::1]", "fe80::1%1", "1::2::3", "12345::",
                                "1:2:3:4:5:6:7:8:9", ":::", "::g", "1:2:3:4:5:6:7::8"}) {
        BOOST_TEST(invalid_error(std::string("PROXY TCP6 ") + address + " ::2 1 2\r\n") ==
                   "PROXY v1: bad source address", address);
    }
    BOOST_TEST(invalid_error("PROXY TCP4 1.2.3.4\0 1.2.3.5 1 2\r\n"s) ==
               "PROXY v1: bad source address");
    // Refused at the byte that makes it impossible.
    check_invalid_from({
        {"PROXY TCP4 1x", 13},
        {"PROXY TCP4 256", 14},
        {"PROXY TCP4 1.2.3.4.", 19},
        {"PROXY TCP4 1.2.3 1", 17},
        {"PROXY TCP4 :", 12},
        {"PROXY TCP6 1.", 13},
        {"PROXY TCP6 ::1:::", 16},
        {"PROXY TCP6 1:2:3:4:5:6:7:8:", 27},
        {"PROXY TCP6 ::ffff:01.", 21},
    });
}

BOOST_AUTO_TEST_CASE(v1_lines_end_with_crlf_only)
{
    check_invalid_from({
        {"PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n", 31},
        {"PROXY TCP4 1.2.3.4 1.2.3.5 1 2\rX", 32},
        {"PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n\r", 31},
        {"PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n", 29},  // three fields
        {"PROXY TCP4\r\n", 11},
    });
    BOOST_TEST(invalid_error("PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n") ==
               "PROXY v1: fewer than four fields after the protocol");
    BOOST_TEST(invalid_error("PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n") ==
               "PROXY v1: the line does not end with CRLF");
}

// 107 bytes with CRLF at most: refused as soon as no CRLF can come in time.
BOOST_AUTO_TEST_CASE(v1_lines_longer_than_107_bytes_are_invalid)
{
    const std::string unknown = "PROXY UNKNOWN " + std::string(200, 'x');
    BOOST_TEST(invalid_from(unknown) == 106u);  // the CR could only come at the 107th byte
    BOOST_TEST(invalid_error(unknown.substr(0, 108)) == "PROXY v1: no CRLF within 107 bytes");
    BOOST_TEST(parse(unknown.substr(0, 105) + "\r\n").status == Status::complete);
    BOOST_TEST(invalid_from(unknown.substr(0, 106) + "\r\n") == 106u);
    // TCP6 with dotted-quad endings: each address may take 45 bytes, but two of them and
    // the shortest ports take 108.
    const std::string longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    BOOST_TEST(longest.size() == 45u);
    const std::string line = "PROXY TCP6 " + longest + " " + longest + " 0 0\r\n";
    BOOST_TEST(line.size() == 108u);
    BOOST_TEST(invalid_from(line) == 102u);  // the second address's last byte
    BOOST_TEST(invalid_error(line) == "PROXY v1: no CRLF within 107 bytes");
    const std::string shorter = "PROXY TCP6 " + longest + " " + longest.substr(0, 44) + " 0 0\r\n";
    check_complete(shorter, ProxyVersion::v1, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:0",
                   "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff19]:0");
}

BOOST_AUTO_TEST_CASE(v2_version_and_command_are_checked_at_their_byte)
{
    for (const int ver_cmd : {0x11, 0x31, 0x01, 0xF1}) {
        BOOST_TEST(invalid_from(v2(ver_cmd, 0x11, ipv4_block)) == 13u, ver_cmd);
        BOOST_TEST(invalid_error(v2(ver_cmd, 0x11, ipv4_block)) == "PROXY v2: the version is not 2");
    }
    for (const int ver_cmd : {0x22, 0x2F}) {
        BOOST_TEST(invalid_from(v2(ver_cmd, 0x11, ipv4_block)) == 13u, ver_cmd);
        BOOST_TEST(invalid_error(v2(ver_cmd, 0x11, ipv4_block)) ==
                   "PROXY v2: the command is neither LOCAL nor PROXY");
    }
}

// Under PROXY, only the family and protocol bytes the spec lists.
BOOST_AUTO_TEST_CASE(v2_unlisted_families_are_invalid)
{
    for (const int family : {0x01, 0x02, 0x10, 0x13, 0x20, 0x23, 0x30, 0x33, 0x41, 0xFF}) {
        BOOST_TEST(invalid_from(v2(0x21, family, std::string(216, '\0'))) == 14u, family);
        BOOST_TEST(invalid_error(v2(0x21, family, std::string(216, '\0'))) ==
                   "PROXY v2: unknown address family or protocol");
    }
}

// 536 bytes at most, the spec's minimal segment: refused as soon as the length says more.
BOOST_AUTO_TEST_CASE(v2_headers_longer_than_536_bytes_are_invalid)
{
    const std::string longest = v2(0x21, 0x11, ipv4_block + std::string(520 - 12, 't'));
    BOOST_TEST(longest.size() == 536u);
    BOOST_TEST(invalid_from(longest.substr(0, 535)) == std::string::npos);
    check_complete(longest, ProxyVersion::v2, "192.0.2.1:40000", "198.51.100.7:7");
    const std::string one_more = v2(0x21, 0x11, ipv4_block + std::string(521 - 12, 't'));
    BOOST_TEST(invalid_from(one_more) == 16u);
    BOOST_TEST(invalid_error(one_more) == "PROXY v2: longer than 536 bytes");
    BOOST_TEST(invalid_from(v2(0x20, 0x00, std::string(0x300, 't'))) == 15u);  // from the high byte
    BOOST_TEST(invalid_from(v2(0x20, 0x00, std::string(0xFFFF, 't'))) == 15u);
}

// A refusal's reason travels to the master in ChildReport::why and is logged as
// why="TEXT": every message must arrive whole, and none may hold a double quote, which
// would end the logfmt value early.
BOOST_AUTO_TEST_CASE(every_error_fits_a_report_and_needs_no_quoting)
{
    const std::vector<std::string> invalid_inputs = {
        "GET / HTTP/1.0\r\n",
        "POST / HTTP/1.1\r\n",
        "PROXY UNKNOWNx\r\n",
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
        "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        "PROXY UNKNOWN " + std::string(120, 'x'),
        v2(0x22, 0x11, ipv4_block),
        v2(0x21, 0x11, ipv4_block.substr(0, 4)),
        v2(0x21, 0x41, ipv4_block),
        v2(0x31, 0x11, ipv4_block),
        v2(0x21, 0x11, std::string(600, '\0')),
    };
    for (const std::string& input : invalid_inputs) {
        const ProxyParse parse = parse_proxy_header(input.data(), input.size(), any);
        BOOST_TEST_CONTEXT("input of " << input.size() << " bytes: " << parse.error)
        {
            BOOST_TEST(parse.status == Status::invalid);
            ChildReport report;
            report.with_why(parse.error);
            BOOST_TEST(std::string(report.why) == std::string(parse.error));
            BOOST_TEST(std::string(parse.error).find('"') == std::string::npos);
        }
    }
}

// The parser runs in a child, which allocates nothing: not even for a v1 line cut in the
// middle of a long IPv6 address, which it completes in its head to see whether it can still
// become a valid field.
BOOST_AUTO_TEST_CASE(the_parser_allocates_nothing)
{
    const std::string line =
        "PROXY TCP6 2001:db8:1234:5678:9abc:def0:1234:5678 ffff:ffff:ffff:ffff:ffff:ffff:"
        "1.2.3.4 65535 65535\r\n";
    BOOST_TEST(parse(line).status == Status::complete);
    for (std::size_t size = 1; size <= line.size(); ++size) {
        const std::size_t before = allocations;
        const ProxyParse parsed = parse_proxy_header(line.data(), size, any);
        const std::size_t after = allocations;
        BOOST_TEST_CONTEXT("the first " << size << " bytes")
        {
            BOOST_TEST(after == before);
            BOOST_TEST((parsed.status == (size == line.size() ? Status::complete : Status::need_more)));
        }
    }
}
