// Address ranges (CIDR) and lists of them, for access lists and trusted proxies.
#pragma once

#include "os/address.hpp"

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace echod {

// One range: its first address and how many leading bits are fixed. No bit after the prefix
// is set (parse_cidr refuses one rather than clearing it).
struct Cidr {
    int family = AF_INET;                     // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> address{};  // network order; IPv4 in the first 4 bytes
    unsigned prefix = 0;                      // 0 to 32, or 0 to 128

    bool operator==(const Cidr& other) const
    {
        return family == other.family && address == other.address && prefix == other.prefix;
    }
};

// "192.0.2.0/24", "2001:db8::/32", or an address alone: one host (/32, /128). Numeric only
// (inet_pton: IPv4 as a dotted quad), no white space, no zone (a range holds its addresses
// on every interface), a decimal prefix without leading zeros. A bit set after the prefix
// ("192.0.2.1/24") is an error, as with `ip route`: it is a typo for a host or a network,
// and the message offers both. A range inside ::ffff:0:0/96 (IPv4-mapped) is the IPv4 range
// it stands for: "::ffff:192.0.2.0/120" is 192.0.2.0/24. Throws std::invalid_argument:
// "'TEXT': what is wrong".
Cidr parse_cidr(const std::string& text);
// "192.0.2.0/24", "2001:db8::/32": the prefix always, IPv6 as inet_ntop writes it.
std::string format_cidr(const Cidr& cidr);

// A list of ranges, and whether a peer is in one of them. A peer is matched by its address
// alone: a link-local peer matches on any interface. An IPv4-mapped peer (::ffff:a.b.c.d,
// as a dual-stack socket reports an IPv4 client) is that IPv4 address; IPv4 ranges match
// IPv4 peers only and IPv6 ranges IPv6 peers only, so ::/0 matches every IPv6 peer but no
// IPv4 one, mapped or not.
class CidrList {
public:
    // Comma-separated ranges, spaces and tabs around each allowed. Empty or blank text is the
    // empty list; an empty item ("a,,b", "a,") is an error. A range repeated (in any
    // spelling) is kept once, where it first stands. Throws std::invalid_argument:
    // "item N, 'TEXT': what is wrong".
    static CidrList parse(const std::string& text);

    bool empty() const { return entries_.empty(); }
    const std::vector<Cidr>& entries() const { return entries_; }
    // O(log n) in the number of ranges, without allocating: a binary search in the ranges
    // merged into disjoint intervals, one sorted array per family.
    bool contains(const Endpoint& peer) const noexcept;
    // "192.0.2.0/24, 2001:db8::/32": each range by format_cidr, in order; parse() reads it
    // back to the same list.
    std::string format() const;

private:
    using Bytes = std::array<std::uint8_t, 16>;
    struct Interval {
        Bytes first;
        Bytes last;
    };

    void add(const Cidr& cidr);
    static std::vector<Interval> merged(std::vector<Interval> intervals);
    static bool in(const std::vector<Interval>& intervals, const Bytes& address);

    std::vector<Cidr> entries_;
    std::vector<Interval> ipv4_;  // sorted, disjoint
    std::vector<Interval> ipv6_;
};

}  // namespace echod
