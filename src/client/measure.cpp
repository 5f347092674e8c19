#include "client/measure.hpp"

#include "os/clock.hpp"
#include "os/sys_error.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <random>
#include <sstream>

namespace echod {
namespace {

// Milliseconds with three decimals, as ping prints them.
std::string ms(double value)
{
    std::ostringstream text;
    text << std::fixed << std::setprecision(3) << value;
    return text.str();
}

std::string ms(Clock::duration duration)
{
    return ms(std::chrono::duration<double, std::milli>(duration).count());
}

// min/avg/max/mdev of a set of durations; mdev as ping computes it, sqrt(E[x^2] - E[x]^2).
class Series {
public:
    void add(Clock::duration duration)
    {
        const double value = std::chrono::duration<double, std::milli>(duration).count();
        min_ = count_ == 0 ? value : std::min(min_, value);
        max_ = std::max(max_, value);
        sum_ += value;
        squares_ += value * value;
        ++count_;
    }
    bool empty() const { return count_ == 0; }
    std::string summary() const
    {
        const double avg = sum_ / static_cast<double>(count_);
        const double mdev = std::sqrt(std::max(0.0, squares_ / static_cast<double>(count_) - avg * avg));
        return ms(min_) + "/" + ms(avg) + "/" + ms(max_) + "/" + ms(mdev) + " ms";
    }

private:
    long count_ = 0;
    double min_ = 0;
    double max_ = 0;
    double sum_ = 0;
    double squares_ = 0;
};

struct RoundTrip {
    bool ok = false;
    bool interrupted = false;  // by SIGINT: neither ok nor failed
    Clock::duration time{};
    std::string problem;  // why not ok
};

// Sends `payload` and reads as many bytes back, comparing each, within `timeout`. The time
// runs from just before the first byte is sent to just after the last byte is received.
// Sending and receiving overlap, so a payload larger than the socket buffers cannot
// deadlock. Nothing beyond the payload is read: on the same connection, a long echo shows
// as a wrong one in the next round trip. `interrupt` becomes readable on SIGINT.
RoundTrip round_trip(int sock, const std::string& payload, std::chrono::milliseconds timeout,
                     int interrupt)
{
    RoundTrip trip;
    std::size_t sent = 0;
    std::size_t received = 0;
    char buffer[64 * 1024];
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + timeout;
    for (;;) {
        if (sent < payload.size()) {
            const ssize_t n = ::send(sock, payload.data() + sent, payload.size() - sent,
                                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                trip.problem = std::string("send: ") + std::strerror(errno);
                return trip;
            }
            sent += n > 0 ? static_cast<std::size_t>(n) : 0;
        }
        pollfd fds[2] = {{sock, static_cast<short>(POLLIN | (sent < payload.size() ? POLLOUT : 0)), 0},
                         {interrupt, POLLIN, 0}};
        const int rc = ::poll(fds, 2, poll_timeout_ms(Clock::now(), deadline));
        if (rc == 0) {
            trip.problem = "no full echo within " + std::to_string(timeout.count()) + " ms (" +
                           std::to_string(received) + " of " + std::to_string(payload.size()) +
                           " bytes back)";
            return trip;
        }
        if (rc < 0 && errno != EINTR) {
            throw_sys_error("poll");
        }
        if (rc > 0 && fds[1].revents != 0) {
            trip.interrupted = true;
            return trip;
        }
        if (rc < 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }
        const ssize_t n = ::recv(sock, buffer, std::min(sizeof buffer, payload.size() - received),
                                 MSG_DONTWAIT);
        const Clock::time_point now = Clock::now();
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            trip.problem = n < 0 ? std::string("recv: ") + std::strerror(errno)
                                 : "the server closed the connection after " +
                                       std::to_string(received) + " of " +
                                       std::to_string(payload.size()) + " bytes";
            return trip;
        }
        const char* differs = std::mismatch(buffer, buffer + n, payload.data() + received).first;
        if (differs != buffer + n) {
            trip.problem = "the reply differs at byte " + std::to_string(received + (differs - buffer));
            return trip;
        }
        received += static_cast<std::size_t>(n);
        if (received == payload.size()) {
            trip.ok = true;
            trip.time = now - start;
            return trip;
        }
    }
}

// New bytes for each round trip: an echo left over from an earlier one cannot pass.
void fill_random(std::string& payload, std::mt19937_64& random)
{
    for (std::size_t i = 0; i < payload.size(); i += 8) {
        const std::uint64_t word = random();
        std::memcpy(&payload[i], &word, std::min<std::size_t>(8, payload.size() - i));
    }
}

// Waits until `when`; false if `interrupt` became readable first.
bool sleep_until(Clock::time_point when, int interrupt)
{
    for (Clock::time_point now = Clock::now(); now < when; now = Clock::now()) {
        const auto left = when - now;
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
        const timespec wait{static_cast<time_t>(seconds.count()),
                            static_cast<long>((left - seconds).count())};
        pollfd pfd{interrupt, POLLIN, 0};
        if (::ppoll(&pfd, 1, &wait, nullptr) > 0) {
            return false;
        }
    }
    return true;
}

// The end of a connection whose echoes all came back: our FIN sent, then the server's close
// awaited for up to `timeout`. Empty if it closed with nothing more; else what was wrong:
// bytes beyond the echo (a reply too long), an error, or no close in time.
std::string closing_problem(int sock, Clock::duration timeout, int interrupt)
{
    if (::shutdown(sock, SHUT_WR) != 0) {
        return std::string("shutdown: ") + std::strerror(errno);
    }
    const Clock::time_point deadline = Clock::now() + timeout;
    std::size_t extra = 0;
    char buffer[4096];
    for (;;) {
        pollfd fds[2] = {{sock, POLLIN, 0}, {interrupt, POLLIN, 0}};
        const int rc = ::poll(fds, 2, poll_timeout_ms(Clock::now(), deadline));
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc > 0 && (fds[1].revents & POLLIN) != 0 && extra == 0) {
            return "";  // Ctrl-C: the run ends, and this round trip stands as it was
        }
        if (rc <= 0 || (fds[1].revents & POLLIN) != 0) {
            return extra > 0 ? std::to_string(extra) + " bytes more than the echo"
                             : "the server did not close within -t";
        }
        const ssize_t n = ::recv(sock, buffer, sizeof buffer, 0);
        if (n == 0) {
            return extra > 0 ? std::to_string(extra) + " bytes more than the echo" : "";
        }
        if (n < 0) {
            return std::string("recv after the echo: ") + std::strerror(errno);
        }
        extra += static_cast<std::size_t>(n);
    }
}

// SIGINT (Ctrl-C) as a readable descriptor: it ends the run with its summary, as in ping.
UniqueFd interrupt_fd()
{
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    check_sys(::sigprocmask(SIG_BLOCK, &interrupt, nullptr), "sigprocmask");
    return UniqueFd(check_sys(::signalfd(-1, &interrupt, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"));
}

class Measurement {
public:
    Measurement(const MeasureTarget& target, const MeasureSettings& settings, std::ostream& out)
        : target_(target), settings_(settings), out_(out), payload_(settings.size, '\0'),
          random_(std::random_device{}()), interrupt_(interrupt_fd())
    {
    }

    MeasureCounts run()
    {
        std::string connection = "a new connection for each round trip";
        if (!settings_.new_connection) {
            const Clock::time_point start = Clock::now();
            connect();
            connection = "one connection to " + peer_ + " (connect=" + ms(Clock::now() - start) + " ms)";
        }
        out_ << "ECHO " << target_.host << " port " << target_.port << ": " << settings_.size
             << " bytes, " << connection << std::endl;
        Clock::time_point next = Clock::now();
        // A report nobody can read (a closed pipe, a full disk) ends the run.
        for (long seq = 1; seq <= settings_.count && out_ && sleep_until(next, interrupt_.get()); ++seq) {
            next = Clock::now() + settings_.interval;
            if (!one_round_trip(seq)) {
                break;
            }
        }
        print_summary();
        return counts_;
    }

private:
    void connect()
    {
        sock_ = connect_to(target_.addresses, target_.host, target_.port, target_.timeout);
        peer_ = peer_address(sock_.get());  // now: after a reset getpeername has no answer
    }

    // False if SIGINT came first; that round trip is not counted.
    bool one_round_trip(long seq)
    {
        std::string connect_time;
        if (!sock_) {  // -N, or the connection before failed
            const Clock::time_point start = Clock::now();
            try {
                connect();
            } catch (const ConnectError& e) {
                ++counts_.failed;
                out_ << "seq=" << seq << " failed: " << e.what() << std::endl;
                return true;
            }
            const Clock::duration took = Clock::now() - start;
            if (settings_.new_connection) {
                connects_.add(took);
                connect_time = " connect=" + ms(took) + " ms";
            }
        }
        fill_random(payload_, random_);
        RoundTrip trip = round_trip(sock_.get(), payload_, target_.timeout, interrupt_.get());
        if (trip.interrupted) {
            return false;
        }
        const std::string from = "from " + peer_ + " port " + target_.port + ": seq=" +
                                 std::to_string(seq) + connect_time;
        // A connection ends with the server's close and nothing more: on each one with -N,
        // and after the last round trip on the one connection.
        if (trip.ok && (settings_.new_connection || seq == settings_.count)) {
            std::string problem = closing_problem(sock_.get(), target_.timeout, interrupt_.get());
            if (!problem.empty()) {
                trip.ok = false;
                trip.problem = problem;
            }
            sock_.reset();
        }
        if (trip.ok) {
            ++counts_.ok;
            round_trips_.add(trip.time);
            out_ << settings_.size << " bytes " << from << " time=" << ms(trip.time) << " ms"
                 << std::endl;
        } else {
            ++counts_.failed;
            out_ << from << " failed: " << trip.problem << std::endl;
        }
        if (!trip.ok) {
            sock_.reset();
        }
        return true;
    }

    void print_summary()
    {
        const long done = counts_.ok + counts_.failed;
        out_ << "\n--- " << target_.host << " port " << target_.port << " echo statistics ---\n"
             << done << (done == 1 ? " round trip, " : " round trips, ") << counts_.ok
             << " ok, " << counts_.failed << " failed\n";
        if (!round_trips_.empty()) {
            out_ << "rtt min/avg/max/mdev = " << round_trips_.summary() << "\n";
        }
        if (!connects_.empty()) {
            out_ << "connect min/avg/max/mdev = " << connects_.summary() << "\n";
        }
        out_.flush();
    }

    const MeasureTarget& target_;
    const MeasureSettings& settings_;
    std::ostream& out_;
    std::string payload_;
    std::mt19937_64 random_;
    UniqueFd interrupt_;
    UniqueFd sock_;
    std::string peer_;
    Series round_trips_;
    Series connects_;
    MeasureCounts counts_;
};

}  // namespace

MeasureCounts measure(const MeasureTarget& target, const MeasureSettings& settings, std::ostream& out)
{
    return Measurement(target, settings, out).run();
}

}  // namespace echod
