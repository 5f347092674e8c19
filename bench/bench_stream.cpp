// stream: P connections each send T bytes and read them back at the same time, then shut
// their sending side and wait for the server's EOF. Measures echoed bytes per second.
#include "bench_modes.hpp"
#include "bench_proxy_header.hpp"
#include "bench_report.hpp"

#include <iostream>

namespace bench {

namespace {

constexpr std::size_t receive_buffer = 256 * 1024;
constexpr auto sweep_interval = std::chrono::seconds(1);

struct StreamConn {
    echod::UniqueFd fd;
    bool connecting = true;
    Clock::time_point last_progress;
    std::uint64_t last_moved = 0;
    Exchange exchange;
};

class StreamRun {
public:
    explicit StreamRun(const Options& options);
    int run();

private:
    void start(std::size_t index);
    void handle(const epoll_event& event);
    void end(std::size_t index, Clock::time_point now);
    void fail(std::size_t index, ErrorKind kind, const char* call, int error,
              Clock::time_point now);
    void sweep_stalled(Clock::time_point now);
    void report() const;

    const Options& options_;
    Poller poller_;
    std::vector<StreamConn> conns_;
    std::vector<char> scratch_;
    ErrorCounts errors_;
    std::size_t open_ = 0;
    Clock::time_point first_connect_, last_end_;
};

StreamRun::StreamRun(const Options& options)
    : options_(options), conns_(static_cast<std::size_t>(options.connections)),
      scratch_(receive_buffer)
{
}

int StreamRun::run()
{
    first_connect_ = Clock::now();
    last_end_ = first_connect_;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        start(i);
    }
    Clock::time_point next_sweep = first_connect_ + sweep_interval;
    while (open_ > 0) {
        const std::size_t ready = poller_.wait(ms_until(Clock::now(), next_sweep, 1000));
        for (std::size_t i = 0; i < ready; ++i) {
            handle(poller_.event(i));
        }
        const Clock::time_point now = Clock::now();
        if (now >= next_sweep) {
            sweep_stalled(now);
            next_sweep = now + sweep_interval;
        }
    }
    report();
    return exit_status(errors_);
}

void StreamRun::start(std::size_t index)
{
    StreamConn& conn = conns_[index];
    Dialed dialed = dial(options_.target, std::nullopt);
    const Clock::time_point now = Clock::now();
    if (!dialed.fd) {
        errors_.add(ErrorKind::connect, dialed.call, dialed.error);
        last_end_ = now;
        return;
    }
    conn.fd = std::move(dialed.fd);
    conn.connecting = !dialed.connected;
    conn.last_progress = now;
    conn.exchange.begin(Pattern(index + 1), 0, options_.bytes, true,
                        connection_header(options_, conn.fd.get()).bytes());
    ++open_;
    poller_.add(conn.fd.get(), slot_key(index, 0));
}

void StreamRun::handle(const epoll_event& event)
{
    const std::size_t index = key_index(event.data.u64);
    StreamConn& conn = conns_[index];
    if (!conn.fd) {
        return;
    }
    const Clock::time_point now = Clock::now();
    if (conn.connecting) {
        if ((event.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
            return;
        }
        if (const int error = connect_error(conn.fd.get())) {
            fail(index, ErrorKind::connect, "connect", error, now);
            return;
        }
        conn.connecting = false;
    }
    const Step step = conn.exchange.pump(conn.fd.get(), scratch_);
    if (conn.exchange.progress() != conn.last_moved) {
        conn.last_moved = conn.exchange.progress();
        conn.last_progress = now;
    }
    if (step == Step::complete) {
        end(index, now);
    } else if (step != Step::waiting) {
        fail(index, error_of(step), conn.exchange.failed_call(), conn.exchange.failed_errno(), now);
    }
}

void StreamRun::end(std::size_t index, Clock::time_point now)
{
    conns_[index].fd.reset();
    --open_;
    last_end_ = now;
}

void StreamRun::fail(std::size_t index, ErrorKind kind, const char* call, int error,
                     Clock::time_point now)
{
    errors_.add(kind, call, error);
    end(index, now);
}

void StreamRun::sweep_stalled(Clock::time_point now)
{
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        if (conns_[i].fd && now - conns_[i].last_progress >= stall_limit) {
            fail(i, ErrorKind::timeout, "no progress for 10 s", 0, now);
        }
    }
}

void StreamRun::report() const
{
    std::uint64_t echoed = 0;
    for (const StreamConn& conn : conns_) {
        echoed += conn.exchange.received();
    }
    const double seconds = seconds_between(first_connect_, last_end_);
    const double mbps = seconds > 0 ? static_cast<double>(echoed) / 1e6 / seconds : 0;
    std::cout << "RESULT mode=stream label=" << options_.label << " p=" << options_.connections
              << " bytes_each=" << options_.bytes << " seconds=" << fixed(seconds, 3)
              << " mbps=" << fixed(mbps, 1) << " " << errors_.fields() << std::endl;
}

}  // namespace

int run_stream(const Options& options)
{
    std::cerr << "echod-bench: stream against " << options.target.text
              << ": p=" << options.connections << " bytes_each=" << options.bytes
              << (options.proxy_v2 ? ", PROXY v2 header first" : "") << "\n";
    return StreamRun(options).run();
}

}  // namespace bench
