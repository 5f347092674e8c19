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

// "127.0.0.1", "::1", "[::1]", "fe80::1%lo", "fe80::1%2": numeric only, IPv4 as a dotted
// quad (inet_pton: not "127.1", "2130706433" or "127.0.0.010"). A scope (%interface) must
// name an interface of this host.
std::optional<Endpoint> parse_endpoint(const std::string& address, std::uint16_t port);

// An IPv4 (4 bytes) or IPv6 (16 bytes) address, in network order, and a port.
Endpoint make_endpoint(int family, const void* address, std::uint16_t port);

// 0.0.0.0 or ::.
bool is_wildcard(const Endpoint& endpoint);
// ::ffff:a.b.c.d.
bool is_v4_mapped(const Endpoint& endpoint);
// The 4 bytes (network order) of an IPv4 peer, or of an IPv4-mapped IPv6 one
// (::ffff:a.b.c.d, as a dual-stack socket reports an IPv4 client): such a peer is IPv4 for
// every per-client rule (source keys, address ranges). Nothing for any other peer.
std::optional<std::array<std::uint8_t, 4>> ipv4_address(const Endpoint& peer);
// fe80::/10, which exists on every link: it means something only with a scope.
bool is_link_local(const Endpoint& endpoint);
// The IPv6 scope (interface index), 0 for none.
std::uint32_t scope_id(const Endpoint& endpoint);

// "127.0.0.1:7", "[::1]:7".
std::string format_endpoint(const Endpoint& endpoint);
// "127.0.0.1", "::1".
std::string format_host(const Endpoint& endpoint);
// A peer as its source_key() counts it: an IPv4-mapped peer as IPv4 ("198.51.100.1", not
// "::ffff:198.51.100.1"), any other as format_host().
std::string format_source(const Endpoint& peer);

// The unit max_per_source counts in: an IPv4 address, an IPv6 /64 (one host's share of a
// typical subnet), or a link-local IPv6 address on its interface. IPv4-mapped IPv6
// addresses count as the IPv4 address.
struct SourceKey {
    enum Tag : std::uint8_t { ipv4 = 4, ipv6 = 6, ipv6_link_local = 10 };
    // The tag, then 4 IPv4 bytes, or the 8 bytes of the /64, or 8 bytes hashed from the
    // link-local address and its scope.
    std::array<std::uint8_t, 9> bytes{};
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
