// Socket addresses: numeric parsing (never a name lookup), printing, per-source keys.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace echod {

struct Endpoint {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* addr() { return reinterpret_cast<sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
    std::uint16_t port() const;
};

// "127.0.0.1", "::1", "[::1]", "fe80::1%lo": numeric only.
std::optional<Endpoint> parse_endpoint(const std::string& address, std::uint16_t port);

// "127.0.0.1:7", "[::1]:7".
std::string format_endpoint(const Endpoint& endpoint);
// "127.0.0.1", "::1".
std::string format_host(const Endpoint& endpoint);

// The unit max_per_source counts in: an IPv4 address, or an IPv6 /64 (one host's share of
// a typical subnet). IPv4-mapped IPv6 addresses count as the IPv4 address.
struct SourceKey {
    std::array<std::uint8_t, 9> bytes{};  // family tag + up to 8 address bytes
    bool operator==(const SourceKey& other) const { return bytes == other.bytes; }
};

struct SourceKeyHash {
    std::size_t operator()(const SourceKey& key) const;
};

SourceKey source_key(const Endpoint& peer);

// The unit max_per_network counts in: an IPv4 /24 or an IPv6 /48 (a site's usual
// allocation); link-local IPv6 peers by their link. Never equal to a source_key.
SourceKey network_key(const Endpoint& peer);
// "192.0.2.0/24", "2001:db8:1::/48", "fe80::/64%2".
std::string format_network(const Endpoint& peer);

}  // namespace echod
