// Version 1 of the PROXY header: one line of text, "PROXY TCP4 src dst sport dport\r\n",
// "PROXY TCP6 ...", or "PROXY UNKNOWN...\r\n".
#include "common/proxy_header_v1.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace echod {

namespace {

constexpr auto need_more = ProxyParse::need_more;
constexpr auto invalid = ProxyParse::invalid;
constexpr auto complete = ProxyParse::complete;
using Status = ProxyParse::Status;

// Whether `data` agrees with `literal` as far as both go.
bool begins_like(std::string_view data, std::string_view literal)
{
    const std::size_t n = std::min(data.size(), literal.size());
    return data.substr(0, n) == literal.substr(0, n);
}

// The four fields after TCP4 or TCP6, in their order.
enum class Field { ipv4, ipv6, port };
constexpr const char* field_errors[4] = {
    "PROXY v1: bad source address", "PROXY v1: bad destination address",
    "PROXY v1: bad source port", "PROXY v1: bad destination port"};

// Decimal, 0 to 65535, no leading zero (spec: none, against octal confusion).
bool parse_port(std::string_view text, std::uint16_t& port)
{
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0') ||
        text.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
    }
    unsigned value = 0;
    for (const char c : text) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    port = static_cast<std::uint16_t>(value);
    return value <= 65535;
}

// inet_pton: a dotted quad without leading zeros for IPv4; for IPv6 hex groups, one "::",
// an optional dotted quad at the end, no scope. The character check keeps a NUL from
// ending the text early.
bool parse_address(int family, std::string_view text, void* address)
{
    const char* allowed = family == AF_INET ? "0123456789." : "0123456789abcdefABCDEF:.";
    char buffer[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof buffer ||
        text.find_first_not_of(allowed) != std::string_view::npos) {
        return false;
    }
    text.copy(buffer, text.size());
    buffer[text.size()] = '\0';
    return ::inet_pton(family, buffer, address) == 1;
}

bool field_valid(Field field, std::string_view text)
{
    unsigned char address[sizeof(in6_addr)];
    std::uint16_t port = 0;
    switch (field) {
    case Field::ipv4: return parse_address(AF_INET, text, address);
    case Field::ipv6: return parse_address(AF_INET6, text, address);
    case Field::port: return parse_port(text, port);
    }
    return false;
}

constexpr std::size_t field_min_length(Field field)
{
    return field == Field::ipv4 ? 7 : field == Field::ipv6 ? 2 : 1;  // 0.0.0.0, ::, 0
}

// The fewest bytes that turn `partial` into a valid field, or npos if nothing can. Where a
// field may stop part-way (in a number, after a dot, after one colon or two), one of these
// tails, shortest first, is a shortest way to finish it.
std::size_t completion(Field field, std::string_view partial)
{
    static constexpr std::string_view port_tails[] = {"", "0"};
    static constexpr std::string_view ipv4_tails[] = {"", "0", ".0", "0.0", ".0.0", "0.0.0",
                                                      ".0.0.0", "0.0.0.0"};
    static constexpr std::string_view ipv6_tails[] = {"", "0", ":", "::", ".0", "0.0", ".0.0",
                                                      "0.0.0"};
    // On the stack: a child runs this between fork and _exit, and allocates nothing there
    // (a partial IPv6 address is longer than std::string keeps without the heap).
    char candidate[INET6_ADDRSTRLEN + 8];
    const auto first_fit = [&](const auto& tails) {
        for (const std::string_view tail : tails) {
            if (partial.size() + tail.size() >= sizeof candidate) {
                continue;  // longer than any address: field_valid would refuse it
            }
            partial.copy(candidate, partial.size());
            tail.copy(candidate + partial.size(), tail.size());
            if (field_valid(field, std::string_view(candidate, partial.size() + tail.size()))) {
                return tail.size();
            }
        }
        return std::string_view::npos;
    };
    switch (field) {
    case Field::ipv4: return first_fit(ipv4_tails);
    case Field::ipv6: return first_fit(ipv6_tails);
    case Field::port: return first_fit(port_tails);
    }
    return std::string_view::npos;
}

constexpr const char* too_long = "PROXY v1: no CRLF within 107 bytes";
constexpr const char* not_crlf = "PROXY v1: the line does not end with CRLF";

// The line ends at its first CR or LF, which must be a CR followed by LF, within the first
// 107 bytes. `eol` is where the first CR or LF is (npos: none yet).
ProxyParse end_of_line(std::string_view line, std::size_t eol, ProxyHeader header)
{
    if (eol != std::string_view::npos && line[eol] != '\r') {
        return invalid(not_crlf);
    }
    if (eol == std::string_view::npos || eol + 1 == line.size()) {
        const std::size_t shortest = (eol == std::string_view::npos ? line.size() : eol) + 2;
        return shortest <= proxy_v1_max_length ? need_more() : invalid(too_long);
    }
    if (line[eol + 1] != '\n') {
        return invalid(not_crlf);
    }
    header.length = eol + 2;
    return complete(header);
}

// "PROXY UNKNOWN": the rest of the line, if any, follows a space and is ignored (spec).
ProxyParse parse_v1_unknown(std::string_view line)
{
    const std::size_t start = 13;
    if (line.size() > start && line[start] != ' ' && line[start] != '\r') {
        return invalid("PROXY v1: UNKNOWN is followed by neither a space nor CRLF");
    }
    return end_of_line(line, line.find_first_of("\r\n", start), ProxyHeader{});
}

// After "PROXY TCP4 " or "PROXY TCP6 ": source address, destination address, source port,
// destination port, one space apart.
struct TcpFields {
    Field kinds[4];
    std::string_view parts[4];
    std::size_t last = 0;  // parts[last] is the last field so far; the ones before are whole
};

const char* field_error(const TcpFields& fields, std::size_t index)
{
    return fields.parts[index].empty() ? "PROXY v1: not exactly one space between fields"
                                       : field_errors[index];
}

// Splits `text` at its spaces and checks each field followed by one. Returns an error, or
// nullptr.
const char* split_fields(std::string_view text, TcpFields& fields)
{
    for (std::size_t from = 0;; ++fields.last) {
        const std::size_t space = text.find(' ', from);
        if (fields.last == 4) {
            return "PROXY v1: more than four fields after the protocol";
        }
        const std::size_t end = space == std::string_view::npos ? text.size() : space;
        fields.parts[fields.last] = text.substr(from, end - from);
        if (space == std::string_view::npos) {
            return nullptr;
        }
        if (!field_valid(fields.kinds[fields.last], fields.parts[fields.last])) {
            return field_error(fields, fields.last);
        }
        from = space + 1;
    }
}

// A line that has not ended yet: its last field must be able to go on to a valid one, and
// the shortest way to finish the line must fit in 107 bytes. Returns an error, or nullptr.
const char* check_unfinished(std::string_view line, const TcpFields& fields)
{
    std::size_t shortest = completion(fields.kinds[fields.last], fields.parts[fields.last]);
    if (shortest == std::string_view::npos) {
        return field_error(fields, fields.last);
    }
    for (std::size_t next = fields.last + 1; next < 4; ++next) {
        shortest += 1 + field_min_length(fields.kinds[next]);
    }
    return line.size() + shortest + 2 > proxy_v1_max_length ? too_long : nullptr;
}

ProxyHeader tcp_header(const TcpFields& fields, int family, std::size_t length)
{
    unsigned char source[sizeof(in6_addr)], destination[sizeof(in6_addr)];
    std::uint16_t source_port = 0, destination_port = 0;
    parse_address(family, fields.parts[0], source);
    parse_address(family, fields.parts[1], destination);
    parse_port(fields.parts[2], source_port);
    parse_port(fields.parts[3], destination_port);
    ProxyHeader header;
    header.length = length;
    header.source = make_endpoint(family, source, source_port);
    header.destination = make_endpoint(family, destination, destination_port);
    return header;
}

ProxyParse parse_v1_tcp(std::string_view line, int family)
{
    const Field address = family == AF_INET ? Field::ipv4 : Field::ipv6;
    TcpFields fields{{address, address, Field::port, Field::port}, {}, 0};
    const std::size_t start = 11;
    const std::size_t eol = line.find_first_of("\r\n", start);
    const char* error =
        split_fields(line.substr(start, eol == std::string_view::npos ? eol : eol - start), fields);
    if (error == nullptr && eol == std::string_view::npos) {
        error = check_unfinished(line, fields);
    } else if (error == nullptr && fields.last < 3) {
        error = "PROXY v1: fewer than four fields after the protocol";
    } else if (error == nullptr && !field_valid(fields.kinds[3], fields.parts[3])) {
        error = field_error(fields, 3);
    }
    if (error != nullptr) {
        return invalid(error);
    }
    const ProxyParse ended = end_of_line(line, eol, ProxyHeader{});
    return ended.status != Status::complete
               ? ended
               : complete(tcp_header(fields, family, ended.header.length));
}

}  // namespace

ProxyParse parse_proxy_v1(std::string_view data)
{
    const std::string_view line = data.substr(0, proxy_v1_max_length);
    if (!begins_like(line, "PROXY ")) {
        return invalid("PROXY v1: the line does not start with 'PROXY '");
    }
    const std::string_view protocol = line.substr(std::min<std::size_t>(line.size(), 6));
    if (begins_like(protocol, "TCP4 ") || begins_like(protocol, "TCP6 ")) {
        return protocol.size() < 5 ? need_more()
                                   : parse_v1_tcp(line, protocol[3] == '4' ? AF_INET : AF_INET6);
    }
    if (begins_like(protocol, "UNKNOWN")) {
        return protocol.size() < 7 ? need_more() : parse_v1_unknown(line);
    }
    return invalid("PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN");
}

}  // namespace echod
