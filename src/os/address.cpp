#include "os/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

namespace echod {

__attribute__((hot)) std::uint16_t Endpoint::port() const
{
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
}

namespace {

// The interface a scope names, by name (eth0) or index (2); 0 if this host has none such.
std::uint32_t scope_index(const std::string& scope)
{
    if (const unsigned index = ::if_nametoindex(scope.c_str()); index != 0) {
        return index;
    }
    if (scope.empty() || scope.size() > 10 ||
        scope.find_first_not_of("0123456789") != std::string::npos) {
        return 0;
    }
    const unsigned long index = std::stoul(scope);
    char name[IF_NAMESIZE];
    return index <= UINT32_MAX && ::if_indextoname(static_cast<unsigned>(index), name) != nullptr
               ? static_cast<std::uint32_t>(index)
               : 0;
}

}  // namespace

// inet_pton, not getaddrinfo: getaddrinfo (even with AI_NUMERICHOST) takes IPv4 in
// inet_aton's legacy forms, so "127.1", "2130706433" and "127.0.0.010" (octal: .8) would
// each name some address nobody meant. inet_pton takes dotted quads only.
std::optional<Endpoint> parse_endpoint(const std::string& address, std::uint16_t port)
{
    std::string host = address;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    in_addr ipv4{};
    if (::inet_pton(AF_INET, host.c_str(), &ipv4) == 1) {
        return make_endpoint(AF_INET, &ipv4, port);
    }
    in6_addr ipv6{};
    const std::size_t percent = host.find('%');
    if (::inet_pton(AF_INET6, host.substr(0, percent).c_str(), &ipv6) != 1) {
        return std::nullopt;
    }
    Endpoint endpoint = make_endpoint(AF_INET6, &ipv6, port);
    if (percent != std::string::npos) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&endpoint.storage);
        in6->sin6_scope_id = scope_index(host.substr(percent + 1));
        if (in6->sin6_scope_id == 0) {
            return std::nullopt;
        }
    }
    return endpoint;
}

__attribute__((hot)) Endpoint make_endpoint(int family, const void* address, std::uint16_t port)
{
    Endpoint endpoint;
    if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&endpoint.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, address, sizeof in->sin_addr);
        endpoint.length = sizeof *in;
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&endpoint.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, address, sizeof in6->sin6_addr);
        endpoint.length = sizeof *in6;
    }
    return endpoint;
}

bool is_wildcard(const Endpoint& endpoint)
{
    if (endpoint.family() == AF_INET) {
        return reinterpret_cast<const sockaddr_in*>(&endpoint.storage)->sin_addr.s_addr ==
               htonl(INADDR_ANY);
    }
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&endpoint.storage)->sin6_addr);
}

__attribute__((hot)) bool is_v4_mapped(const Endpoint& endpoint)
{
    return endpoint.family() == AF_INET6 &&
           IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6*>(&endpoint.storage)->sin6_addr);
}

__attribute__((hot)) std::optional<std::array<std::uint8_t, 4>> ipv4_address(
    const Endpoint& peer)
{
    std::array<std::uint8_t, 4> bytes{};
    if (peer.family() == AF_INET) {
        std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in*>(&peer.storage)->sin_addr,
                    4);
        return bytes;
    }
    if (!is_v4_mapped(peer)) {
        return std::nullopt;
    }
    std::memcpy(bytes.data(),
                &reinterpret_cast<const sockaddr_in6*>(&peer.storage)->sin6_addr.s6_addr[12], 4);
    return bytes;
}

bool is_link_local(const Endpoint& endpoint)
{
    return endpoint.family() == AF_INET6 &&
           IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<const sockaddr_in6*>(&endpoint.storage)->sin6_addr);
}

std::uint32_t scope_id(const Endpoint& endpoint)
{
    return endpoint.family() == AF_INET6
               ? reinterpret_cast<const sockaddr_in6*>(&endpoint.storage)->sin6_scope_id
               : 0;
}

std::string format_host(const Endpoint& endpoint)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "?";
    // NI_NUMERICHOST: a peer is logged by address, never by a looked-up name.
    ::getnameinfo(endpoint.addr(), endpoint.length, host, sizeof host, nullptr, 0,
                  NI_NUMERICHOST);
    return host;
}

std::string format_endpoint(const Endpoint& endpoint)
{
    const std::string host = format_host(endpoint);
    const std::string port = std::to_string(endpoint.port());
    return endpoint.family() == AF_INET6 ? "[" + host + "]:" + port : host + ":" + port;
}

std::string format_source(const Endpoint& peer)
{
    if (is_v4_mapped(peer)) {
        const std::array<std::uint8_t, 4> bytes = *ipv4_address(peer);
        return format_host(make_endpoint(AF_INET, bytes.data(), 0));
    }
    return format_host(peer);
}

__attribute__((hot)) std::size_t SourceKeyHash::operator()(const SourceKey& key) const
{
    std::size_t hash = 1469598103934665603ull;  // FNV-1a
    for (std::uint8_t byte : key.bytes) {
        hash = (hash ^ byte) * 1099511628211ull;
    }
    return hash;
}

// Link-local peers: fe80::/64 exists on every link, so a /64 would put every such peer, on
// every interface, in one bucket. Each is its own source, told apart by its whole address
// and its interface; the 20 bytes are hashed into the key's 8 (FNV-1a), as the shared
// per-source table hashes every key anyway.
// Hot: a prefork child keys its client with these (src/common/child_path.hpp).
__attribute__((hot)) SourceKey source_key(const Endpoint& peer)
{
    SourceKey key;
    if (const auto ipv4 = ipv4_address(peer)) {
        key.bytes[0] = SourceKey::ipv4;
        std::memcpy(&key.bytes[1], ipv4->data(), 4);
        return key;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
    if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) {
        std::uint8_t whole[sizeof in6->sin6_addr + sizeof in6->sin6_scope_id];
        std::memcpy(whole, &in6->sin6_addr, sizeof in6->sin6_addr);
        std::memcpy(whole + sizeof in6->sin6_addr, &in6->sin6_scope_id, sizeof in6->sin6_scope_id);
        std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
        for (std::uint8_t byte : whole) {
            hash = (hash ^ byte) * 1099511628211ull;
        }
        key.bytes[0] = SourceKey::ipv6_link_local;
        std::memcpy(&key.bytes[1], &hash, sizeof hash);
        return key;
    }
    key.bytes[0] = SourceKey::ipv6;
    std::memcpy(&key.bytes[1], &in6->sin6_addr, 8);
    return key;
}

namespace {

constexpr std::uint8_t ipv4_network_tag = 0x14;
constexpr std::uint8_t ipv6_network_tag = 0x16;
constexpr std::uint8_t link_network_tag = 0x1f;

}  // namespace

__attribute__((hot)) SourceKey network_key(const Endpoint& peer)
{
    SourceKey key;
    const SourceKey source = source_key(peer);  // IPv4-mapped peers count as IPv4
    if (source.bytes[0] == 4) {
        key.bytes[0] = ipv4_network_tag;
        std::memcpy(&key.bytes[1], &source.bytes[1], 3);
        return key;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
    if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) {
        key.bytes[0] = link_network_tag;
        std::memcpy(&key.bytes[1], &in6->sin6_scope_id, sizeof in6->sin6_scope_id);
        return key;
    }
    key.bytes[0] = ipv6_network_tag;
    std::memcpy(&key.bytes[1], &in6->sin6_addr, 6);
    return key;
}

std::string format_network(const Endpoint& peer)
{
    const SourceKey key = network_key(peer);
    char text[INET6_ADDRSTRLEN] = "?";
    if (key.bytes[0] == ipv4_network_tag) {
        std::uint8_t address[4] = {key.bytes[1], key.bytes[2], key.bytes[3], 0};
        ::inet_ntop(AF_INET, address, text, sizeof text);
        return std::string(text) + "/24";
    }
    std::uint8_t address[16] = {};
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
    if (key.bytes[0] == link_network_tag) {
        address[0] = 0xfe;
        address[1] = 0x80;
        ::inet_ntop(AF_INET6, address, text, sizeof text);
        return std::string(text) + "/64%" + std::to_string(in6->sin6_scope_id);
    }
    std::memcpy(address, &key.bytes[1], 6);
    ::inet_ntop(AF_INET6, address, text, sizeof text);
    return std::string(text) + "/48";
}

}  // namespace echod
