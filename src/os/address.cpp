#include "os/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

namespace echod {

std::uint16_t Endpoint::port() const
{
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
}

std::optional<Endpoint> parse_endpoint(const std::string& address, std::uint16_t port)
{
    std::string host = address;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* result = nullptr;
    const std::string service = std::to_string(port);
    if (host.empty() || ::getaddrinfo(host.c_str(), service.c_str(), &hints, &result) != 0) {
        return std::nullopt;
    }
    Endpoint endpoint;
    std::memcpy(&endpoint.storage, result->ai_addr, result->ai_addrlen);
    endpoint.length = result->ai_addrlen;
    ::freeaddrinfo(result);
    return endpoint;
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

std::size_t SourceKeyHash::operator()(const SourceKey& key) const
{
    std::size_t hash = 1469598103934665603ull;  // FNV-1a
    for (std::uint8_t byte : key.bytes) {
        hash = (hash ^ byte) * 1099511628211ull;
    }
    return hash;
}

SourceKey source_key(const Endpoint& peer)
{
    SourceKey key;
    if (peer.family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&peer.storage);
        key.bytes[0] = 4;
        std::memcpy(&key.bytes[1], &in->sin_addr, 4);
        return key;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        key.bytes[0] = 4;
        std::memcpy(&key.bytes[1], &in6->sin6_addr.s6_addr[12], 4);
        return key;
    }
    key.bytes[0] = 6;
    std::memcpy(&key.bytes[1], &in6->sin6_addr, 8);
    return key;
}

namespace {

constexpr std::uint8_t ipv4_network_tag = 0x14;
constexpr std::uint8_t ipv6_network_tag = 0x16;
constexpr std::uint8_t link_network_tag = 0x1f;

}  // namespace

SourceKey network_key(const Endpoint& peer)
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
