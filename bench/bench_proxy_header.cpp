#include "bench_proxy_header.hpp"

#include <netinet/in.h>

#include <cstring>

namespace bench {

namespace {

constexpr char signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr char version_2_proxy = 0x21;
constexpr char tcp_over_ipv4 = 0x11, tcp_over_ipv6 = 0x21;

}  // namespace

// Addresses and ports go in as the sockaddrs hold them, already in network byte order.
ProxyV2Header::ProxyV2Header(const sockaddr_storage& source, const sockaddr_storage& destination)
{
    const bool ipv6 = source.ss_family == AF_INET6;
    const std::size_t block = ipv6 ? 36 : 12;
    char* out = bytes_.data();
    std::memcpy(out, signature, sizeof signature);
    out[12] = version_2_proxy;
    out[13] = ipv6 ? tcp_over_ipv6 : tcp_over_ipv4;
    out[14] = 0;  // the block's length, big-endian; both fit in the low byte
    out[15] = static_cast<char>(block);
    char* at = out + 16;
    const auto put = [&at](const void* data, std::size_t size) {
        std::memcpy(at, data, size);
        at += size;
    };
    if (ipv6) {
        const auto& src = reinterpret_cast<const sockaddr_in6&>(source);
        const auto& dst = reinterpret_cast<const sockaddr_in6&>(destination);
        put(&src.sin6_addr, 16);
        put(&dst.sin6_addr, 16);
        put(&src.sin6_port, 2);
        put(&dst.sin6_port, 2);
    } else {
        const auto& src = reinterpret_cast<const sockaddr_in&>(source);
        const auto& dst = reinterpret_cast<const sockaddr_in&>(destination);
        put(&src.sin_addr, 4);
        put(&dst.sin_addr, 4);
        put(&src.sin_port, 2);
        put(&dst.sin_port, 2);
    }
    size_ = 16 + block;
}

ProxyV2Header connection_header(const Options& options, int fd)
{
    if (!options.proxy_v2) {
        return {};
    }
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    // Not check_sys: its message would be built on every connection.
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
        throw_sys_error("getsockname fd=" + std::to_string(fd));
    }
    return {local, options.target.address};
}

}  // namespace bench
