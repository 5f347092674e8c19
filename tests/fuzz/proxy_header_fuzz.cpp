// libFuzzer target: any bytes as what a proxy sent first, with each version accepted.
// What must hold: a complete header lies within the bytes and within its version's
// maximum; need_more is never said of a maximum's worth; bytes after a header change
// nothing; what is invalid stays invalid as more bytes come; a v1 TCP4 line reads back
// exactly, and a v2 TCP header's addresses are its bytes.
#include "common/proxy_header.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace {

using echod::ProxyHeader;
using echod::ProxyParse;
using echod::ProxyVersion;
using Status = ProxyParse::Status;

[[noreturn]] void bug(const char* what)
{
    std::fprintf(stderr, "proxy_header_fuzz: %s\n", what);
    std::abort();
}

bool same_endpoint(const std::optional<echod::Endpoint>& a, const std::optional<echod::Endpoint>& b)
{
    return a.has_value() == b.has_value() &&
           (!a || (a->length == b->length && std::memcmp(&a->storage, &b->storage, a->length) == 0));
}

bool same(const ProxyParse& a, const ProxyParse& b)
{
    return a.status == b.status && a.header.version == b.header.version &&
           a.header.command == b.header.command && a.header.length == b.header.length &&
           same_endpoint(a.header.source, b.header.source) &&
           same_endpoint(a.header.destination, b.header.destination);
}

void check_alone(const ProxyParse& result, const char* data, std::size_t size)
{
    const bool v1 = size > 0 && data[0] == 'P';
    const std::size_t max = v1 ? echod::proxy_v1_max_length : echod::proxy_v2_max_length;
    if (result.status == Status::invalid && result.error[0] == '\0') {
        bug("invalid without an error");
    }
    if (result.status == Status::need_more && size >= max) {
        bug("need_more with a maximum's worth of bytes");
    }
    if (result.status != Status::complete) {
        return;
    }
    const ProxyHeader& header = result.header;
    if (header.length == 0 || header.length > size || header.length > max ||
        (header.version == ProxyVersion::v1) != v1) {
        bug("complete with a length or version out of bounds");
    }
    if (header.source.has_value() != header.destination.has_value() ||
        (header.source && header.source->family() != header.destination->family()) ||
        (header.command == ProxyHeader::Command::local && header.source)) {
        bug("addresses that do not go together");
    }
}

// A TCP4 line has one spelling, so the header must print back to it; v2 addresses are
// copied from their block.
void check_addresses(const ProxyHeader& header, const char* data)
{
    if (!header.source) {
        return;
    }
    const std::string wire(data, header.length);
    if (header.version == ProxyVersion::v1 && header.source->family() == AF_INET) {
        const std::string line = "PROXY TCP4 " + echod::format_host(*header.source) + " " +
                                 echod::format_host(*header.destination) + " " +
                                 std::to_string(header.source->port()) + " " +
                                 std::to_string(header.destination->port()) + "\r\n";
        if (line != wire) {
            bug("a TCP4 line that does not read back");
        }
    }
    if (header.version == ProxyVersion::v2) {
        const bool v4 = header.source->family() == AF_INET;
        const std::size_t n = v4 ? 4 : 16;
        const auto* in = reinterpret_cast<const sockaddr_in*>(&header.source->storage);
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&header.source->storage);
        const void* source = v4 ? static_cast<const void*>(&in->sin_addr) : &in6->sin6_addr;
        if (static_cast<unsigned char>(data[13]) != (v4 ? 0x11 : 0x21) ||
            std::memcmp(source, data + 16, n) != 0 ||
            header.source->port() != (static_cast<unsigned char>(data[16 + 2 * n]) << 8 |
                                      static_cast<unsigned char>(data[17 + 2 * n]))) {
            bug("v2 addresses that are not the header's bytes");
        }
    }
}

void check(const char* data, std::size_t size, ProxyVersion accepted)
{
    const ProxyParse whole = echod::parse_proxy_header(data, size, accepted);
    check_alone(whole, data, size);
    if (whole.status == Status::complete) {
        check_addresses(whole.header, data);
    }
    // Each prefix, up to one byte past the longest header of the version the first byte
    // names: need_more, then either complete (the same header from its last byte on) or
    // invalid (from some byte on).
    bool was_invalid = false;
    const std::size_t longest = size > 0 && data[0] == 'P' ? echod::proxy_v1_max_length
                                                           : echod::proxy_v2_max_length;
    const std::size_t last = std::min(size, longest + 1);
    for (std::size_t n = 0; n <= last; ++n) {
        const ProxyParse part = echod::parse_proxy_header(data, n, accepted);
        check_alone(part, data, n);
        bool agrees = false;
        if (whole.status == Status::complete) {
            agrees = n >= whole.header.length ? same(part, whole) : part.status == Status::need_more;
        } else {
            agrees = part.status == (was_invalid ? Status::invalid : part.status) &&
                     part.status != Status::complete;
        }
        if (!agrees) {
            bug("a prefix that disagrees with the whole");
        }
        was_invalid = part.status == Status::invalid;
    }
    if (whole.status == Status::invalid && !was_invalid) {
        bug("invalid, though a prefix of it is not");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    const char* data = reinterpret_cast<const char*>(bytes);
    for (const ProxyVersion accepted : {ProxyVersion::v1, ProxyVersion::v2, ProxyVersion::any}) {
        check(data, size, accepted);
    }
    // `any` is whichever version the first byte names.
    const ProxyParse any = echod::parse_proxy_header(data, size, ProxyVersion::any);
    if (size > 0 && (data[0] == 'P' || data[0] == '\r')) {
        const ProxyVersion named = data[0] == 'P' ? ProxyVersion::v1 : ProxyVersion::v2;
        if (!same(any, echod::parse_proxy_header(data, size, named))) {
            bug("any differs from the version the first byte names");
        }
    }
    return 0;
}
