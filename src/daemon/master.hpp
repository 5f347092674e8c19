// The master: one thread, one poll loop over the listeners, a signalfd and the children's
// report pipe. It accepts, applies the limits, forks one child per connection, reaps, logs.
#pragma once

#include "daemon/child_table.hpp"
#include "daemon/config.hpp"
#include "daemon/connection_lines.hpp"
#include "daemon/counters.hpp"
#include "daemon/fd_store.hpp"
#include "daemon/limit_episode.hpp"
#include "daemon/listener.hpp"
#include "daemon/log_events.hpp"
#include "daemon/metrics_file.hpp"
#include "daemon/service_manager.hpp"
#include "common/admission.hpp"
#include "os/unique_fd.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace echod {

class Master {
public:
    // `socket_activated`: the listeners came from systemd, and a reload keeps them whatever
    // the file says about address, port and backlog. `fd_store`: what systemd's fd store
    // held at start; kept in step with the listeners from the ready line on. `service`: the
    // line to systemd.
    Master(CommandLine command_line, Config config, std::vector<Listener> listeners,
           bool socket_activated, ServiceManager service, FdStore fd_store);
    // Runs until stopped by SIGTERM or SIGINT and every child is gone. Returns the exit status.
    int run();

private:
    enum class Phase { running, draining, terminating };
    // A source or a network at its limit, while refusals go on.
    struct ClientLimit {
        LimitEpisode episode;
        std::string name;  // the address, or the network
        ClientLimitKind kind = ClientLimitKind::source;
    };

    // master.cpp: the loop, signals, reload, stop, status.
    void poll_once();
    void end_pause_if_over(Clock::time_point now);
    bool accepting() const;
    void strike_children_limit(Clock::time_point now);  // logs the first strike
    int poll_timeout(Clock::time_point now) const;
    void tick(Clock::time_point now);
    void read_signals();
    bool reload();  // true if the new settings are live
    void begin_stop(bool graceful);
    void signal_children(int signal);
    void note_short_backlog() const;
    SessionLimits session_limits() const;  // what a child gets from config_
    static ClientRules client_rules(const Config& config);
    ListeningState listening_state(const std::string& listening) const;
    std::string counters() const;     // "active=... killed=N", for the status line and STATUS=
    std::string status_text() const;  // STATUS= for systemd

    // master_children.cpp: accept, limits, fork, reports, reaping.
    // Accepts up to `most` connections (then back to poll, so that signals are not
    // starved); returns whether it stopped there (more may wait).
    bool accept_from(const Listener& listener, int most = 64);
    void serve_backlog();  // at a graceful stop
    void admit(UniqueFd conn, const Endpoint& peer);
    // A connection closed before anything was echoed: counted, logged at debug, and
    // summarised as an episode. `report` is the child's `refused` record (null: the master
    // refused it), for the balancer and what was wrong with a header.
    void refuse(const Endpoint& client, Refusal refusal, const ChildReport* report,
                Clock::time_point now);
    bool still_full(const SourceKey& key, const ClientLimit& limit) const;
    unsigned limit_of(ClientLimitKind kind) const;  // max_per_source, max_per_network, rate
    void spawn(UniqueFd conn, const Endpoint& peer, int hold);
    void handle_fork_report(const ChildReport& report, Clock::time_point now);
    void fork_failed(int error, const char* consequence);
    void back_off();  // pauses forking for a time that doubles while failures go on
    void pause_accepting(std::chrono::milliseconds how_long);
    void drain_reports();
    void handle_report(const ChildReport& report, Clock::time_point now);
    void reap_children();
    // Counts and logs a connection that ended: `report` is its child's `finished` record,
    // or null if the child died without one (`wait_status` says how).
    void close_connection(pid_t pid, const Child& child, const ChildReport* report,
                          int wait_status = 0);
    void settle_limits(Clock::time_point now);

    // master_prefork.cpp: spare children, and what they report.
    void maintain_spares(Clock::time_point now);
    bool spawn_spare();
    void retire(pid_t pid);
    void retire_prefork_children();
    void handle_prefork_report(const ChildReport& report, Clock::time_point now);
    void prefork_child_exited(pid_t pid, const Child& child, int wait_status);
    void spare_died(pid_t pid, int wait_status);

    // master_udp.cpp: the UDP child (udp = on), forked, supervised, retired at a reload; not
    // a spare, and not counted against max_children.
    void adopt_udp_sockets();  // systemd's UDP sockets leave listeners_ for udp_adopted_
    void note_udp_sockets() const;
    void maintain_udp(Clock::time_point now);  // forks the UDP child when it is due
    void spawn_udp(Clock::time_point now);
    void back_off_udp(Clock::time_point now);
    void restart_udp();  // at a reload: retire the UDP child, fork one with the new settings
    void udp_child_exited(pid_t pid, int wait_status);
    void handle_udp_report(const ChildReport& report, Clock::time_point now);
    std::optional<Clock::time_point> udp_due(Clock::time_point now) const;
    bool udp_running() const;  // a UDP child is alive, current or retired
    void signal_udp(int signal);
    bool udp_served() const;   // udp = on, and there is a UDP socket to serve
    std::vector<int> udp_sockets() const;
    std::string udp_listening() const;  // the ready line's udp= field; "" when none
    std::string udp_counters() const;   // " udp_echoed=N udp_dropped=N" when udp = on

    // master_metrics.cpp: the metrics_file. `up`: false for the last write to a path.
    void write_metrics(Clock::time_point now, bool up);
    void reload_metrics(const std::string& old_path);  // after a reload that applied

    CommandLine command_line_;
    Config config_;
    std::vector<Listener> listeners_;
    bool socket_activated_;
    pid_t pid_ = ::getpid();  // for the children, who watch for the master's death
    ServiceManager service_;
    FdStore fd_store_;
    bool reload_failed_ = false;  // the last reload kept the old settings; STATUS says so
    std::vector<pollfd, MasterOnlyAllocator<pollfd>> poll_fds_;
    UniqueFd signal_fd_;        // the master reads its signals here
    UniqueFd child_signal_fd_;  // the same set, never read by the master: its children's
    UniqueFd report_read_;
    UniqueFd report_write_;
    ChildTable children_;
    // Per source and per network, shared with every child: not in the Master object, which
    // is master-only memory (main.cpp).
    std::unique_ptr<Admission> admission_ = std::make_unique<Admission>();
    // Built from config_, in ordinary memory for the children to read; replaced at reload.
    std::unique_ptr<const ClientRules> rules_;
    std::size_t spawn_rate_ = 1;
    bool spares_short_ = false;  // prefork: fewer spares than wanted, fork more next pass
    Clock::time_point next_retire_{};
    Counters stats_;
    ConnectionLines connection_lines_;  // per-connection lines, or summaries under a flood
    LimitEpisode children_limit_;
    LimitEpisode fork_limit_;
    LimitEpisode spare_limit_;  // prefork: spares dying unasked
    LimitEpisode descriptor_limit_;
    // By ClientLimitKind: a source over its rate and at max_per_source are two episodes.
    std::array<std::unordered_map<SourceKey, ClientLimit, SourceKeyHash>, 3> client_limits_;
    // Refusals that are not one client's limit (allow/deny, proxy_trusted, bad headers).
    std::array<LimitEpisode, refusal_count> refusals_;
    std::optional<Clock::time_point> paused_until_;
    std::chrono::milliseconds backoff_{100};
    Phase phase_ = Phase::running;
    Clock::time_point deadline_{};
    bool killed_ = false;
    std::vector<Listener> udp_adopted_;  // UDP sockets systemd passed: served when udp = on
    pid_t udp_pid_ = 0;                  // the UDP child; 0: none
    std::vector<pid_t> udp_retired_;     // UDP children asked to exit, not yet reaped
    std::optional<Clock::time_point> udp_fork_at_;  // the UDP child died: fork again then
    std::chrono::milliseconds udp_backoff_{100};
    LimitEpisode udp_down_;   // the UDP child dying unasked, or not forked
    LimitEpisode udp_drops_;  // datagrams dropped
    UdpCounts udp_episode_;   // dropped during udp_drops_
    MetricsFile metrics_{config_.metrics_file};
    MetricsText metrics_text_;  // kept between writes: no allocation once it is large enough
    // When the master started, in seconds since the epoch.
    std::int64_t started_ = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
};

}  // namespace echod
