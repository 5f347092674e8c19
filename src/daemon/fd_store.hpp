// Restarts that lose nothing: under systemd the listeners echod binds itself go to systemd's
// file descriptor store (FDSTORE=1, sd_pid_notify_with_fds(3); the unit gives it room with
// FileDescriptorStoreMax=), which passes them to the next master in LISTEN_FDS, as socket
// activation does, under the names they were stored with. While one master stops and the
// next starts, the kernel keeps queueing clients on those sockets, so a restart refuses no
// one. The store is kept in step at start and at each reload: what echod listens on is
// stored, what it no longer wants is removed (FDSTOREREMOVE=1). Outside systemd (no
// NOTIFY_SOCKET) and under socket activation nothing is stored.
#pragma once

#include "daemon/config.hpp"
#include "daemon/listener.hpp"
#include "daemon/service_manager.hpp"
#include "daemon/systemd_protocol.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace echod {

// The FDNAME a listener's TCP socket ("tcp") or UDP socket ("udp") is stored under:
// "echod-tcp-127.0.0.1-7", "echod-udp-[--1]-7". systemd separates names with ':' in
// LISTEN_FDNAMES and allows no control characters: each of those is written '-'.
std::string fd_store_name(const std::string& kind, const Endpoint& bound);
// Whether a name in LISTEN_FDNAMES is one echod stores under. Any other is a socket unit's
// (FileDescriptorName=, by default the unit's name, "echod.socket").
bool is_fd_store_name(const std::string& name);

// What echod has in the store, as far as it knows: what systemd passed back at start, and
// what it stored and removed since.
class FdStore {
public:
    // Takes out of `passed` the descriptors that come from the store. Each listening TCP
    // socket and bound UDP socket comes back as a stored Listener (a UDP one in `udp`, with
    // `fd` empty), for open_stored_listeners(); one that is neither is logged and closed,
    // and removed from the store at the next sync().
    std::vector<Listener> take_back(std::vector<PassedFd>& passed);

    // open_listeners() with the stored sockets from take_back(): each TCP one bound to a
    // configured address (and to the configured port, unless that is 0) is taken over with
    // its UDP twin, and so is a UDP one whose TCP twin is missing (with udp = on; its TCP
    // socket is bound afresh). Before anything is bound, the stored sockets not taken over
    // (and the unusable ones) are removed from the store and closed, since they may hold
    // an address and port the config now binds; as systemd closes its copies only when it
    // gets to the message, binds then find the address in use for up to 2 s. `stored` is
    // left empty. Logs which listeners came from the store.
    std::vector<Listener> open_stored_listeners(const Config& config,
                                                std::vector<Listener>& stored,
                                                ServiceManager& service);

    // Makes the store hold the sockets of `listeners` (the TCP socket and the UDP one of
    // each that echod bound; adopted ones are the socket unit's) and nothing else: removes
    // the others, then stores what is missing, and marks each listener whose TCP socket is
    // stored. `dropped`: listeners a reload let go, which are echod's alone again (to shut
    // down). Does nothing but that without a store (no NOTIFY_SOCKET).
    void sync(std::vector<Listener>& listeners, ServiceManager& service,
              std::vector<Listener>* dropped = nullptr);

private:
    class Shown;  // the sockets removed or stored, for the log
    struct Entry {
        std::string name;
        std::string kind;   // "tcp", "udp"
        std::string shown;  // the address it is bound to, for the log
        dev_t device = 0;   // which socket (fstat): a name may come to stand for another
        ino_t inode = 0;
    };
    static Entry entry(std::string name, const std::string& kind, const Endpoint& bound, int fd);
    // FDSTOREREMOVE=1 for `name`: systemd closes every descriptor stored under it, so each
    // entry of that name is forgotten (a wanted one is stored again at the next sync()).
    void remove(const std::string& name, ServiceManager& service, Shown& removed);
    std::vector<Entry> held_;
};

}  // namespace echod
