// rate: C closed-loop clients, each connecting, echoing K bytes and closing, over and over.
#include "bench_modes.hpp"
#include "bench_proxy_header.hpp"
#include "bench_report.hpp"

#include <algorithm>
#include <iostream>

namespace bench {

namespace {

// Samples are kept whole (percentiles need them all); this covers ~100k connections/s
// for 10 s before the vector has to grow.
constexpr std::size_t samples_reserved = std::size_t{1} << 20;
constexpr auto sweep_interval = std::chrono::seconds(1);
constexpr int max_wait_ms = 100;

struct RateSlot {
    echod::UniqueFd fd;
    std::uint32_t generation = 0;
    bool connecting = false;
    Clock::time_point started;        // just before connect()
    Clock::time_point last_progress;
    std::uint64_t last_moved = 0;
    Exchange exchange;
};

class RateRun {
public:
    explicit RateRun(const Options& options);
    int run();

private:
    void set_deadlines(Clock::time_point begin);
    void loop();
    void start(std::size_t index, Clock::time_point now);
    void start_idle(Clock::time_point now);
    void handle(const epoll_event& event);
    Step advance(RateSlot& slot, Clock::time_point now);
    void succeed(std::size_t index, Clock::time_point now);
    void fail(std::size_t index, ErrorKind kind, const char* call, int error,
              Clock::time_point now);
    void count_error(ErrorKind kind, const char* call, int error, Clock::time_point now);
    void settle(std::size_t index, Clock::time_point now);
    void sweep_stalled(Clock::time_point now);
    void time_out_leftovers(Clock::time_point now);
    int wait_ms(Clock::time_point now) const;
    void report() const;

    const Options& options_;
    Poller poller_;
    std::vector<RateSlot> slots_;
    std::vector<std::size_t> idle_;  // failed to start at once: retried on the next turn
    std::vector<char> scratch_;
    std::vector<std::int64_t> samples_ns_;
    ErrorCounts errors_;
    std::uint64_t warmup_errors_ = 0;
    std::uint64_t connections_started_ = 0;
    std::size_t active_ = 0;
    Clock::time_point measure_start_, measure_end_, drain_deadline_, next_sweep_;
};

RateRun::RateRun(const Options& options)
    : options_(options), slots_(static_cast<std::size_t>(options.concurrency)),
      scratch_(64 * 1024)
{
    samples_ns_.reserve(samples_reserved);
}

int RateRun::run()
{
    const Clock::time_point begin = Clock::now();
    set_deadlines(begin);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        start(i, begin);
    }
    loop();
    report();
    return exit_status(errors_);
}

void RateRun::set_deadlines(Clock::time_point begin)
{
    const auto span = [](double seconds) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    };
    measure_start_ = begin + span(options_.warmup_s);
    measure_end_ = measure_start_ + span(options_.duration_s);
    // In-flight connections get stall_limit to finish after the measured window.
    drain_deadline_ = measure_end_ + stall_limit;
    next_sweep_ = begin + sweep_interval;
}

void RateRun::loop()
{
    for (;;) {
        const Clock::time_point now = Clock::now();
        if (now >= measure_end_ && active_ == 0) {
            return;
        }
        if (now >= drain_deadline_) {
            time_out_leftovers(now);
            return;
        }
        start_idle(now);
        const std::size_t ready = poller_.wait(wait_ms(now));
        for (std::size_t i = 0; i < ready; ++i) {
            handle(poller_.event(i));
        }
        sweep_stalled(Clock::now());
    }
}

void RateRun::start(std::size_t index, Clock::time_point now)
{
    RateSlot& slot = slots_[index];
    Dialed dialed = dial(options_.target, source_address(options_.target, options_.sources, index));
    if (!dialed.fd) {
        count_error(ErrorKind::connect, dialed.call, dialed.error, now);
        idle_.push_back(index);
        return;
    }
    slot.fd = std::move(dialed.fd);
    ++slot.generation;
    slot.connecting = !dialed.connected;
    slot.started = dialed.started;
    slot.last_progress = now;
    slot.last_moved = 0;
    slot.exchange.begin(Pattern(++connections_started_), 0, options_.size, false,
                        connection_header(options_, slot.fd.get()).bytes());
    ++active_;
    // Edge-triggered: adding a socket reports its current state, so nothing is missed.
    poller_.add(slot.fd.get(), slot_key(index, slot.generation));
}

// A start that failed at once (no descriptors, no source port) is retried one turn later:
// retrying in place would spin without ever waiting.
void RateRun::start_idle(Clock::time_point now)
{
    if (idle_.empty() || now >= measure_end_) {
        return;
    }
    std::vector<std::size_t> retry;
    retry.swap(idle_);
    for (const std::size_t index : retry) {
        start(index, now);
    }
}

void RateRun::handle(const epoll_event& event)
{
    const std::size_t index = key_index(event.data.u64);
    RateSlot& slot = slots_[index];
    if (!slot.fd || slot.generation != key_generation(event.data.u64)) {
        return;
    }
    const Clock::time_point now = Clock::now();
    if (slot.connecting) {
        if ((event.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
            return;
        }
        if (const int error = connect_error(slot.fd.get())) {
            fail(index, ErrorKind::connect, "connect", error, now);
            return;
        }
        slot.connecting = false;
        slot.last_progress = now;
    }
    const Step step = advance(slot, now);
    if (step == Step::complete) {
        succeed(index, now);
    } else if (step != Step::waiting) {
        fail(index, error_of(step), slot.exchange.failed_call(), slot.exchange.failed_errno(), now);
    }
}

Step RateRun::advance(RateSlot& slot, Clock::time_point now)
{
    const Step step = slot.exchange.pump(slot.fd.get(), scratch_);
    if (slot.exchange.progress() != slot.last_moved) {
        slot.last_moved = slot.exchange.progress();
        slot.last_progress = now;
    }
    return step;
}

// Only connections that end inside the measured window count, so warmup and drain
// do not dilute connections per second.
void RateRun::succeed(std::size_t index, Clock::time_point now)
{
    if (now >= measure_start_ && now < measure_end_) {
        const auto latency = now - slots_[index].started;
        samples_ns_.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count());
    }
    settle(index, now);
}

void RateRun::fail(std::size_t index, ErrorKind kind, const char* call, int error,
                   Clock::time_point now)
{
    count_error(kind, call, error, now);
    settle(index, now);
}

void RateRun::count_error(ErrorKind kind, const char* call, int error, Clock::time_point now)
{
    if (now < measure_start_) {
        ++warmup_errors_;
    } else {
        errors_.add(kind, call, error);
    }
}

// The closed loop: a finished client starts its next connection at once, until the
// window ends.
void RateRun::settle(std::size_t index, Clock::time_point now)
{
    slots_[index].fd.reset();
    --active_;
    if (now < measure_end_) {
        start(index, now);
    }
}

void RateRun::sweep_stalled(Clock::time_point now)
{
    if (now < next_sweep_) {
        return;
    }
    next_sweep_ = now + sweep_interval;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].fd && now - slots_[i].last_progress >= stall_limit) {
            fail(i, ErrorKind::timeout, "no progress for 10 s", 0, now);
        }
    }
}

void RateRun::time_out_leftovers(Clock::time_point now)
{
    for (RateSlot& slot : slots_) {
        if (slot.fd) {
            count_error(ErrorKind::timeout, "still open 10 s after the run", 0, now);
            slot.fd.reset();
            --active_;
        }
    }
}

int RateRun::wait_ms(Clock::time_point now) const
{
    if (!idle_.empty() && now < measure_end_) {
        return 1;
    }
    const Clock::time_point next = now < measure_start_ ? measure_start_
                                   : now < measure_end_ ? measure_end_
                                                        : drain_deadline_;
    return ms_until(now, std::min(next, next_sweep_), max_wait_ms);
}

void RateRun::report() const
{
    std::vector<std::int64_t> sorted = samples_ns_;
    std::sort(sorted.begin(), sorted.end());
    const auto us = [&](unsigned per_mille) {
        return (percentile(sorted, per_mille) + 500) / 1000;
    };
    if (warmup_errors_ != 0) {
        std::cerr << "echod-bench: " << warmup_errors_
                  << " errors during the warmup (not counted)\n";
    }
    std::cout << "RESULT mode=rate label=" << options_.label << " c=" << options_.concurrency
              << " size=" << options_.size << " seconds=" << fixed(options_.duration_s, 2)
              << " conns=" << sorted.size()
              << " cps=" << fixed(static_cast<double>(sorted.size()) / options_.duration_s, 1)
              << " p50_us=" << us(500) << " p99_us=" << us(990) << " p999_us=" << us(999) << " "
              << errors_.fields() << std::endl;
}

}  // namespace

int run_rate(const Options& options)
{
    std::cerr << "echod-bench: rate against " << options.target.text
              << ": c=" << options.concurrency << " size=" << options.size << " for "
              << options.duration_s << " s" << (options.proxy_v2 ? ", PROXY v2 header first" : "")
              << "\n";
    return RateRun(options).run();
}

}  // namespace bench
