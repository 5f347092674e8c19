#include "daemon/fd_store.hpp"

#include "daemon/log_events.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

namespace echod {
namespace {

const std::string name_prefix = "echod-";

bool same_endpoint(const Endpoint& a, const Endpoint& b)
{
    return format_endpoint(a) == format_endpoint(b);
}

// Each stored UDP socket joins the TCP socket stored on the same address and port, as its
// twin; then each TCP one bound where the config listens takes that address, so that
// open_listeners() takes it over, and then (udp = on) each UDP one without a twin bound
// where the config listens and no TCP one was taken: one socket for each address, as
// open_listeners() takes them. The others get no address: none is configured as "".
void match_stored(const Config& config, std::vector<Listener>& stored)
{
    for (Listener& tcp : stored) {
        for (Listener& udp : stored) {
            if (tcp.fd && !tcp.udp && !udp.fd && udp.udp && same_endpoint(tcp.bound, udp.bound)) {
                tcp.udp = std::move(udp.udp);
            }
        }
    }
    stored.erase(std::remove_if(stored.begin(), stored.end(),
                                [](const Listener& l) { return !l.fd && !l.udp; }),
                 stored.end());
    std::vector<std::string> taken;
    for (const bool tcp : {true, false}) {
        for (Listener& listener : stored) {
            if (static_cast<bool>(listener.fd) != tcp) {
                continue;
            }
            const std::string host = format_host(listener.bound);
            auto in = [&host](const std::vector<std::string>& list) {
                return std::find(list.begin(), list.end(), host) != list.end();
            };
            const bool wanted = (tcp || config.udp) &&
                                (config.port == 0 || config.port == listener.bound.port()) &&
                                in(config.addresses) && !in(taken);
            if (wanted) {
                taken.push_back(host);
            }
            listener.address = wanted ? host : "";
            listener.configured_port = config.port;
        }
    }
}

ino_t inode(const UniqueFd& fd)
{
    struct stat status {};
    return fd && ::fstat(fd.get(), &status) == 0 ? status.st_ino : 0;
}

}  // namespace

// "tcp=A,B udp=C" for the log, the kinds that have any.
class FdStore::Shown {
public:
    void add(const std::string& kind, const std::string& shown)
    {
        std::string& list = kind == "udp" ? udp_ : tcp_;
        list += (list.empty() ? "" : ",") + shown;
    }
    bool empty() const { return tcp_.empty() && udp_.empty(); }
    std::string text() const
    {
        std::string text = tcp_.empty() ? "" : "tcp=" + tcp_;
        return udp_.empty() ? text : text + (text.empty() ? "" : " ") + "udp=" + udp_;
    }

private:
    std::string tcp_;
    std::string udp_;
};

std::string fd_store_name(const std::string& kind, const Endpoint& bound)
{
    std::string name = name_prefix + kind + "-" + format_endpoint(bound);
    for (char& c : name) {
        if (c == ':' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = '-';
        }
    }
    return name.substr(0, 255);  // systemd's limit; an address is far shorter
}

bool is_fd_store_name(const std::string& name)
{
    return name.rfind(name_prefix + "tcp-", 0) == 0 || name.rfind(name_prefix + "udp-", 0) == 0;
}

FdStore::Entry FdStore::entry(std::string name, const std::string& kind, const Endpoint& bound,
                              int fd)
{
    struct stat status {};
    ::fstat(fd, &status);  // a descriptor echod holds: it cannot fail
    return {std::move(name), kind, format_endpoint(bound), status.st_dev, status.st_ino};
}

std::vector<Listener> FdStore::take_back(std::vector<PassedFd>& passed)
{
    std::vector<Listener> stored;
    for (auto it = passed.begin(); it != passed.end();) {
        if (!is_fd_store_name(it->name)) {
            ++it;
            continue;
        }
        PassedFd fd = std::move(*it);
        it = passed.erase(it);
        const std::string kind = fd.name.substr(name_prefix.size(), 3);
        // Held until removed, usable or not: systemd holds it.
        held_.push_back({fd.name, kind, fd.name, 0, 0});
        try {
            Listener listener = adopt_listener(std::move(fd.fd), fd.name, "fd store");
            listener.adopted = false;  // echod's own, which systemd keeps a copy of
            listener.stored = true;
            const int socket = listener.fd ? listener.fd.get() : listener.udp.get();
            held_.back() = entry(fd.name, listener.fd ? "tcp" : "udp", listener.bound, socket);
            stored.push_back(std::move(listener));
        } catch (const std::system_error& e) {
            log_fd_store_unusable(fd.name, e.what());
        }
    }
    return stored;
}

void FdStore::sync(std::vector<Listener>& listeners, ServiceManager& service,
                   std::vector<Listener>* dropped)
{
    if (dropped != nullptr) {
        for (Listener& listener : *dropped) {
            listener.stored = false;
        }
    }
    if (!service.has_fd_store()) {
        return;
    }
    struct Wanted {
        Entry entry;
        int fd;
        Listener* tcp;  // the listener to mark stored; null for a UDP socket
    };
    std::vector<Wanted> wanted;
    for (Listener& listener : listeners) {
        if (listener.adopted) {
            continue;
        }
        if (listener.fd) {
            wanted.push_back({entry(fd_store_name("tcp", listener.bound), "tcp", listener.bound,
                                    listener.fd.get()),
                              listener.fd.get(), &listener});
        }
        if (listener.udp) {
            wanted.push_back({entry(fd_store_name("udp", listener.bound), "udp", listener.bound,
                                    listener.udp.get()),
                              listener.udp.get(), nullptr});
        }
    }
    auto same = [](const Entry& a, const Entry& b) {
        return a.name == b.name && a.device == b.device && a.inode == b.inode;
    };
    // Removed first: a name that now stands for another socket is free again before that
    // one is stored, and the store never holds more than the larger of the two sets.
    std::vector<std::string> unwanted;
    for (const Entry& e : held_) {
        if (std::none_of(wanted.begin(), wanted.end(),
                         [&](const Wanted& w) { return same(w.entry, e); }) &&
            std::find(unwanted.begin(), unwanted.end(), e.name) == unwanted.end()) {
            unwanted.push_back(e.name);
        }
    }
    Shown removed;
    for (const std::string& name : unwanted) {
        remove(name, service, removed);
    }
    Shown stored;
    for (Wanted& w : wanted) {
        bool held = std::any_of(held_.begin(), held_.end(),
                                [&](const Entry& e) { return same(w.entry, e); });
        if (!held) {
            const std::string why = service.store_fd(w.entry.name, w.fd);
            held = why.empty();
            if (held) {
                stored.add(w.entry.kind, w.entry.shown);
                held_.push_back(w.entry);
            } else {
                log_fd_store_failed(w.entry.name, why);
            }
        }
        if (w.tcp != nullptr) {
            w.tcp->stored = held;
        }
    }
    if (!removed.empty()) {
        log_fd_store_changed("removed", removed.text());
    }
    if (!stored.empty()) {
        log_fd_store_changed("stored", stored.text());
    }
}

void FdStore::remove(const std::string& name, ServiceManager& service, Shown& removed)
{
    service.remove_fd(name);
    for (auto it = held_.begin(); it != held_.end();) {
        if (it->name == name) {
            removed.add(it->kind, it->shown);
            it = held_.erase(it);
        } else {
            ++it;
        }
    }
}

std::vector<Listener> FdStore::open_stored_listeners(const Config& config,
                                                     std::vector<Listener>& stored,
                                                     ServiceManager& service)
{
    // How long systemd may take to close what it is asked to remove: it reads the
    // message in its own time.
    constexpr std::chrono::seconds removal_delay{2};
    match_stored(config, stored);
    std::vector<ino_t> kept;
    for (Listener& listener : stored) {
        if (!listener.address.empty()) {
            if (!config.udp) {
                listener.udp.reset();
            }
            for (const UniqueFd* fd : {&listener.fd, &listener.udp}) {
                if (const ino_t n = inode(*fd); n != 0) {
                    kept.push_back(n);
                }
            }
        }
    }
    // The rest goes before anything is bound: a socket on 127.0.0.1:7, in the store and
    // here, would keep 0.0.0.0:7 from being bound, and the unit from starting at all.
    std::vector<std::string> unwanted;
    for (const Entry& e : held_) {
        if ((e.inode == 0 || std::find(kept.begin(), kept.end(), e.inode) == kept.end()) &&
            std::find(unwanted.begin(), unwanted.end(), e.name) == unwanted.end()) {
            unwanted.push_back(e.name);
        }
    }
    Shown removed;
    for (const std::string& name : unwanted) {
        remove(name, service, removed);
    }
    if (!removed.empty()) {
        log_fd_store_changed("removed", removed.text());
    }
    stored.erase(std::remove_if(stored.begin(), stored.end(),
                                [](const Listener& l) { return l.address.empty(); }),
                 stored.end());
    const Clock::time_point in_use_until =
        unwanted.empty() ? Clock::time_point{} : Clock::now() + removal_delay;
    for (Listener& listener : stored) {
        if (!listener.fd) {  // a UDP socket whose TCP twin the store lost
            listener = open_tcp_beside(std::move(listener), config, in_use_until);
            listener.stored = false;  // stored at the next sync()
        }
    }
    std::vector<ino_t> stored_udp;  // which UDP sockets came from the store, for the log
    for (const Listener& listener : stored) {
        if (listener.udp) {
            struct stat status {};
            ::fstat(listener.udp.get(), &status);
            stored_udp.push_back(status.st_ino);
        }
    }
    std::vector<Listener> listeners = open_listeners(config, stored, in_use_until);
    stored.clear();
    std::string listening;
    std::string udp;
    for (const Listener& listener : listeners) {
        struct stat status {};
        if (listener.stored) {
            listening += (listening.empty() ? "" : ",") + format_endpoint(listener.bound);
        }
        if (listener.udp && ::fstat(listener.udp.get(), &status) == 0 &&
            std::find(stored_udp.begin(), stored_udp.end(), status.st_ino) != stored_udp.end()) {
            udp += (udp.empty() ? "" : ",") + format_endpoint(listener.bound);
        }
    }
    if (!listening.empty() || !udp.empty()) {
        log_fd_store_taken(listening, udp);
    }
    return listeners;
}

}  // namespace echod
