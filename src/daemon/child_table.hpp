// The master's record of its live children: who they serve, since when, what they reported.
// (What they hold against max_per_source and max_per_network is in ClientCounts.)
#pragma once

#include "os/address.hpp"
#include "child/child.hpp"
#include "os/clock.hpp"
#include "os/master_only.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

namespace echod {

struct Child {
    Endpoint peer;  // the client: the peer, or the one a PROXY header named
    Clock::time_point started;
    int hold = -1;          // its record in ClientCounts
    std::optional<ChildReport> report;
    bool prefork = false;   // forked ahead: a spare until it reports a connection
    bool busy = true;       // serving a connection (a fork-mode child always is)
    bool retiring = false;  // asked to exit, or exits after its connection: not a spare
    std::optional<Endpoint> via;  // the balancer, when a PROXY header named the client
    bool local = false;     // a PROXY LOCAL connection: the balancer's own (health check)
    bool refused = false;   // fork mode: the child closed its connection unserved
};

class ChildTable {
public:
    // A fork-mode child, serving `peer`.
    void add(pid_t pid, const Endpoint& peer, Clock::time_point started, int hold);
    // A prefork child, spare.
    void add_spare(pid_t pid, int hold);
    // A prefork child accepted the client its `accepted` record names.
    void begin_connection(const ChildReport& accepted, Clock::time_point started);
    // A fork-mode child behind a PROXY listener learned who its client is.
    void name_client(const ChildReport& accepted);
    // A fork-mode child closed its connection unserved; it exits without a `finished`
    // record.
    void refused(pid_t pid);
    // A prefork child's connection ended; returns it (for the log line). `last`: the child
    // exits now instead of waiting for the next connection.
    std::optional<Child> end_connection(pid_t pid, bool last);
    // Asks nothing of the child; records that it was asked to exit.
    void retire(pid_t pid);
    // Removes the child (reaped) and returns it; its counts in this table go with it. Its
    // hold in ClientCounts is the caller's to reap.
    std::optional<Child> take(pid_t pid);
    const Child* find(pid_t pid) const;
    void attach(const ChildReport& report);
    bool reported(pid_t pid) const;

    std::size_t size() const { return children_.size(); }
    bool empty() const { return children_.empty(); }
    std::size_t busy() const { return busy_; }
    std::size_t spares() const { return spares_; }
    std::vector<pid_t> pids() const;
    std::optional<pid_t> any_spare() const;

private:
    // Moves `child` to a new state, keeping the counts in step.
    void set_state(Child& child, bool busy, bool retiring);
    void count(const Child& child, int sign);

    // Written on every connection: master-only memory (os/master_only.hpp).
    std::unordered_map<pid_t, Child, std::hash<pid_t>, std::equal_to<pid_t>,
                       MasterOnlyAllocator<std::pair<const pid_t, Child>>>
        children_;
    std::size_t busy_ = 0;
    std::size_t spares_ = 0;
};

}  // namespace echod
