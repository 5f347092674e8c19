#include "common/proxy_header.hpp"

#include "common/child_path.hpp"
#include "common/proxy_header_v1.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace echod {

namespace {

constexpr auto need_more = ProxyParse::need_more;
constexpr auto invalid = ProxyParse::invalid;
constexpr auto complete = ProxyParse::complete;

// Version 2: a 16-byte binary header, then as many bytes as it says: the addresses, then
// TLVs, which echod skips.

constexpr const char* v2_too_long = "PROXY v2: longer than 536 bytes";
constexpr unsigned char v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// The address block a PROXY command's family and protocol byte needs, -1 for a value the
// spec does not list. UDP and AF_UNIX carry no address echod can use; the spec has a
// receiver take such a connection as UNSPEC (its own endpoints), which it does.
ECHOD_CHILD_PATH int v2_address_length(unsigned char family)
{
    switch (family) {
    case 0x00: return 0;                // UNSPEC
    case 0x11: case 0x12: return 12;    // TCP, UDP over IPv4
    case 0x21: case 0x22: return 36;    // TCP, UDP over IPv6
    case 0x31: case 0x32: return 216;   // AF_UNIX stream, datagram
    default: return -1;
    }
}

ECHOD_CHILD_PATH ProxyHeader v2_addresses(const unsigned char* block, unsigned char family, ProxyHeader header)
{
    const auto port = [](const unsigned char* at) {
        return static_cast<std::uint16_t>(at[0] << 8 | at[1]);
    };
    if (family == 0x11) {
        header.source = make_endpoint(AF_INET, block, port(block + 8));
        header.destination = make_endpoint(AF_INET, block + 4, port(block + 10));
    } else if (family == 0x21) {
        header.source = make_endpoint(AF_INET6, block, port(block + 32));
        header.destination = make_endpoint(AF_INET6, block + 16, port(block + 34));
    }
    return header;
}

ECHOD_CHILD_PATH ProxyParse parse_v2(const unsigned char* data, std::size_t size)
{
    if (std::memcmp(data, v2_signature, std::min(size, sizeof v2_signature)) != 0) {
        return invalid("PROXY v2: bad signature");
    }
    if (size > 12 && (data[12] >> 4) != 2) {
        return invalid("PROXY v2: the version is not 2");
    }
    if (size > 12 && (data[12] & 0x0F) > 1) {
        return invalid("PROXY v2: the command is neither LOCAL nor PROXY");
    }
    // LOCAL: the proxy's own connection; the spec has the family ignored, not checked.
    const bool local = size > 12 && (data[12] & 0x0F) == 0;
    if (size > 13 && !local && v2_address_length(data[13]) < 0) {
        return invalid("PROXY v2: unknown address family or protocol");
    }
    if (size > 14 && 16 + std::size_t{data[14]} * 256 > proxy_v2_max_length) {
        return invalid(v2_too_long);
    }
    if (size < 16) {
        return need_more();
    }
    const std::size_t length = 16 + (std::size_t{data[14]} << 8 | data[15]);
    if (length > proxy_v2_max_length) {
        return invalid(v2_too_long);
    }
    if (!local && length - 16 < static_cast<std::size_t>(v2_address_length(data[13]))) {
        return invalid("PROXY v2: the length does not cover the addresses");
    }
    if (size < length) {
        return need_more();
    }
    ProxyHeader header;
    header.version = ProxyVersion::v2;
    header.command = local ? ProxyHeader::Command::local : ProxyHeader::Command::proxy;
    header.length = length;
    return complete(local ? header : v2_addresses(data + 16, data[13], header));
}

}  // namespace

ECHOD_CHILD_PATH ProxyParse parse_proxy_header(const char* data, std::size_t size, ProxyVersion accepted)
{
    if (size == 0) {
        return need_more();
    }
    if (data[0] == 'P') {
        return accepted == ProxyVersion::v2 ? invalid("PROXY v1 header, but only v2 is accepted")
                                            : parse_proxy_v1(std::string_view(data, size));
    }
    if (data[0] == '\r') {
        return accepted == ProxyVersion::v1
                   ? invalid("PROXY v2 header, but only v1 is accepted")
                   : parse_v2(reinterpret_cast<const unsigned char*>(data), size);
    }
    return invalid("not a PROXY header");
}

}  // namespace echod
