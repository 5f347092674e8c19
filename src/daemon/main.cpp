// echod: a TCP echo daemon (RFC 862), one process per connection.
// Parse, check, init logging, bind, run; map failures to exit codes (daemon/exit_codes.hpp,
// echod(8) EXIT STATUS).
#include "daemon/config.hpp"
#include "daemon/exit_codes.hpp"
#include "daemon/fd_store.hpp"
#include "daemon/listener.hpp"
#include "common/signals.hpp"
#include "daemon/log.hpp"
#include "daemon/log_events.hpp"
#include "daemon/master.hpp"
#include "daemon/pid_file.hpp"
#include "daemon/privileges.hpp"
#include "daemon/reload_request.hpp"
#include "daemon/service_manager.hpp"

#include "os/standard_descriptors.hpp"

#include <iostream>

#ifndef ECHOD_VERSION
#define ECHOD_VERSION "unknown"
#endif

namespace {

using namespace echod::exit_status;

// A config error at start is an operator's typo, caught before echod is a daemon: on a
// terminal (or a pipe, a file) it reads as other Unix tools' do, "echod: FILE:LINE: ...".
// Under systemd it stays a log line with its priority, so `journalctl -p err` finds it.
void report_config_error(const std::string& why)
{
    if (echod::stderr_is_journal()) {
        echod::log_init();
        echod::log_config_error(why);
    } else {
        std::cerr << "echod: " << why << "\n";
    }
}

// `echod --reload PID` (the unit's ExecReload): 0 once the new settings are live.
int reload(pid_t pid)
{
    constexpr std::chrono::seconds answer_timeout{30};
    echod::log_init();
    try {
        switch (echod::request_reload(pid, answer_timeout)) {
        case echod::ReloadOutcome::applied:
            return exit_ok;
        case echod::ReloadOutcome::rejected:
            echod::log_reload_request_rejected(pid);
            return exit_reload_rejected;
        case echod::ReloadOutcome::stopping:
            echod::log_reload_request_stopping(pid);
            return exit_reload_rejected;
        case echod::ReloadOutcome::no_answer:
            break;
        }
        echod::log_reload_request_unanswered(pid, answer_timeout);
    } catch (const std::runtime_error& e) {  // a failed call, or NotAMaster: nothing sent
        echod::log_reload_request_failed(e.what());
    }
    return exit_unavailable;
}

int run(const echod::CommandLine& command_line)
{
    using Action = echod::CommandLine::Action;
    if (command_line.action == Action::help) {
        std::cout << echod::usage_text();
        return exit_ok;
    }
    if (command_line.action == Action::version) {
        std::cout << "echod " ECHOD_VERSION "\n";
        return exit_ok;
    }
    if (command_line.action == Action::reload) {
        return reload(command_line.reload_pid);
    }
    if (command_line.action == Action::check_config && command_line.quiet) {
        try {
            echod::load_config(command_line);
            return exit_ok;
        } catch (const echod::ConfigError&) {
            return exit_config;
        }
    }
    echod::block_master_signals();
    echod::log_init();
    echod::Config config = echod::load_config(command_line);
    if (command_line.action == Action::check_config) {
        std::cout << echod::format_config(config);
        return exit_ok;
    }
    echod::log_set_level(config.log_level);
    // Before binding: a second echod started with the same pid_file says so, instead of
    // failing on the port (or, on another port, running beside the first).
    echod::PidFile pid_file(config.pid_file);
    // Read before binding: what the fd store holds and the config no longer wants is
    // removed from it (a notification) before anything is bound.
    echod::ServiceManager service;
    // Sockets passed by systemd: the socket unit's replace address, port and backlog from
    // the config; those it kept in the fd store for a restart are taken over where the
    // config still wants them.
    std::vector<echod::PassedFd> passed = echod::take_listen_fds();
    echod::FdStore fd_store;
    std::vector<echod::Listener> stored = fd_store.take_back(passed);
    std::vector<echod::Listener> listeners = echod::adopt_listeners(std::move(passed));
    const bool socket_activated = !listeners.empty();
    if (socket_activated) {
        echod::log_socket_activation(echod::format_listeners(listeners), config.path);
    } else {
        listeners = fd_store.open_stored_listeners(config, stored, service);
    }
    stored.clear();  // socket activation: removed from the store before the ready line
    echod::drop_privileges(config);
    // In master-only memory: its fields are written on every connection, and a child
    // needs none of them (os/master_only.hpp).
    const auto master = echod::make_master_only<echod::Master>(
        command_line, std::move(config), std::move(listeners), socket_activated,
        std::move(service), std::move(fd_store));
    try {
        return master->run();
    } catch (const std::exception& e) {  // after start-up: a bug, not a start failure
        echod::log_fatal(e.what());
        return exit_software;
    }
}

}  // namespace

int main(int argc, char* argv[])
{
    if (!echod::ensure_standard_descriptors()) {
        return exit_oserr;
    }
    try {
        return run(echod::parse_command_line(argc, argv));
    } catch (const echod::UsageError& e) {
        std::cerr << "echod: " << e.what() << "\nTry 'echod --help'.\n";
        return exit_usage;
    } catch (const echod::ConfigError& e) {
        report_config_error(e.what());
        return exit_config;
    } catch (const std::runtime_error& e) {
        // A failed system call (std::system_error) or a refused pid file, before the
        // master ran: the start failed. (Once it runs, run() reports a bug as fatal.)
        echod::log_cannot_start(e.what());
        return exit_oserr;
    } catch (const std::exception& e) {
        echod::log_fatal(e.what());
        return exit_software;
    }
}
