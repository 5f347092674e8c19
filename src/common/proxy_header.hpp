// The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1 and 2) that a
// proxy puts before a client's bytes: who the client is, and which address it reached.
#pragma once

#include "os/address.hpp"

#include <cstddef>
#include <optional>

namespace echod {

// Which header a listener takes. The receiver must never guess (spec, section 2): with v1,
// a v2 signature is invalid, and the other way round.
enum class ProxyVersion { v1, v2, any };

// The longest header each version may take. v1: the spec's 107 bytes, CRLF included. v2:
// the spec's own budget, one minimal TCP segment (536 bytes), which leaves 520 - 216 =
// 304 bytes for TLVs after the largest address block (AF_UNIX); a longer one is invalid.
constexpr std::size_t proxy_v1_max_length = 107;
constexpr std::size_t proxy_v2_max_length = 536;

struct ProxyHeader {
    ProxyVersion version = ProxyVersion::v1;  // v1 or v2, as received
    // local: a v2 LOCAL (the proxy's own connection, a health check); proxy: all the rest.
    enum class Command { local, proxy } command = Command::proxy;
    // Set together, for TCP over IPv4 or IPv6 relayed for a client (v1 TCP4 and TCP6, v2
    // PROXY 0x11 and 0x21). Unset otherwise (v1 UNKNOWN, v2 LOCAL, v2 PROXY with UNSPEC,
    // UDP or AF_UNIX): then the connection's own endpoints stand.
    std::optional<Endpoint> source, destination;
    // The bytes the header takes; the client's own bytes start there.
    std::size_t length = 0;
};

struct ProxyParse {
    // need_more: what came so far begins a valid header, and a longer read may complete it
    // (never said of more than the version's maximum length). invalid: nothing can follow
    // these bytes to make a valid header; drop the connection.
    enum class Status { complete, need_more, invalid } status = Status::need_more;
    ProxyHeader header;         // when complete
    const char* error = "";     // when invalid: what was wrong, static text for the log

    static ProxyParse need_more() { return {}; }
    static ProxyParse invalid(const char* why) { return {Status::invalid, {}, why}; }
    static ProxyParse complete(const ProxyHeader& header) { return {Status::complete, header, ""}; }
};

// Parses the header at the start of `data` (size bytes, all that was read so far; what
// follows the header is not looked at).
ProxyParse parse_proxy_header(const char* data, std::size_t size, ProxyVersion accepted);

}  // namespace echod
