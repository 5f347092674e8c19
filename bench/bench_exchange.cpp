#include "bench_exchange.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bench {

namespace {

// Generated ahead of the kernel at most this much per connection: large enough for few
// send() calls per megabyte, small enough for thousands of connections.
constexpr std::size_t send_chunk = 256 * 1024;

std::uint64_t splitmix64(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

bool would_block(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK;
}

}  // namespace

Pattern::Pattern(std::uint64_t seed) : base_(splitmix64(seed)) {}

std::uint64_t Pattern::word(std::uint64_t index) const
{
    return splitmix64(base_ + index);
}

// Whole words go straight through (this runs for every byte of a stream, both ways); only
// an unaligned head and a short tail take the bytewise path.
void Pattern::fill(char* out, std::uint64_t offset, std::size_t size) const
{
    while (size > 0 && offset % 8 != 0) {
        *out++ = byte_at(offset++);
        --size;
    }
    for (std::uint64_t index = offset / 8; size >= 8; ++index, out += 8, size -= 8, offset += 8) {
        const std::uint64_t w = word(index);
        std::memcpy(out, &w, 8);
    }
    while (size > 0) {
        *out++ = byte_at(offset++);
        --size;
    }
}

bool Pattern::matches(const char* data, std::uint64_t offset, std::size_t size) const
{
    while (size > 0 && offset % 8 != 0) {
        if (*data++ != byte_at(offset++)) {
            return false;
        }
        --size;
    }
    std::uint64_t differ = 0;  // accumulated, so the loop has no branch per word
    for (std::uint64_t index = offset / 8; size >= 8; ++index, data += 8, size -= 8, offset += 8) {
        std::uint64_t got;
        std::memcpy(&got, data, 8);
        differ |= got ^ word(index);
    }
    while (size > 0) {
        differ |= static_cast<unsigned char>(*data++ ^ byte_at(offset++));
        --size;
    }
    return differ == 0;
}

// Byte i%8 of word i/8 in memory order, so that whole-word copies agree with it.
char Pattern::byte_at(std::uint64_t offset) const
{
    const std::uint64_t w = word(offset / 8);
    char bytes[8];
    std::memcpy(bytes, &w, 8);
    return bytes[offset % 8];
}

void Exchange::begin(const Pattern& pattern, std::uint64_t offset, std::uint64_t length,
                     bool half_close, std::string_view header)
{
    pattern_ = pattern;
    offset_ = offset;
    length_ = length;
    sent_ = 0;
    received_ = 0;
    half_close_ = half_close;
    shut_ = false;
    pending_.clear();
    pending_begin_ = 0;
    header_left_ = header.size();
    if (!header.empty()) {
        refill(header);
    }
    failed_call_ = nullptr;
    failed_errno_ = 0;
}

Step Exchange::pump(int fd, std::vector<char>& scratch)
{
    const Step sending = send_some(fd);
    if (sending != Step::waiting) {
        return sending;
    }
    return receive_some(fd, scratch);
}

Step Exchange::fail(Step step, const char* call, int error)
{
    failed_call_ = call;
    failed_errno_ = error;
    return step;
}

// The next chunk of the pattern; a header, given only with the first chunk, goes before it.
void Exchange::refill(std::string_view header)
{
    const auto size =
        static_cast<std::size_t>(std::min<std::uint64_t>(length_ - sent_, send_chunk));
    pending_.resize(header.size() + size);
    std::copy(header.begin(), header.end(), pending_.data());
    pattern_.fill(pending_.data() + header.size(), offset_ + sent_, size);
    pending_begin_ = 0;
}

// Only ever returns waiting (blocked, or all sent) or a failure: completion is the reader's.
Step Exchange::send_some(int fd)
{
    while (sent_ < length_) {
        if (pending_begin_ == pending_.size()) {
            refill();
        }
        const ssize_t n = ::send(fd, pending_.data() + pending_begin_,
                                 pending_.size() - pending_begin_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return would_block(errno) ? Step::waiting : fail(Step::reset, "send", errno);
        }
        const auto taken = static_cast<std::size_t>(n);
        const std::size_t of_header = std::min(taken, header_left_);
        header_left_ -= of_header;
        pending_begin_ += taken;
        sent_ += taken - of_header;
    }
    if (half_close_ && !shut_) {
        if (::shutdown(fd, SHUT_WR) != 0) {
            return fail(Step::reset, "shutdown", errno);
        }
        shut_ = true;
    }
    return Step::waiting;
}

Step Exchange::receive_some(int fd, std::vector<char>& scratch)
{
    for (;;) {
        const std::uint64_t missing = length_ - received_;
        if (missing == 0 && !half_close_) {
            return Step::complete;
        }
        // Waiting for EOF, read a full buffer anyway: a byte too many is a mismatch.
        const std::size_t want =
            half_close_ || missing >= scratch.size() ? scratch.size()
                                                     : static_cast<std::size_t>(missing);
        const ssize_t n = ::recv(fd, scratch.data(), want, 0);
        if (n > 0) {
            const auto got = static_cast<std::size_t>(n);
            if (got > missing || !pattern_.matches(scratch.data(), offset_ + received_, got)) {
                return fail(Step::mismatch, "recv (wrong byte in the echo)", 0);
            }
            received_ += got;
        } else if (n == 0) {
            return missing == 0 ? Step::complete
                                : fail(Step::eof, "recv (EOF before the whole echo)", 0);
        } else if (errno != EINTR) {
            return would_block(errno) ? Step::waiting : fail(Step::reset, "recv", errno);
        }
    }
}

}  // namespace bench
