#include "daemon/config_values.hpp"

#include "os/address.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

namespace echod {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds max_duration = std::chrono::hours(24 * 7);

// Length of the valid UTF-8 sequence at text[i] (2 to 4 bytes), or 0.
std::size_t utf8_sequence(const std::string& text, std::size_t i)
{
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead >= 0xc2 && lead <= 0xdf   ? 2
                               : lead >= 0xe0 && lead <= 0xef ? 3
                               : lead >= 0xf0 && lead <= 0xf4 ? 4
                                                              : 0;
    if (length == 0 || i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
            return 0;
        }
    }
    return length;
}

std::optional<std::uint64_t> parse_digits(const std::string& text, std::size_t& pos)
{
    const std::size_t start = pos;
    std::uint64_t n = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
        const unsigned digit = static_cast<unsigned>(text[pos] - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return std::nullopt;
        }
        n = n * 10 + digit;
    }
    if (pos == start) {
        return std::nullopt;
    }
    return n;
}

}  // namespace

// Text from the file as an error message may show it: control characters and bytes that
// are not UTF-8 as \xNN (a binary file must not write raw bytes into the journal), and
// at most 100 bytes of it.
std::string shown(const std::string& text)
{
    constexpr std::size_t most = 100;
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < most;) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
            ++i;
        } else if (const std::size_t n = utf8_sequence(text, i); n > 0) {
            out += text.substr(i, n);
            i += n;
        } else {
            out += std::string("\\x") + hex[c >> 4] + hex[c & 0xf];
            ++i;
        }
    }
    if (text.size() > most) {
        out += "... (" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

std::uint64_t parse_integer(const Source& source, const std::string& key,
                            const std::string& value, std::uint64_t low, std::uint64_t high)
{
    std::size_t pos = 0;
    const auto n = parse_digits(value, pos);
    if (!n || pos != value.size() || *n < low || *n > high) {
        source.fail(key, value,
                    "expected an integer from " + std::to_string(low) + " to " +
                        std::to_string(high));
    }
    return *n;
}

milliseconds parse_duration(const Source& source, const std::string& key,
                            const std::string& value)
{
    static const std::map<std::string, std::uint64_t> units{
        {"", 1000}, {"s", 1000}, {"ms", 1}, {"m", 60'000}, {"h", 3'600'000}};
    std::size_t pos = 0;
    const auto n = parse_digits(value, pos);
    const auto unit = units.find(value.substr(std::min(pos, value.size())));
    const std::uint64_t limit = static_cast<std::uint64_t>(max_duration.count());
    if (!n || unit == units.end() || *n > limit / unit->second) {
        source.fail(key, value,
                    "expected a duration such as 30, 30s, 500ms, 5m or 1h, at most 7 days");
    }
    return milliseconds(*n * unit->second);
}

LogLevel parse_log_level(const Source& source, const std::string& value)
{
    for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::notice, LogLevel::warning,
                           LogLevel::error}) {
        if (value == log_level_name(level)) {
            return level;
        }
    }
    source.fail("log_level", value, "expected one of debug, info, notice, warning, error");
}

Mode parse_mode(const Source& source, const std::string& value)
{
    for (Mode mode : {Mode::fork, Mode::prefork}) {
        if (value == mode_name(mode)) {
            return mode;
        }
    }
    source.fail("mode", value, "expected fork or prefork");
}

ProxyProtocol parse_proxy_protocol(const Source& source, const std::string& value)
{
    for (ProxyProtocol protocol : {ProxyProtocol::off, ProxyProtocol::v1, ProxyProtocol::v2,
                                   ProxyProtocol::any}) {
        if (value == proxy_protocol_name(protocol)) {
            return protocol;
        }
    }
    source.fail("proxy_protocol", value, "expected off, v1, v2 or any");
}

bool parse_udp_switch(const Source& source, const std::string& value)
{
    if (value == "on" || value == "off") {
        return value == "on";
    }
    source.fail("udp", value, "expected on or off");
}

CidrList parse_cidrs(const Source& source, const std::string& key,
                     const std::vector<std::string>& values)
{
    std::string all;
    for (std::size_t v = 0; v < values.size(); ++v) {
        try {
            CidrList::parse(values[v]);  // for the message: which line is wrong
        } catch (const std::invalid_argument& e) {
            source.fail(key, values[v], std::string("expected address ranges (CIDR): ") + e.what(),
                        v);
        }
        if (!values[v].empty() && values[v].find_first_not_of(" \t") != std::string::npos) {
            all += (all.empty() ? "" : ", ") + values[v];
        }
    }
    return CidrList::parse(all);
}

namespace {

// Why a listener could never bind `endpoint`, written as `word`, or "" if it can.
std::string unbindable(const Endpoint& endpoint, const std::string& word)
{
    if (endpoint.family() != AF_INET6) {
        return "";
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&endpoint.storage);
    char bare[INET6_ADDRSTRLEN] = "";  // without brackets or scope
    if (is_v4_mapped(endpoint)) {
        ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], bare, sizeof bare);
        return "an IPv4-mapped address cannot be listened on (IPv6 listeners are IPv6-only); "
               "write " + std::string(bare);
    }
    ::inet_ntop(AF_INET6, &in6->sin6_addr, bare, sizeof bare);
    if (is_link_local(endpoint) && scope_id(endpoint) == 0) {
        return "a link-local address needs a scope, the interface it is on: write " +
               std::string(bare) + "%eth0 (with the interface's name)";
    }
    if (!is_link_local(endpoint) && scope_id(endpoint) != 0) {
        std::string scope = word.substr(word.find('%'));
        if (scope.back() == ']') {
            scope.pop_back();  // [::1%lo]
        }
        return "a scope (" + scope + ") belongs only to a link-local address (fe80::/10); write " +
               bare;
    }
    return "";
}

// Why parse_endpoint refused `word`.
std::string not_an_address(const std::string& word)
{
    const std::size_t percent = word.find('%');
    if (percent != std::string::npos && parse_endpoint(word.substr(0, percent), 0)) {
        return "this host has no interface '" + word.substr(percent + 1) + "'";
    }
    return "expected numeric IPv4 or IPv6 addresses (names are not looked up; IPv4 as a "
           "dotted quad such as 127.0.0.1)";
}

std::string family_name(const Endpoint& endpoint)
{
    return endpoint.family() == AF_INET ? "IPv4" : "IPv6";
}

// A wildcard takes the port on every address of its family, so a specific address of the
// same family beside it fails to bind. Reported against the later of the two.
void check_wildcards(const Source& source, const std::vector<Endpoint>& endpoints,
                     const std::vector<std::string>& words,
                     const std::vector<std::size_t>& value_of)
{
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        for (std::size_t k = 0; k < i; ++k) {
            if (endpoints[k].family() == endpoints[i].family() &&
                is_wildcard(endpoints[k]) != is_wildcard(endpoints[i])) {
                const std::size_t wildcard = is_wildcard(endpoints[k]) ? k : i;
                const std::size_t specific = wildcard == k ? i : k;
                source.fail("address", words[i],
                            "the wildcard " + format_host(endpoints[wildcard]) +
                                " and the specific address " + words[specific] +
                                " cannot both listen on one port (the wildcard takes it on "
                                "every " + family_name(endpoints[i]) +
                                " address of this host); list one or the other",
                            value_of[i]);
            }
        }
    }
}

}  // namespace

std::vector<std::string> parse_addresses(const Source& source,
                                         const std::vector<std::string>& values)
{
    std::vector<std::string> addresses;
    std::vector<Endpoint> endpoints;
    std::vector<std::string> words;     // as written, for messages
    std::vector<std::size_t> value_of;  // which value (line) each came from
    for (std::size_t v = 0; v < values.size(); ++v) {
        std::istringstream parts(values[v]);
        std::string part;
        std::size_t found = 0;
        while (std::getline(parts, part, ',')) {
            std::istringstream trimmed(part);
            for (std::string word; trimmed >> word; ++found) {
                const auto endpoint = parse_endpoint(word, 0);
                if (!endpoint) {
                    source.fail("address", word, not_an_address(word), v);
                }
                if (const std::string why = unbindable(*endpoint, word); !why.empty()) {
                    source.fail("address", word, why, v);
                }
                const std::string address = format_host(*endpoint);  // "[::1]" is "::1"
                if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
                    addresses.push_back(address);  // a repeated address is listened on once
                    endpoints.push_back(*endpoint);
                    words.push_back(word);
                    value_of.push_back(v);
                }
            }
        }
        if (found == 0) {
            source.fail("address", values[v], "expected a numeric IPv4 or IPv6 address", v);
        }
    }
    check_wildcards(source, endpoints, words, value_of);
    return addresses;
}

void check_account(const Source& source, const std::string& key, const std::string& name)
{
    if (name.empty()) {
        return;
    }
    errno = 0;
    const bool found = key == "user" ? ::getpwnam(name.c_str()) != nullptr
                                     : ::getgrnam(name.c_str()) != nullptr;
    if (!found) {
        source.fail(key, name, errno != 0 ? std::string("lookup failed: ") + std::strerror(errno)
                                          : "no such " + key + " on this system");
    }
}

void check_file_path(const Source& source, const std::string& key, const std::string& path)
{
    if (path.empty()) {
        return;
    }
    if (path.front() != '/') {
        source.fail(key, path, "expected an absolute path (starting with /), or nothing for none");
    }
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.empty() || name == "." || name == "..") {
        source.fail(key, path, "expected the path of a file, not of a directory");
    }
    // The path goes into log lines, one line each.
    if (std::any_of(path.begin(), path.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        source.fail(key, path, "expected a path without control characters");
    }
}

const char* mode_name(Mode mode)
{
    return mode == Mode::prefork ? "prefork" : "fork";
}

const char* log_level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::notice: return "notice";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
    }
    return "info";
}

const char* proxy_protocol_name(ProxyProtocol protocol)
{
    switch (protocol) {
    case ProxyProtocol::off: return "off";
    case ProxyProtocol::v1: return "v1";
    case ProxyProtocol::v2: return "v2";
    case ProxyProtocol::any: return "any";
    }
    return "off";
}

const char* switch_name(bool on)
{
    return on ? "on" : "off";
}

std::string format_duration(milliseconds duration)
{
    const auto ms = duration.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace echod
