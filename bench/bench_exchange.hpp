// One echo exchange on a non-blocking socket: send a verifiable byte pattern, read it back,
// check every byte. Shared by all three modes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace bench {

// A pseudo-random byte stream per seed that can be produced and checked at any offset, so
// a sender can resume after a short write and a reader can verify whatever arrived. Each
// connection gets its own seed: a byte from another connection, or a stale one, mismatches.
class Pattern {
public:
    explicit Pattern(std::uint64_t seed = 0);

    void fill(char* out, std::uint64_t offset, std::size_t size) const;
    bool matches(const char* data, std::uint64_t offset, std::size_t size) const;

private:
    std::uint64_t word(std::uint64_t index) const;
    char byte_at(std::uint64_t offset) const;

    std::uint64_t base_;
};

enum class Step { waiting, complete, reset, eof, mismatch };

class Exchange {
public:
    // Sends length bytes of pattern from offset and expects the same bytes back. With
    // half_close, the sending side is shut once all is sent and the exchange completes at
    // the server's EOF (a byte beyond length is a mismatch); without, when length is back.
    // A header (a PROXY header, copied) goes first, in the same send() as the first
    // bytes of the pattern; it is not expected back, and not counted as sent.
    void begin(const Pattern& pattern, std::uint64_t offset, std::uint64_t length,
               bool half_close, std::string_view header = {});

    // Moves bytes both ways until the socket would block. Returns waiting, complete, or the
    // failure; scratch is the receive buffer (shared by all connections of a run).
    Step pump(int fd, std::vector<char>& scratch);

    std::uint64_t received() const { return received_; }
    std::uint64_t progress() const { return sent_ + received_; }
    // After a failed pump: the system call that failed, and its errno (0 for data errors).
    const char* failed_call() const { return failed_call_; }
    int failed_errno() const { return failed_errno_; }

private:
    Step send_some(int fd);
    Step receive_some(int fd, std::vector<char>& scratch);
    void refill(std::string_view header = {});
    Step fail(Step step, const char* call, int error);

    Pattern pattern_;
    std::uint64_t offset_ = 0;
    std::uint64_t length_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    bool half_close_ = false;
    bool shut_ = false;
    std::vector<char> pending_;  // generated but not yet taken by the kernel
    std::size_t pending_begin_ = 0;
    std::size_t header_left_ = 0;  // bytes of the header at pending_begin_ not yet sent
    const char* failed_call_ = nullptr;
    int failed_errno_ = 0;
};

}  // namespace bench
