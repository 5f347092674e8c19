// What a child does with a new connection before it echoes a byte: on a PROXY listener it
// reads the header with a deadline and learns who the client behind the balancer is; then
// it admits that client (common/admission.hpp) unless the master already did.
#pragma once

#include "child/echo_session.hpp"
#include "common/admission.hpp"
#include "common/proxy_header.hpp"

#include <cstddef>

namespace echod {

struct ClientStart {
    Refusal refusal = Refusal::none;
    Endpoint client;        // who the limits and the log lines name
    Endpoint via;           // the balancer, when a header named the client
    bool proxied = false;   // `via` is set
    bool local = false;     // a v2 LOCAL: the balancer's own connection (a health check)
    const char* why = "";   // bad_header: what was wrong, static text
    Pending pending;        // client bytes read with the header, to echo first
};

// The bytes a header may take, and the client's bytes read in the same segment.
struct HeaderBuffer {
    char bytes[proxy_v2_max_length];
};

// Reads the header `rules` ask for (rules.proxy) from `conn` within rules.proxy_timeout,
// in `buffer`, from a peer in rules.proxy_trusted (checked here unless `counted`: the
// master accepted the connection, so it checked the peer, and without rules.proxy it
// admitted the client before it forked). A stop request on `control` now ends the wait; a
// graceful one lets it go on, and the session drains. Then it admits the client in `hold`
// unless the master did (common/admission.hpp; a LOCAL connection is counted against no
// one). Without rules.proxy the client is `peer`.
ClientStart start_client(int conn, const Endpoint& peer, const ClientRules& rules,
                         Admission& admission, int hold, bool counted, int control,
                         ReadControl read_control, void* context, HeaderBuffer& buffer);

template <typename ReadStop>
ClientStart start_client(int conn, const Endpoint& peer, const ClientRules& rules,
                         Admission& admission, int hold, bool counted, int control,
                         ReadStop& read_control, HeaderBuffer& buffer)
{
    return start_client(conn, peer, rules, admission, hold, counted, control,
                        &call_read_stop<ReadStop>, &read_control, buffer);
}

}  // namespace echod
