#include "os/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace echod {
namespace {

// The text as a message quotes it: printable ASCII as it is, other bytes as \xNN (the
// message may end up in the journal), and at most 64 bytes of it.
std::string quoted(const std::string& text)
{
    constexpr std::size_t most = 64;
    static const char hex[] = "0123456789abcdef";
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < most; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c))
                                     : std::string("\\x") + hex[c >> 4] + hex[c & 0xf];
    }
    return out + (text.size() > most ? "...'" : "'");
}

[[noreturn]] void refuse(const std::string& text, const std::string& why)
{
    throw std::invalid_argument(quoted(text) + ": " + why);
}

unsigned width(int family)
{
    return family == AF_INET ? 32 : 128;
}

std::string family_name(int family)
{
    return family == AF_INET ? "IPv4" : "IPv6";
}

// The address before the slash, by inet_pton (not inet_aton's "127.1" or octal forms).
Cidr parse_address(const std::string& text, const std::string& address)
{
    if (const std::size_t percent = address.find('%'); percent != std::string::npos) {
        refuse(text, "a zone (" + address.substr(percent) +
                         ") cannot be given: a range holds its addresses on every interface");
    }
    Cidr cidr;
    const bool c_string = address.find('\0') == std::string::npos;  // else inet_pton sees less
    if (c_string && ::inet_pton(AF_INET, address.c_str(), cidr.address.data()) == 1) {
        cidr.family = AF_INET;
    } else if (c_string && ::inet_pton(AF_INET6, address.c_str(), cidr.address.data()) == 1) {
        cidr.family = AF_INET6;
    } else {
        refuse(text, "not a numeric IPv4 or IPv6 address (names are not looked up; IPv4 as a "
                     "dotted quad such as 192.0.2.0)");
    }
    cidr.prefix = width(cidr.family);
    return cidr;
}

// The decimal after the slash: digits only, no leading zero, at most the family's width.
unsigned parse_prefix(const std::string& text, const std::string& digits, int family)
{
    if (digits.empty()) {
        refuse(text, "no prefix length after the slash");
    }
    if (digits.find_first_not_of("0123456789") != std::string::npos) {
        refuse(text, "the prefix length " + quoted(digits) + " is not a decimal number");
    }
    if (digits.size() > 1 && digits[0] == '0') {
        refuse(text, "the prefix length " + digits + " has a leading zero");
    }
    const unsigned most = width(family);
    const unsigned long prefix = digits.size() <= 3 ? std::stoul(digits) : most + 1;
    if (prefix > most) {
        refuse(text, "the prefix length " + digits + " is more than " + std::to_string(most) +
                         " (" + family_name(family) + ")");
    }
    return static_cast<unsigned>(prefix);
}

// The address with every bit after `prefix` cleared.
std::array<std::uint8_t, 16> masked(const std::array<std::uint8_t, 16>& address, unsigned prefix)
{
    std::array<std::uint8_t, 16> out{};
    for (unsigned i = 0; i < 16 && i * 8 < prefix; ++i) {
        const unsigned bits = std::min(8u, prefix - i * 8);
        out[i] = static_cast<std::uint8_t>(address[i] & (0xff00u >> bits));
    }
    return out;
}

void refuse_host_bits(const std::string& text, const Cidr& cidr)
{
    Cidr network = cidr;
    network.address = masked(cidr.address, cidr.prefix);
    Cidr host = cidr;
    host.prefix = width(cidr.family);
    refuse(text, "bits are set after the first " + std::to_string(cidr.prefix) + "; write " +
                     format_cidr(network) + " for the network, or " + format_cidr(host) +
                     " for the one host");
}

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix = {0, 0, 0, 0, 0, 0,
                                                           0, 0, 0, 0, 0xff, 0xff};

// A range inside ::ffff:0:0/96 is the IPv4 range it stands for.
Cidr unmapped(const Cidr& cidr)
{
    if (cidr.family != AF_INET6 || cidr.prefix < 96 ||
        !std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), cidr.address.begin())) {
        return cidr;
    }
    Cidr ipv4;
    ipv4.family = AF_INET;
    std::copy_n(cidr.address.begin() + 12, 4, ipv4.address.begin());
    ipv4.prefix = cidr.prefix - 96;
    return ipv4;
}

}  // namespace

Cidr parse_cidr(const std::string& text)
{
    if (text.empty()) {
        refuse(text, "empty; expected an address or a range such as 192.0.2.0/24");
    }
    if (text.find_first_of(" \t\n\v\f\r") != std::string::npos) {
        refuse(text, "white space inside a range");
    }
    const std::size_t slash = text.find('/');
    Cidr cidr = parse_address(text, text.substr(0, slash));
    if (slash != std::string::npos) {
        cidr.prefix = parse_prefix(text, text.substr(slash + 1), cidr.family);
    }
    if (masked(cidr.address, cidr.prefix) != cidr.address) {
        refuse_host_bits(text, cidr);
    }
    return unmapped(cidr);
}

std::string format_cidr(const Cidr& cidr)
{
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(cidr.family, cidr.address.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(cidr.prefix);
}

CidrList CidrList::parse(const std::string& text)
{
    static const char* const blank = " \t";
    CidrList list;
    if (text.find_first_not_of(blank) == std::string::npos) {
        return list;
    }
    std::size_t start = 0;
    for (std::size_t n = 1;; ++n) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::size_t first = text.find_first_not_of(blank, start);
        if (first >= comma) {
            throw std::invalid_argument("item " + std::to_string(n) +
                                        " is empty (a comma too many?)");
        }
        const std::size_t last = text.find_last_not_of(blank, comma - 1);  // >= first
        try {
            list.add(parse_cidr(text.substr(first, last + 1 - first)));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("item " + std::to_string(n) + ", " + e.what());
        }
        if (comma == text.size()) {
            break;
        }
        start = comma + 1;
    }
    list.ipv4_ = merged(std::move(list.ipv4_));
    list.ipv6_ = merged(std::move(list.ipv6_));
    return list;
}

void CidrList::add(const Cidr& cidr)
{
    if (std::find(entries_.begin(), entries_.end(), cidr) != entries_.end()) {
        return;
    }
    entries_.push_back(cidr);
    const unsigned bytes = cidr.family == AF_INET ? 4 : 16;
    Interval interval{cidr.address, cidr.address};
    for (unsigned bit = cidr.prefix; bit < bytes * 8; ++bit) {
        auto& byte = interval.last[bit / 8];
        byte = static_cast<std::uint8_t>(byte | (0x80u >> (bit % 8)));
    }
    (cidr.family == AF_INET ? ipv4_ : ipv6_).push_back(interval);
}

// Sorted by first address, overlapping ones joined (a range inside another disappears).
std::vector<CidrList::Interval> CidrList::merged(std::vector<Interval> intervals)
{
    std::sort(intervals.begin(), intervals.end(),
              [](const Interval& a, const Interval& b) { return a.first < b.first; });
    std::vector<Interval> out;
    for (const Interval& interval : intervals) {
        if (!out.empty() && interval.first <= out.back().last) {
            out.back().last = std::max(out.back().last, interval.last);
        } else {
            out.push_back(interval);
        }
    }
    return out;
}

// std::array compares bytewise, which for network-order addresses is numeric order.
__attribute__((hot)) bool CidrList::in(const std::vector<Interval>& intervals, const Bytes& address)
{
    auto after = std::upper_bound(
        intervals.begin(), intervals.end(), address,
        [](const Bytes& a, const Interval& interval) { return a < interval.first; });
    return after != intervals.begin() && address <= std::prev(after)->last;
}

__attribute__((hot)) bool CidrList::contains(const Endpoint& peer) const noexcept
{
    Bytes address{};
    if (const auto ipv4 = ipv4_address(peer)) {
        std::copy(ipv4->begin(), ipv4->end(), address.begin());
        return in(ipv4_, address);
    }
    if (peer.family() != AF_INET6) {
        return false;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
    std::memcpy(address.data(), &in6->sin6_addr, 16);
    return in(ipv6_, address);
}

std::string CidrList::format() const
{
    std::string text;
    for (const Cidr& cidr : entries_) {
        text += (text.empty() ? "" : ", ") + format_cidr(cidr);
    }
    return text;
}

}  // namespace echod
