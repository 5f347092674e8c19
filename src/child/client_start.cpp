#include "child/client_start.hpp"

#include "common/child_path.hpp"
#include "os/clock.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace echod {
namespace {

struct HeaderRead {
    bool complete = false;
    ProxyHeader header;
    const char* why = "";
    std::size_t read = 0;   // bytes in the buffer, the header's and the client's
    bool draining = false;  // a graceful stop was asked while the header was awaited
};

// Reads until the bytes in `buffer` hold a whole header, or it cannot be one. Reads never
// ask for more than the buffer holds, so a client's bytes after a short header may come
// along; they stay in the buffer.
ECHOD_CHILD_PATH HeaderRead read_header(int conn, const ClientRules& rules, int control,
                                        ReadControl read_control, void* context,
                                        HeaderBuffer& buffer)
{
    HeaderRead result;
    const Clock::time_point deadline = Clock::now() + rules.proxy_timeout;
    for (;;) {
        pollfd fds[2] = {{conn, POLLIN, 0}, {control, POLLIN, 0}};
        const Clock::time_point now = Clock::now();
        if (now >= deadline) {
            result.why = "no complete PROXY header within proxy_timeout";
            return result;
        }
        const int ready = ::poll(fds, control >= 0 ? 2 : 1, poll_timeout_ms(now, deadline));
        if (ready < 0 && errno != EINTR) {
            result.why = "poll failed while waiting for the PROXY header";
            return result;
        }
        // A graceful stop lets the connection go on as at any other moment (the header is
        // most likely in flight: a balancer sends it as it connects), to drain once it is
        // served; a stop now closes it.
        if (ready > 0 && control >= 0 && fds[1].revents != 0) {
            const StopRequest request =
                read_control != nullptr ? read_control(context) : StopRequest::now;
            if (request == StopRequest::now) {
                result.why = "stopped while waiting for the PROXY header";
                return result;
            }
            result.draining = result.draining || request == StopRequest::graceful;
        }
        if (ready <= 0 || fds[0].revents == 0) {
            continue;
        }
        const ssize_t n = ::recv(conn, buffer.bytes + result.read,
                                 sizeof buffer.bytes - result.read, 0);
        if (n == 0) {
            result.why = "closed before the PROXY header was complete";
            return result;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            result.why = "connection failed before the PROXY header was complete";
            return result;
        }
        result.read += static_cast<std::size_t>(n);
        const ProxyParse parse = parse_proxy_header(buffer.bytes, result.read, rules.proxy_version);
        if (parse.status == ProxyParse::Status::complete) {
            result.complete = true;
            result.header = parse.header;
            return result;
        }
        if (parse.status == ProxyParse::Status::invalid) {
            result.why = parse.error;
            return result;
        }
    }
}

}  // namespace

ECHOD_CHILD_PATH ClientStart start_client(int conn, const Endpoint& peer,
                                          const ClientRules& rules, Admission& admission,
                                          int hold, bool counted, int control,
                                          ReadControl read_control, void* context,
                                          HeaderBuffer& buffer)
{
    ClientStart start;
    start.client = peer;
    if (rules.proxy) {
        if (!counted && !rules.proxy_trusted.contains(peer)) {  // the master checked its own
            start.refusal = Refusal::untrusted;
            return start;
        }
        const HeaderRead read = read_header(conn, rules, control, read_control, context, buffer);
        if (!read.complete) {
            start.refusal = Refusal::bad_header;
            start.why = read.why;
            return start;
        }
        start.pending = {buffer.bytes + read.header.length, read.read - read.header.length,
                         read.draining};
        if (read.header.command == ProxyHeader::Command::local) {
            start.local = true;  // the balancer's own: no client to count
            return start;
        }
        if (read.header.source) {
            start.client = *read.header.source;
            start.via = peer;
            start.proxied = true;
        }
        counted = false;  // the master counted no one for a PROXY listener
    }
    if (!counted) {
        start.refusal = admission.admit(hold, start.client, rules, ClientCounts::child_wait);
    }
    return start;
}

}  // namespace echod
