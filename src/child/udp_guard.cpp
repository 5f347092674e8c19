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

bool udp_source_answerable(const Endpoint& source)
{
    return source.port() >= 1024 && is_one_host(source);
}

}  // namespace echod
