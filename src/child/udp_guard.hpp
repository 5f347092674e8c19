// The reflection guard of UDP echo: which datagrams go unanswered whoever sends them,
// decided on addresses alone. A UDP source address is whatever the sender wrote, so an
// echo answered blindly is a reflector: a forged source turns echod against a victim, or
// against another service that answers in turn. The UDP child applies these rules first,
// then the access lists, then the per-source rate (child/udp_child.hpp).
#pragma once

#include "os/address.hpp"

namespace echod {

// Whether `address` (the port aside) can be one host's: not 0.0.0.0/8 ("this network"),
// 255.255.255.255 (broadcast) or 224.0.0.0/4 (multicast); not :: (unspecified) or
// ff00::/8 (multicast); nor the IPv4-mapped form of an IPv4 one (::ffff:255.255.255.255),
// which is how a dual-stack socket reports an IPv4 peer. Anything but IPv4 and IPv6 is not.
bool is_one_host(const Endpoint& address);

// Whether a datagram from `source` may be answered: from one host (is_one_host), and from a
// port of 1024 or above that is not one of a few well-known UDP services (SSDP 1900, mDNS
// 5353, memcached 11211, ...). Port 0 is no sender's, and ports below 1024 are services
// (echo itself, chargen, DNS, NTP): a forged source there would set two servers answering
// each other for ever, or make echod's reply the payload of an amplification.
bool udp_source_answerable(const Endpoint& source);

// Whether `source` sends from `local_port`, the port the datagram came to: echod's own
// socket (a forged source that is an address of this host and echod's port) or another echo
// server on the same port. Answering it starts a loop from one forged datagram: echod
// answering itself, or two servers answering each other, as fast as they can, until the
// rate per source ends it; with udp_rate_per_source = 0, never.
bool udp_source_is_own_port(const Endpoint& source, std::uint16_t local_port);

}  // namespace echod
