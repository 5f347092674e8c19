// Who is served: one decision for every client, wherever it is taken. The master takes it
// for a direct client before it forks (so a refused client costs no process), a prefork
// child after accept4, and any child once a PROXY header named the client behind a
// balancer. In that order: the access lists, the client's rate, then its share of
// connections at once (ClientCounts). The tables live in memory shared by the master and
// every child, so whoever decides counts in the same place.
#pragma once

#include "common/client_counts.hpp"
#include "common/proxy_header.hpp"
#include "common/rate_table.hpp"
#include "os/cidr.hpp"
#include "os/clock.hpp"

#include <chrono>
#include <cstdint>

namespace echod {

// Why a connection was closed before anything was echoed.
enum class Refusal : std::uint8_t {
    none = 0,
    source_full,   // max_per_source
    network_full,  // max_per_network
    denied,        // allow, deny
    rate_limited,  // rate_per_source
    untrusted,     // a PROXY listener, and the peer is not in proxy_trusted
    bad_header,    // no valid PROXY header in time
};
constexpr std::size_t refusal_count = 7;  // with none
const char* refusal_name(Refusal refusal);

// The rules a decision follows, built from the settings at start and at each reload. In
// ordinary memory, so a child forked with them reads them; a reload builds a new set, and
// the children forked before it keep theirs.
struct ClientRules {
    bool proxy = false;  // every connection must begin with a PROXY header
    ProxyVersion proxy_version = ProxyVersion::any;
    std::chrono::milliseconds proxy_timeout{0};
    CidrList proxy_trusted;
    CidrList allow;  // empty: every client
    CidrList deny;
    ClientCounts::Limits limits;
    RateTable::Rate rate;

    // Whether the access lists let `client` in.
    bool allows(const Endpoint& client) const noexcept
    {
        return (allow.empty() || allow.contains(client)) && !deny.contains(client);
    }
};

class Admission {
public:
    // Checks `client` against `rules` and, when it passes, counts it in `hold` (see
    // ClientCounts::admit for `wait`). A refused client holds nothing.
    Refusal admit(int hold, const Endpoint& client, const ClientRules& rules,
                  std::chrono::milliseconds wait);

    ClientCounts counts;
    RateTable rates;
};

}  // namespace echod
