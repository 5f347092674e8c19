// The PROXY protocol v2 header (HAProxy's doc/proxy-protocol.txt, section 2.2) that a
// balancer puts before a client's bytes. With --proxy-v2 echod-bench plays the balancer:
// every connection it opens begins with one, sent with its first payload and never
// expected back. Written from the spec, not shared with echod's parser, so that the
// benchmark checks that parser instead of agreeing with it.
#pragma once

#include "bench_options.hpp"

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <string_view>

namespace bench {

class ProxyV2Header {
public:
    ProxyV2Header() = default;  // no header: bytes() is empty

    // PROXY command, TCP over IPv4 (0x11) or IPv6 (0x21) as source's family says; the
    // destination must be of the same family. No TLVs.
    ProxyV2Header(const sockaddr_storage& source, const sockaddr_storage& destination);

    std::string_view bytes() const { return {bytes_.data(), size_}; }

private:
    std::array<char, 16 + 36> bytes_{};  // fixed part, then the largest address block
    std::size_t size_ = 0;
};

// With options.proxy_v2, the header for the connection on fd as a balancer would relay it:
// fd's local address is the client, the target the address it reached. One getsockname()
// (the kernel chose the port in connect(), so a connect still in progress has it too);
// throws std::system_error if that fails. Without the option, no header and no call.
ProxyV2Header connection_header(const Options& options, int fd);

}  // namespace bench
