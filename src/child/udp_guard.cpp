#include "child/udp_guard.hpp"

#include <netinet/in.h>

namespace echod {

bool is_one_host(const Endpoint& address)
{
    if (const auto ipv4 = ipv4_address(address)) {
        const std::uint8_t first = (*ipv4)[0];
        const bool broadcast = (*ipv4)[0] == 255 && (*ipv4)[1] == 255 && (*ipv4)[2] == 255 &&
                               (*ipv4)[3] == 255;
        return first != 0 && (first & 0xf0) != 0xe0 && !broadcast;
    }
    if (address.family() != AF_INET6) {
        return false;
    }
    const in6_addr& ipv6 = reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr;
    return !IN6_IS_ADDR_UNSPECIFIED(&ipv6) && !IN6_IS_ADDR_MULTICAST(&ipv6);
}

namespace {

// UDP services above 1023 that answer a datagram with a larger one or announce themselves
// (MS-SQL browser, SSDP, Apple Remote Desktop, WS-Discovery, SIP, mDNS, CoAP, Ubiquiti
// discovery, memcached): a forged source there makes echod deliver an attacker's request
// from its own address, and the service's answer comes back to be echoed in turn.
constexpr std::uint16_t service_ports[] = {1434, 1900, 3283, 3702, 5060,
                                           5353, 5683, 10001, 11211};

bool is_service_port(std::uint16_t port)
{
    for (std::uint16_t service : service_ports) {
        if (port == service) {
            return true;
        }
    }
    return false;
}

}  // namespace

bool udp_source_answerable(const Endpoint& source)
{
    return source.port() >= 1024 && !is_service_port(source.port()) && is_one_host(source);
}

bool udp_source_is_own_port(const Endpoint& source, std::uint16_t local_port)
{
    return source.port() == local_port;
}

}  // namespace echod
