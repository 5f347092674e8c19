// hold: open N connections and keep them open, to measure what each one costs the server
// in memory; every connection must echo (twice) to count, not merely be accepted.
#include "bench_modes.hpp"
#include "bench_proc_tree.hpp"
#include "bench_proxy_header.hpp"
#include "bench_report.hpp"

#include <iostream>

namespace bench {

namespace {

constexpr std::uint64_t message_size = 16;
// Connects in flight at once: enough to keep a forking server busy, few enough that a
// listen backlog of 128 or more does not overflow and turn into SYN retransmit delays.
constexpr std::size_t max_in_flight = 128;
constexpr auto phase_limit = std::chrono::seconds(60);

enum class HoldState {
    unstarted,
    connecting,
    first_echo,   // connected, waiting for the first message back
    established,
    second_echo,
    echoed,       // both messages came back
    failed,
};

struct HoldConn {
    echod::UniqueFd fd;
    HoldState state = HoldState::unstarted;
    Exchange exchange;
};

class HoldRun {
public:
    explicit HoldRun(const Options& options);
    int run();

private:
    void establish();
    void echo_again();
    void wait_phase(Clock::time_point deadline, bool starting);
    void start_more();
    void start(std::size_t index);
    void handle(const epoll_event& event);
    void connected(std::size_t index, std::uint32_t events);
    void pump(std::size_t index);
    void fail(std::size_t index, ErrorKind kind, const char* call, int error);
    void time_out_pending();
    TreeMemory measure() const;
    void report() const;

    const Options& options_;
    Poller poller_;
    std::vector<HoldConn> conns_;
    std::vector<char> scratch_;
    ErrorCounts errors_;
    std::size_t next_unstarted_ = 0;
    std::size_t in_flight_ = 0;  // connecting or waiting for the first echo
    std::size_t pending_ = 0;    // not yet through the current phase
    std::size_t established_ = 0;
    std::size_t echoed_ = 0;
    double establish_ms_ = 0;
    TreeMemory base_, loaded_;
};

HoldRun::HoldRun(const Options& options)
    : options_(options), conns_(static_cast<std::size_t>(options.connections)), scratch_(4096)
{
}

int HoldRun::run()
{
    base_ = measure();
    if (options_.server_pid > 0) {
        // Children of an earlier run still exiting would inflate the baseline: say so.
        std::cerr << "echod-bench: hold: server tree at start: " << base_.procs << " processes\n";
    }
    establish();
    loaded_ = measure();
    std::cerr << "echod-bench: hold: " << established_ << " of " << conns_.size()
              << " established in " << fixed(establish_ms_, 1) << " ms; server tree "
              << loaded_.procs << " processes\n";
    echo_again();
    conns_.clear();  // closes every connection before the result is out
    report();
    return exit_status(errors_);
}

void HoldRun::establish()
{
    const Clock::time_point begin = Clock::now();
    pending_ = conns_.size();
    wait_phase(begin + phase_limit, true);
    establish_ms_ = seconds_between(begin, Clock::now()) * 1000;
}

// The second message proves each connection is still served, not just counted.
void HoldRun::echo_again()
{
    pending_ = 0;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        if (conns_[i].state == HoldState::established) {
            conns_[i].state = HoldState::second_echo;
            conns_[i].exchange.begin(Pattern(i + 1), message_size, message_size, false);
            ++pending_;
            pump(i);  // edge-triggered: the socket is already writable, no event would come
        }
    }
    wait_phase(Clock::now() + phase_limit, false);
}

void HoldRun::wait_phase(Clock::time_point deadline, bool starting)
{
    for (;;) {
        if (starting) {
            start_more();
        }
        const Clock::time_point now = Clock::now();
        if (pending_ == 0 || now >= deadline) {
            break;
        }
        const std::size_t ready = poller_.wait(ms_until(now, deadline, 1000));
        for (std::size_t i = 0; i < ready; ++i) {
            handle(poller_.event(i));
        }
    }
    time_out_pending();
}

void HoldRun::start_more()
{
    while (in_flight_ < max_in_flight && next_unstarted_ < conns_.size()) {
        start(next_unstarted_++);
    }
}

void HoldRun::start(std::size_t index)
{
    HoldConn& conn = conns_[index];
    Dialed dialed = dial(options_.target, source_address(options_.target, options_.sources, index));
    if (!dialed.fd) {
        conn.state = HoldState::failed;
        --pending_;
        errors_.add(ErrorKind::connect, dialed.call, dialed.error);
        return;
    }
    conn.fd = std::move(dialed.fd);
    conn.state = HoldState::connecting;
    ++in_flight_;
    poller_.add(conn.fd.get(), slot_key(index, 0));
}

void HoldRun::handle(const epoll_event& event)
{
    const std::size_t index = key_index(event.data.u64);
    switch (conns_[index].state) {
    case HoldState::connecting:
        connected(index, event.events);
        break;
    case HoldState::first_echo:
    case HoldState::second_echo:
        pump(index);
        break;
    default:  // between phases a closed connection shows up in the second echo
        break;
    }
}

void HoldRun::connected(std::size_t index, std::uint32_t events)
{
    HoldConn& conn = conns_[index];
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
        return;
    }
    if (const int error = connect_error(conn.fd.get())) {
        fail(index, ErrorKind::connect, "connect", error);
        return;
    }
    conn.state = HoldState::first_echo;
    conn.exchange.begin(Pattern(index + 1), 0, message_size, false,
                        connection_header(options_, conn.fd.get()).bytes());
    pump(index);
}

void HoldRun::pump(std::size_t index)
{
    HoldConn& conn = conns_[index];
    const Step step = conn.exchange.pump(conn.fd.get(), scratch_);
    if (step == Step::waiting) {
        return;
    }
    if (step != Step::complete) {
        fail(index, error_of(step), conn.exchange.failed_call(), conn.exchange.failed_errno());
    } else if (conn.state == HoldState::first_echo) {
        conn.state = HoldState::established;
        --in_flight_;
        --pending_;
        ++established_;
    } else {
        conn.state = HoldState::echoed;
        --pending_;
        ++echoed_;
    }
}

void HoldRun::fail(std::size_t index, ErrorKind kind, const char* call, int error)
{
    HoldConn& conn = conns_[index];
    if (conn.state == HoldState::connecting || conn.state == HoldState::first_echo) {
        --in_flight_;
    }
    conn.state = HoldState::failed;
    conn.fd.reset();
    --pending_;
    errors_.add(kind, call, error);
}

// At a phase deadline, whatever has not got through it (or not even started) failed.
void HoldRun::time_out_pending()
{
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        const HoldState state = conns_[i].state;
        if (state == HoldState::unstarted) {
            conns_[i].state = HoldState::failed;
            --pending_;
            errors_.add(ErrorKind::timeout, "not started within 60 s", 0);
        } else if (state == HoldState::connecting || state == HoldState::first_echo ||
                   state == HoldState::second_echo) {
            fail(i, ErrorKind::timeout, "no echo within 60 s", 0);
        }
    }
    next_unstarted_ = conns_.size();
}

TreeMemory HoldRun::measure() const
{
    return options_.server_pid > 0 ? measure_tree(options_.server_pid) : TreeMemory{};
}

void HoldRun::report() const
{
    const double used = static_cast<double>(loaded_.pss_kb + loaded_.pagetables_kb) -
                        static_cast<double>(base_.pss_kb + base_.pagetables_kb);
    const double per_conn = options_.server_pid > 0 ? used / options_.connections : 0;
    std::cout << "RESULT mode=hold label=" << options_.label << " n=" << options_.connections
              << " established=" << established_ << " echoed=" << echoed_
              << " establish_ms=" << fixed(establish_ms_, 1) << " tree_procs=" << loaded_.procs
              << " pss_kb=" << loaded_.pss_kb << " pagetables_kb=" << loaded_.pagetables_kb
              << " base_pss_kb=" << base_.pss_kb << " base_pagetables_kb=" << base_.pagetables_kb
              << " per_conn_kb=" << fixed(per_conn, 1) << " " << errors_.fields() << std::endl;
}

}  // namespace

int run_hold(const Options& options)
{
    std::cerr << "echod-bench: hold against " << options.target.text << ": n="
              << options.connections << (options.proxy_v2 ? ", PROXY v2 header first" : "")
              << "\n";
    return HoldRun(options).run();
}

}  // namespace bench
