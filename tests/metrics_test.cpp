// metrics_file on the real echod: the Prometheus text file shows exactly what happened,
// parses strictly, is never seen half-written, survives a failing directory with one
// warning, and follows a reload.
#define BOOST_TEST_MODULE metrics
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

// The file is rewritten every 5 s: a change shows within that, plus a margin.
constexpr auto rewrite_within = 15s;

// A sample's series, `name` or `name{label="value",...}` with its labels sorted, and its
// value.
using Samples = std::map<std::string, double>;

// A strict reader of the text exposition format 0.0.4: every line is a comment or a
// sample; `# TYPE` comes once per metric, before its samples; every sample's metric has a
// type; a counter's name ends in _total; no series twice; the text ends with a newline.
// Returns the samples, or an error saying which line is wrong.
struct Parsed {
    Samples samples;
    std::map<std::string, std::string> types;
    std::string error;
};

const std::regex metric_name(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
const std::regex help_line(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)");
const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
const std::regex sample_line(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+))");
const std::regex label_pair(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)\"(,|$))");

// `name{labels}` with the labels sorted, or "" if they are malformed.
std::string series_of(const std::string& name, const std::string& labels)
{
    std::vector<std::string> pairs;
    std::set<std::string> names;
    auto at = labels.cbegin();
    std::smatch match;
    while (at != labels.cend()) {
        if (!std::regex_search(at, labels.cend(), match, label_pair,
                               std::regex_constants::match_continuous) ||
            !names.insert(match[1]).second) {
            return "";
        }
        pairs.push_back(match[1].str() + "=\"" + match[2].str() + "\"");
        at = match[0].second;
    }
    if (pairs.empty()) {
        return labels.empty() ? name : "";
    }
    std::sort(pairs.begin(), pairs.end());
    std::string series = name + "{";
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        series += (i == 0 ? "" : ",") + pairs[i];
    }
    return series + "}";
}

bool parse_value(const std::string& text, double& value)
{
    if (text == "+Inf" || text == "-Inf" || text == "NaN") {
        value = 0;
        return true;
    }
    std::istringstream in(text);
    in >> value;
    return !in.fail() && in.peek() == std::char_traits<char>::eof();
}

Parsed parse_exposition(const std::string& text)
{
    Parsed parsed;
    auto fail = [&](std::size_t line, const std::string& why) {
        parsed.error = "line " + std::to_string(line) + ": " + why;
        return parsed;
    };
    if (text.empty() || text.back() != '\n') {
        return fail(0, "the text is empty or does not end with a newline");
    }
    std::set<std::string> helped;
    std::istringstream in(text);
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        std::smatch match;
        if (std::regex_match(line, match, type_line)) {
            if (!parsed.types.emplace(match[1], match[2]).second) {
                return fail(number, "a second TYPE for " + match[1].str());
            }
            if (match[2] == "counter" && !std::regex_search(match[1].str(), std::regex("_total$"))) {
                return fail(number, "a counter whose name does not end in _total");
            }
        } else if (std::regex_match(line, match, help_line)) {
            if (!helped.insert(match[1]).second) {
                return fail(number, "a second HELP for " + match[1].str());
            }
        } else if (line.rfind("# TYPE", 0) == 0 || line.rfind("# HELP", 0) == 0) {
            return fail(number, "a malformed TYPE or HELP line: " + line);
        } else if (!line.empty() && line[0] == '#') {
            continue;  // any other comment
        } else if (std::regex_match(line, match, sample_line)) {
            const std::string name = match[1];
            const std::string series = series_of(name, match[3]);
            double value = 0;
            if (series.empty()) {
                return fail(number, "malformed labels: " + line);
            }
            if (!parse_value(match[4], value)) {
                return fail(number, "not a number: " + match[4].str());
            }
            if (parsed.types.count(name) == 0) {
                return fail(number, "a sample of " + name + " before (or without) its TYPE");
            }
            if (!parsed.samples.emplace(series, value).second) {
                return fail(number, "a second sample of " + series);
            }
        } else {
            return fail(number, "neither a comment nor a sample: '" + line + "'");
        }
    }
    return parsed;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "";
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The file's samples; fails the test if it does not parse.
Samples read_metrics(const std::string& path)
{
    const std::string text = read_file(path);
    const Parsed parsed = parse_exposition(text);
    BOOST_TEST_REQUIRE(parsed.error.empty(), path << ": " << parsed.error << "\n" << text);
    return parsed.samples;
}

double value(const Samples& samples, const std::string& series)
{
    const auto it = samples.find(series);
    BOOST_TEST_REQUIRE((it != samples.end()), "no series " << series);
    return it->second;
}

// Polls the file (bounded) until `done` holds for its samples; returns them.
template <typename Done>
Samples wait_metrics(const std::string& path, Done done, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const std::string text = read_file(path);
        const Parsed parsed = parse_exposition(text);
        if (parsed.error.empty() && done(parsed.samples)) {
            return parsed.samples;
        }
        BOOST_TEST_REQUIRE((Clock::now() < deadline),
                           path << " did not show what was expected in time:\n" << text);
        std::this_thread::sleep_for(50ms);  // polling a file: there is no signal to wait on
    }
}

const char* const close_reasons[] = {"eof",   "idle",     "stall",   "reset",
                                     "error", "shutdown", "session", "killed"};
const char* const refusal_reasons[] = {"max_per_source", "max_per_network", "denied",
                                       "rate_per_source", "untrusted", "bad_header"};

std::string closed(const std::string& reason)
{
    return "echod_connections_closed_total{reason=\"" + reason + "\"}";
}

std::string refused(const std::string& reason)
{
    return "echod_connections_refused_total{reason=\"" + reason + "\"}";
}

// Every series of a fork-mode echod without UDP, with the values expected besides those
// in `expected`.
void check_tcp_metrics(const Samples& samples, std::map<std::string, double> expected)
{
    expected.emplace("echod_connections_active", 0);
    expected.emplace("echod_fork_failures_total", 0);
    expected.emplace("echod_config_last_reload_successful", 1);
    for (const char* reason : close_reasons) {
        expected.emplace(closed(reason), 0);
    }
    for (const char* reason : refusal_reasons) {
        expected.emplace(refused(reason), 0);
    }
    for (const auto& [series, want] : expected) {
        BOOST_TEST(value(samples, series) == want, series);
    }
    double sum = 0;
    for (const char* reason : close_reasons) {
        sum += value(samples, closed(reason));
    }
    BOOST_TEST(value(samples, "echod_connections_served_total") == sum);
    BOOST_TEST(value(samples, "echod_start_time_seconds") > 1.7e9);
    BOOST_TEST(samples.count("echod_build_info{version=\"" ECHOD_TEST_VERSION "\"}") == 1u);
    BOOST_TEST(samples.count("echod_spare_children") == 0u);  // fork mode
    BOOST_TEST(samples.count("echod_udp_datagrams_echoed_total") == 0u);  // udp = off
    // Nothing else: every series is one this test knows.
    const std::size_t known = expected.size() + 2;  // + start time, build info
    BOOST_TEST(samples.size() == known);
}

std::string metrics_setting(const std::string& path)
{
    return "metrics_file = " + path + "\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_parser_is_strict)
{
    const std::string good = "# HELP a_total x\n# TYPE a_total counter\na_total{r=\"x\"} 1\n"
                             "a_total{r=\"y\"} 2\n# TYPE g gauge\ng 3\n";
    BOOST_TEST(parse_exposition(good).error == "");
    BOOST_TEST(parse_exposition(good).samples.size() == 3u);
    for (const std::string& bad : {
             std::string("# TYPE g gauge\ng 3"),                       // no final newline
             std::string("g 3\n"),                                     // no TYPE
             std::string("# TYPE a counter\na 1\n"),                   // counter without _total
             std::string("# TYPE g gauge\ng 3\ng 4\n"),                // a series twice
             std::string("# TYPE g gauge\ng{r=\"x\",r=\"y\"} 3\n"),    // a label twice
             std::string("# TYPE g gauge\ng{r=x} 3\n"),                // unquoted label
             std::string("# TYPE g gauge\ng 3 x\n"),                   // a timestamp that is not
             std::string("# TYPE g gauge\ng three\n"),                 // not a number
             std::string("# TYPE g gauge\n# TYPE g gauge\ng 3\n"),     // TYPE twice
             std::string("# TYPE g gauge\ng 3\n\n"),                   // an empty line
             std::string("# TYPE g gauge\ng 3\n# HELP g x\n# HELP g y\n"),  // HELP twice
         }) {
        BOOST_TEST(parse_exposition(bad).error != "", bad);
    }
}

BOOST_AUTO_TEST_CASE(the_file_counts_connections_by_how_they_ended)
{
    TempDir metrics;
    const std::string path = metrics.path() + "/echod.prom";
    Echod echod(metrics_setting(path) + "idle_timeout = 1s\nmax_per_source = 2\n");
    // Written before the ready line.
    check_tcp_metrics(read_metrics(path), {{"echod_up", 1},
                                           {"echod_connections_served_total", 0},
                                           {"echod_bytes_received_total", 0},
                                           {"echod_bytes_sent_total", 0},
                                           {"echod_max_children", 256}});
    // 0644 whatever the umask: node_exporter runs as another user.
    BOOST_TEST(static_cast<unsigned>(std::filesystem::status(path).permissions()) == 0644u);

    for (int i = 0; i < 3; ++i) {
        echo_once(echod.port, "hello");  // 5 bytes each way, closed by the client: eof
    }
    // Two connections from 127.0.0.2 that send nothing (closed at idle_timeout), and a third
    // from there while they are open: refused by max_per_source = 2.
    UniqueFd idle1 = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    UniqueFd idle2 = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    UniqueFd third = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    BOOST_TEST(wait_closed(third.get(), 5s));
    BOOST_TEST(wait_closed(idle1.get(), 5s));
    BOOST_TEST(wait_closed(idle2.get(), 5s));

    const std::map<std::string, double> expected{{"echod_up", 1},
                                                 {"echod_connections_served_total", 5},
                                                 {closed("eof"), 3},
                                                 {closed("idle"), 2},
                                                 {refused("max_per_source"), 1},
                                                 {"echod_bytes_received_total", 15},
                                                 {"echod_bytes_sent_total", 15},
                                                 {"echod_max_children", 256}};
    const Samples shown = wait_metrics(
        path,
        [](const Samples& s) {
            return s.count("echod_connections_served_total") == 1 &&
                   s.at("echod_connections_served_total") == 5 &&
                   s.count(refused("max_per_source")) == 1 &&
                   s.at(refused("max_per_source")) == 1;
        },
        rewrite_within);
    check_tcp_metrics(shown, expected);

    // The last write, at stop: the same counts, and echod_up 0.
    echod.daemon.signal(SIGTERM);
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    std::map<std::string, double> last = expected;
    last["echod_up"] = 0;
    check_tcp_metrics(read_metrics(path), last);
    // Only the file: no temporary file left beside it.
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(metrics.path())) {
        names.push_back(entry.path().filename());
    }
    BOOST_TEST(names == std::vector<std::string>{"echod.prom"});
}

// Rewrites come every 5 s, and at once after each reload: many reloads while clients come
// and go rewrite the file often, while another thread reads it as fast as it can. Every read
// is a whole file, and no *.prom file but the target ever appears.
BOOST_AUTO_TEST_CASE(the_file_is_never_seen_half_written)
{
    TempDir metrics;
    const std::string path = metrics.path() + "/echod.prom";
    // At debug, every connection has its line: 60 in a few seconds would otherwise be
    // summarised (more than 50 lines a second), and the loop waits for each one's line.
    const std::string settings =
        metrics_setting(path) + "address = 127.0.0.1\nport = 0\nlog_level = debug\n";
    Echod echod(settings);

    std::atomic<bool> stop{false};
    std::atomic<std::size_t> reads{0};
    std::set<std::string> versions;  // the distinct texts read
    std::string bad;                 // the first read that was not whole
    std::thread reader([&] {
        while (!stop && bad.empty()) {
            const std::string text = read_file(path);
            const Parsed parsed = parse_exposition(text);
            if (!parsed.error.empty()) {
                bad = parsed.error + "\n" + text;
            }
            versions.insert(text);
            for (const auto& entry : std::filesystem::directory_iterator(metrics.path())) {
                const std::string name = entry.path().filename();
                if (name != "echod.prom" && name.size() >= 5 &&
                    name.compare(name.size() - 5, 5, ".prom") == 0) {
                    bad = "a second .prom file: " + name;
                }
            }
            ++reads;
        }
    });
    constexpr int reloads = 60;
    for (int i = 1; i <= reloads; ++i) {
        echo_once(echod.port, "message " + std::to_string(i));  // the counters move
        // Counted once reaped: a reload read in the same pass would be written before.
        echod.daemon.wait_count("msg=\"connection closed\" ", static_cast<std::size_t>(i));
        echod.reload(settings);
        echod.daemon.wait_count("notice: msg=\"reloaded\" ", static_cast<std::size_t>(i));
    }
    stop = true;
    reader.join();
    BOOST_TEST(bad == "");
    BOOST_TEST(reads > static_cast<std::size_t>(reloads));
    BOOST_TEST(versions.size() > static_cast<std::size_t>(reloads / 2),
               versions.size() << " distinct versions read");
    // The last one says all.
    const Samples last = read_metrics(path);
    BOOST_TEST(value(last, "echod_connections_served_total") == reloads);
    BOOST_TEST(value(last, closed("eof")) == reloads);
}

// A directory that goes away: one warning, however many writes fail; echod serves on, and
// says once when the file is written again. (Root ignores permissions, so the test
// removes the directory instead of making it read-only.)
BOOST_AUTO_TEST_CASE(a_failing_write_is_one_warning_and_echod_serves_on)
{
    TempDir metrics;
    const std::string dir = metrics.path() + "/textfile";
    const std::string path = dir + "/echod.prom";
    std::filesystem::create_directory(dir);
    const std::string settings = metrics_setting(path) + "address = 127.0.0.1\nport = 0\n";
    Echod echod(settings);
    read_metrics(path);
    std::filesystem::remove_all(dir);

    const std::string warning =
        "warning: msg=\"metrics file not written; retrying, logged again once written\" path=" +
        path + " call=open error=\"No such file or directory\" retry=5s$";
    echod.daemon.wait_for(warning, rewrite_within);
    echo_once(echod.port, "still served");
    echod.daemon.wait_count("msg=\"connection closed\" ", 1);
    // Each reload writes at once, before its reloaded line: three more failures.
    for (std::size_t i = 1; i <= 3; ++i) {
        echod.reload(settings);
        echod.daemon.wait_count("notice: msg=\"reloaded\" ", i);
    }
    BOOST_TEST(echod.daemon.count("metrics file not written") == 1u);
    echo_once(echod.port, "still served");
    echod.daemon.wait_count("msg=\"connection closed\" ", 2);

    std::filesystem::create_directory(dir);
    echod.reload(settings);
    echod.daemon.wait_count("notice: msg=\"reloaded\" ", 4);
    BOOST_TEST(echod.daemon.count("notice: msg=\"metrics file written again\" path=" + path +
                                  " failed=[4-9] duration_ms=[0-9]+$") == 1u);
    const Samples samples = read_metrics(path);
    BOOST_TEST(value(samples, "echod_connections_served_total") == 2);
    BOOST_TEST(echod.daemon.count("metrics file not written") == 1u);
}

BOOST_AUTO_TEST_CASE(a_missing_directory_at_start_is_a_warning_not_a_failure)
{
    TempDir metrics;
    const std::string path = metrics.path() + "/no-such-directory/echod.prom";
    Echod echod(metrics_setting(path));  // ready all the same
    BOOST_TEST(echod.daemon.count("warning: msg=\"metrics file not written; retrying, logged again once written\" path=" +
                                  path + " call=open ") == 1u);
    echo_once(echod.port, "served");
}

// A reload may move the file or turn it off. The old file is kept, written a last time with
// echod_up 0; nothing is removed.
BOOST_AUTO_TEST_CASE(a_reload_moves_the_file_or_turns_it_off)
{
    TempDir metrics;
    const std::string first = metrics.path() + "/first.prom";
    const std::string second = metrics.path() + "/second.prom";
    const std::string base = "address = 127.0.0.1\nport = 0\n";
    Echod echod(base + metrics_setting(first));
    echo_once(echod.port, "one");
    echod.daemon.wait_count("msg=\"connection closed\" ", 1);  // counted once reaped

    echod.reload(base + metrics_setting(second));
    echod.daemon.wait_count("notice: msg=\"reloaded\" ", 1);
    const Samples old_file = read_metrics(first);
    const Samples new_file = read_metrics(second);
    BOOST_TEST(value(old_file, "echod_up") == 0);
    BOOST_TEST(value(new_file, "echod_up") == 1);
    BOOST_TEST(value(old_file, "echod_connections_served_total") == 1);
    BOOST_TEST(value(new_file, "echod_connections_served_total") == 1);

    // A reload that fails keeps the path, and says so at once.
    echod.reload(base + metrics_setting(first) + "max_children = 0\n");
    echod.daemon.wait_for("error: msg=\"reload failed; keeping the running configuration\" ");
    wait_metrics(
        second,
        [](const Samples& s) { return s.at("echod_config_last_reload_successful") == 0; },
        2s);
    BOOST_TEST(value(read_metrics(first), "echod_up") == 0);

    echo_once(echod.port, "two");
    echod.daemon.wait_count("msg=\"connection closed\" ", 2);
    echod.reload(base);  // no metrics_file: off
    echod.daemon.wait_count("notice: msg=\"reloaded\" ", 2);
    BOOST_TEST(echod.daemon.count("reload failed") == 1u);
    const Samples turned_off = read_metrics(second);
    BOOST_TEST(value(turned_off, "echod_up") == 0);
    BOOST_TEST(value(turned_off, "echod_connections_served_total") == 2);

    // Off: not written again, not even at stop.
    echo_once(echod.port, "three");
    echod.daemon.signal(SIGTERM);
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    BOOST_TEST(value(read_metrics(second), "echod_connections_served_total") == 2);
    BOOST_TEST(value(read_metrics(first), "echod_connections_served_total") == 1);
    BOOST_TEST(echod.daemon.count("metrics file not written") == 0u);
}

BOOST_AUTO_TEST_CASE(a_bad_path_is_refused_before_anything_is_bound)
{
    TempDir dir;
    for (const auto& [path, expected] : std::vector<std::pair<std::string, std::string>>{
             {"echod.prom", "expected an absolute path (starting with /), or nothing for none"},
             {"/var/lib/", "expected the path of a file, not of a directory"},
             {"/var/lib/..", "expected the path of a file, not of a directory"},
         }) {
        const std::string config = dir.write("echod.conf", "metrics_file = " + path + "\n");
        const CommandResult result = run_command({echod_path(), "--config", config, "-t"});
        BOOST_TEST(result.status == 78);
        BOOST_TEST(result.err == "echod: " + config + ":1: key 'metrics_file' has value '" +
                                     path + "': " + expected + "\n");
    }
    const std::string config =
        dir.write("echod.conf", "metrics_file = /var/lib/prometheus/node-exporter/echod.prom\n");
    const CommandResult result = run_command({echod_path(), "--config", config, "-t"});
    BOOST_TEST(result.status == 0);
    BOOST_TEST(result.out.find("\nmetrics_file = /var/lib/prometheus/node-exporter/echod.prom\n") !=
               std::string::npos);
}

// Prefork mode has its spare children, udp = on its UDP series.
BOOST_AUTO_TEST_CASE(prefork_and_udp_have_series_of_their_own)
{
    TempDir metrics;
    const std::string path = metrics.path() + "/echod.prom";
    Echod echod(metrics_setting(path) +
                "mode = prefork\nmin_spare_children = 2\nmax_spare_children = 4\nudp = on\n");
    const Samples start = read_metrics(path);
    BOOST_TEST(value(start, "echod_spare_children") == 2);  // forked before the ready line
    BOOST_TEST(value(start, "echod_udp_datagrams_echoed_total") == 0);
    BOOST_TEST(value(start, "echod_udp_bytes_echoed_total") == 0);
    for (const char* reason : {"guard", "denied", "rate", "truncated", "unsent"}) {
        BOOST_TEST(value(start, std::string("echod_udp_datagrams_dropped_total{reason=\"") +
                                    reason + "\"}") == 0);
    }

    echo_once(echod.port, "tcp");
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(static_cast<bool>(udp));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(echod.port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string datagram = "one datagram";
    BOOST_TEST_REQUIRE(::sendto(udp.get(), datagram.data(), datagram.size(), 0,
                                reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
                       static_cast<ssize_t>(datagram.size()));
    pollfd ready{udp.get(), POLLIN, 0};
    BOOST_TEST_REQUIRE(::poll(&ready, 1, 5000) == 1);
    char echo[64];
    BOOST_TEST(::recv(udp.get(), echo, sizeof echo, 0) == static_cast<ssize_t>(datagram.size()));

    const Samples shown = wait_metrics(
        path,
        [](const Samples& s) {
            return s.at("echod_udp_datagrams_echoed_total") == 1 &&
                   s.at("echod_connections_served_total") == 1;
        },
        rewrite_within);
    BOOST_TEST(value(shown, "echod_udp_bytes_echoed_total") == datagram.size());
    BOOST_TEST(value(shown, "echod_bytes_received_total") == 3);
    BOOST_TEST(value(shown, closed("eof")) == 1);
    BOOST_TEST(value(shown, "echod_connections_active") == 0);
    BOOST_TEST(value(shown, "echod_spare_children") >= 1);
}
