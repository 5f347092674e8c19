// The master <-> child protocol: the record a child writes to the shared report pipe, and
// the exit statuses a child ends with. Both kinds of child speak it; the master reads it.
#pragma once

#include "child/echo_session.hpp"
#include "os/address.hpp"

#include <netinet/in.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>

namespace echod {

// A fork-mode child sends one `finished` record; on a PROXY listener, `accepted` (with the
// client the header named) or `refused` before it. A prefork child sends `accepted` (with
// the client) and `finished` for every connection, `refused` for one it closed before
// echoing (common/admission.hpp says why), and `accept_failed` before it exits because
// accept4 failed. A prefork child that took a connection from a trusted balancer sends
// `waiting` first: it is busy while it waits for the PROXY header, though it cannot say
// for whom yet. The UDP child sends `udp_counts` (what it did since its previous one).
enum class ReportKind : std::uint8_t {
    finished = 0,
    accepted,
    refused,
    accept_failed,
    udp_counts,
    waiting,
};

// Why the UDP child left a datagram unanswered: the reflection guard (child/udp_guard.hpp),
// the access lists, the per-source rate, a datagram larger than its buffer, or a reply the
// kernel would not send.
enum class UdpDrop : std::uint8_t { guard = 0, denied, rate, truncated, unsent };
constexpr std::size_t udp_drop_count = 5;
// As the log lines and the metrics file name them.
constexpr const char* udp_drop_names[udp_drop_count] = {"guard", "denied", "rate", "truncated",
                                                        "unsent"};

// Datagrams the UDP child echoed and dropped.
struct UdpCounts {
    std::uint64_t echoed = 0;
    std::uint64_t bytes = 0;  // echoed: each reply carries exactly the bytes received
    std::uint64_t dropped[udp_drop_count] = {};  // by UdpDrop

    std::uint64_t dropped_total() const
    {
        std::uint64_t total = 0;
        for (std::uint64_t n : dropped) {
            total += n;
        }
        return total;
    }
    bool empty() const { return echoed == 0 && dropped_total() == 0; }
    UdpCounts& operator+=(const UdpCounts& other)
    {
        echoed += other.echoed;
        bytes += other.bytes;
        for (std::size_t i = 0; i < udp_drop_count; ++i) {
            dropped[i] += other.dropped[i];
        }
        return *this;
    }
};

// What a child tells the master, in one write to the shared report pipe. It is smaller than
// PIPE_BUF, so records from many children never interleave.
struct ChildReport {
    std::int32_t pid = 0;
    std::int32_t error = 0;  // errno for reset, error and accept_failed
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint8_t reason = 0;  // CloseReason
    ReportKind kind = ReportKind::finished;
    std::uint8_t refused_by = 0;  // refused: the Refusal
    std::uint8_t last = 0;        // finished: the child exits now instead of accepting again
    std::uint8_t peer_length = 0;
    std::uint8_t peer_address[28] = {};  // accepted, refused: the client's sockaddr
    std::uint8_t via_length = 0;         // 0: the client is the peer itself
    std::uint8_t local = 0;              // accepted: a PROXY LOCAL (a balancer's health check)
    std::uint8_t via_address[28] = {};   // accepted, refused: the balancer's sockaddr
    // refused for a bad header: what was wrong. Room for the longest message the header
    // parser and start_client() give (57 characters), so none is cut short in the log.
    char why[64] = {};
    std::uint8_t padding[9] = {};

    // A record of `kind` from the calling process.
    static ChildReport from_this_process(ReportKind kind)
    {
        ChildReport report;
        report.pid = static_cast<std::int32_t>(::getpid());
        report.kind = kind;
        return report;
    }

    // A `finished` record of `session`.
    static ChildReport finished(const SessionResult& session)
    {
        ChildReport report = from_this_process(ReportKind::finished);
        report.error = session.error;
        report.bytes_in = session.bytes_in;
        report.bytes_out = session.bytes_out;
        report.reason = static_cast<std::uint8_t>(session.reason);
        return report;
    }

    ChildReport& with_peer(const Endpoint& endpoint)
    {
        peer_length = store(endpoint, peer_address);
        return *this;
    }

    ChildReport& with_via(const Endpoint& endpoint)
    {
        via_length = store(endpoint, via_address);
        return *this;
    }

    ChildReport& with_why(const char* text)
    {
        std::size_t i = 0;
        for (; text[i] != '\0' && i + 1 < sizeof why; ++i) {
            why[i] = text[i];
        }
        why[i] = '\0';
        return *this;
    }

    Endpoint peer() const { return load(peer_address, peer_length); }
    // The balancer, when a PROXY header named the client.
    std::optional<Endpoint> via() const
    {
        return via_length != 0 ? std::optional(load(via_address, via_length)) : std::nullopt;
    }

    CloseReason close_reason() const { return static_cast<CloseReason>(reason); }

    // A `udp_counts` record: bytes_out carries the bytes echoed, and the peer's place the
    // datagrams echoed and dropped as 32-bit counts. The UDP child sends one at most a
    // quarter second after it counted, so no count in one comes near 2^32.
    static ChildReport udp(const UdpCounts& counts)
    {
        ChildReport report = from_this_process(ReportKind::udp_counts);
        report.bytes_out = counts.bytes;
        std::uint32_t packed[1 + udp_drop_count] = {static_cast<std::uint32_t>(counts.echoed)};
        for (std::size_t i = 0; i < udp_drop_count; ++i) {
            packed[1 + i] = static_cast<std::uint32_t>(counts.dropped[i]);
        }
        std::memcpy(report.peer_address, packed, sizeof packed);
        return report;
    }

    UdpCounts udp_counts() const
    {
        std::uint32_t packed[1 + udp_drop_count];
        std::memcpy(packed, peer_address, sizeof packed);
        UdpCounts counts;
        counts.echoed = packed[0];
        counts.bytes = bytes_out;
        for (std::size_t i = 0; i < udp_drop_count; ++i) {
            counts.dropped[i] = packed[1 + i];
        }
        return counts;
    }

private:
    static std::uint8_t store(const Endpoint& endpoint, std::uint8_t (&address)[28])
    {
        const std::size_t length = std::min<std::size_t>(endpoint.length, sizeof address);
        std::memcpy(address, &endpoint.storage, length);
        return static_cast<std::uint8_t>(length);
    }

    static Endpoint load(const std::uint8_t (&address)[28], std::uint8_t length)
    {
        Endpoint endpoint;
        std::memcpy(&endpoint.storage, address, length);
        endpoint.length = length;
        return endpoint;
    }
};
static_assert(sizeof(ChildReport) <= PIPE_BUF, "a report must be one atomic pipe write");
static_assert(sizeof(sockaddr_in6) <= sizeof(ChildReport::peer_address),
              "an IPv6 peer must fit in a report");
static_assert((1 + udp_drop_count) * sizeof(std::uint32_t) <= sizeof(ChildReport::peer_address),
              "the UDP counts must fit in a report");

// Child exit statuses: the master tells a child that said all it had to say from one that
// failed (or was killed) before it could.
enum ChildExit : int {
    child_reported = 0,       // every record it owed is in the pipe
    child_report_failed = 2,  // the report pipe was gone (the master died)
    child_setup_failed = 3,   // setup failed (epoll, a UDP rate table); nothing was echoed
};

}  // namespace echod
