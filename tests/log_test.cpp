// The log as an interface, on the real echod: every line is strict logfmt after its prefix
// (an RFC 3339 timestamp with the UTC offset on a terminal, the <N> priority under the
// journal), and under a flood the per-connection lines give way to summary lines that count
// every connection, warnings still written one by one.
#define BOOST_TEST_MODULE log
#include "harness.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <map>
#include <sstream>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// A strict logfmt parser: key=value pairs separated by one space; a key is [a-z0-9_]+;
// a value is bare (no space, quote, equals sign, backslash or control character, not
// empty) or quoted with the escapes \" \\ \n \r \t \u00XX. Throws on anything else.
Fields parse_logfmt(const std::string& text)
{
    Fields fields;
    std::size_t i = 0;
    auto fail = [&](const std::string& why) {
        throw std::runtime_error(why + " at column " + std::to_string(i) + " of: " + text);
    };
    while (i < text.size()) {
        if (!fields.empty()) {
            if (text[i] != ' ') {
                fail("no space between fields");
            }
            ++i;
        }
        const std::size_t key_start = i;
        while (i < text.size() && (std::islower(static_cast<unsigned char>(text[i])) ||
                                   std::isdigit(static_cast<unsigned char>(text[i])) ||
                                   text[i] == '_')) {
            ++i;
        }
        if (i == key_start || i >= text.size() || text[i] != '=') {
            fail("bad key");
        }
        std::string key = text.substr(key_start, i - key_start);
        ++i;
        std::string value;
        if (i < text.size() && text[i] == '"') {
            for (++i;; ++i) {
                if (i >= text.size()) {
                    fail("unterminated quotes");
                }
                const char c = text[i];
                if (c == '"') {
                    ++i;
                    break;
                }
                if (static_cast<unsigned char>(c) < ' ') {
                    fail("raw control character");
                }
                if (c != '\\') {
                    value += c;
                    continue;
                }
                const char e = ++i < text.size() ? text[i] : '\0';
                if (e == '"' || e == '\\') {
                    value += e;
                } else if (e == 'n' || e == 'r' || e == 't') {
                    value += e == 'n' ? '\n' : e == 'r' ? '\r' : '\t';
                } else if (e == 'u' && i + 4 < text.size()) {
                    value += static_cast<char>(std::stoi(text.substr(i + 1, 4), nullptr, 16));
                    i += 4;
                } else {
                    fail("bad escape");
                }
            }
        } else {
            const std::size_t start = i;
            while (i < text.size() && text[i] != ' ') {
                const auto c = static_cast<unsigned char>(text[i]);
                if (c < ' ' || c == '"' || c == '=' || c == '\\') {
                    fail("bad bare value");
                }
                ++i;
            }
            if (i == start) {
                fail("empty bare value");
            }
            value = text.substr(start, i - start);
        }
        fields.emplace_back(std::move(key), std::move(value));
    }
    if (fields.empty() || fields.front().first != "msg" || text.rfind("msg=\"", 0) != 0) {
        fail("the first field is not a quoted msg");
    }
    return fields;
}

std::string field(const Fields& fields, const std::string& key)
{
    for (const auto& [k, v] : fields) {
        if (k == key) {
            return v;
        }
    }
    return "";
}

std::uint64_t number(const Fields& fields, const std::string& key)
{
    const std::string value = field(fields, key);
    BOOST_TEST_REQUIRE(!value.empty(), "no " << key);
    return std::stoull(value);
}

// A terminal line: "TIMESTAMP echod[PID] LEVEL: " then logfmt.
const std::regex terminal_line(
    R"(^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})([+-]\d\d:\d\d) echod\[\d+\] )"
    R"((debug|info|notice|warning|error): (.*)$)");

struct Line {
    std::string level;
    std::string offset;
    Fields fields;
};

// Every line of the log, each checked: the prefix, a valid timestamp, strict logfmt.
std::vector<Line> parse_log(const std::string& log)
{
    std::vector<Line> lines;
    std::istringstream in(log);
    for (std::string text; std::getline(in, text);) {
        std::smatch m;
        BOOST_TEST_REQUIRE(std::regex_match(text, m, terminal_line), "not a log line: " << text);
        BOOST_TEST((std::stoi(m[2]) >= 1 && std::stoi(m[2]) <= 12 && std::stoi(m[3]) >= 1 &&
                    std::stoi(m[3]) <= 31 && std::stoi(m[4]) <= 23 && std::stoi(m[5]) <= 59 &&
                    std::stoi(m[6]) <= 60),
                   text);
        try {
            lines.push_back({m[9], m[8], parse_logfmt(m[10])});
        } catch (const std::exception& e) {
            BOOST_TEST_REQUIRE(false, e.what());
        }
    }
    return lines;
}

// One connection from `source` that is echoed and closed (EOF); no Boost.Test assertions
// per connection, the flood counts what failed.
bool served(const std::string& source, std::uint16_t port)
{
    return attempt_echo(source, port, "", "x", 5s) == EchoOutcome::served;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_logfmt_parser_is_strict)
{
    const Fields f = parse_logfmt(R"(msg="a b" k=v q="x \"y\" \\ \n" n=1)");
    BOOST_TEST(field(f, "q") == "x \"y\" \\ \n");
    BOOST_TEST(field(f, "n") == "1");
    for (const char* bad : {"msg=bare", "msg=\"a\"  k=v", "msg=\"a\" k=", "msg=\"a\" k=a\"b",
                            "msg=\"a\" K=v", "msg=\"a", "msg=\"a\" k=\"\\x\"", "k=v msg=\"a\""}) {
        BOOST_CHECK_THROW(parse_logfmt(bad), std::runtime_error);
    }
}

BOOST_AUTO_TEST_CASE(every_line_of_a_run_is_logfmt_with_an_rfc3339_timestamp)
{
    // A config file whose path needs quoting and escaping, named by the reload error; a
    // time zone half an hour off the hour, in the offset of every timestamp.
    TempDir dir;
    const std::string config = dir.write(
        "odd \"name\" \\.conf",
        "address = 127.0.0.1\nport = 0\nlog_level = debug\nmax_per_source = 1\n");
    Daemon daemon({"--config", config}, {}, {{"TZ", "XST-5:30"}});
    const std::uint16_t port = daemon.wait_ready();
    {
        UniqueFd held = connect_tcp("127.0.0.1", port);
        expect_echo(held.get(), "held");
        UniqueFd refused = connect_tcp("127.0.0.1", port);
        BOOST_TEST(wait_closed(refused.get()));
        daemon.wait_for(R"(debug: msg="connection refused" peer=127\.0\.0\.1:\d+ )"
                        R"(reason=max_per_source$)");
    }
    daemon.wait_for(R"(info: msg="connection closed" .* bytes_in=4 )");  // its count released
    echo_once(port, "plain");
    daemon.wait_for(R"(msg="limit cleared" limit=max_per_source )");
    dir.write("odd \"name\" \\.conf", "address = 127.0.0.1\nport = 70000\n");
    daemon.signal(SIGHUP);
    daemon.wait_for(R"(error: msg="reload failed; keeping the running configuration" )");
    daemon.signal(SIGUSR1);
    daemon.wait_for(R"(notice: msg="status" active=0 served=2 )");
    daemon.signal(SIGTERM);
    BOOST_TEST(daemon.wait_exit() == 0);

    std::map<std::string, std::size_t> msgs;
    bool reload_error_seen = false;
    for (const Line& line : parse_log(daemon.log())) {
        BOOST_TEST(line.offset == "+05:30");
        ++msgs[field(line.fields, "msg")];
        if (field(line.fields, "msg") == "reload failed; keeping the running configuration") {
            // Quoted, escaped and read back: the path exactly as it is.
            BOOST_TEST(field(line.fields, "error").rfind(config + ":2: key 'port'", 0) == 0u,
                       field(line.fields, "error"));
            reload_error_seen = true;
        }
    }
    BOOST_TEST(reload_error_seen);
    for (const char* msg : {"ready", "connection accepted", "connection closed",
                            "connection refused", "limit reached", "limit cleared", "status",
                            "stopping", "stopped"}) {
        BOOST_TEST(msgs[msg] >= 1u, msg);
    }
}

BOOST_AUTO_TEST_CASE(journal_lines_carry_the_priority_and_no_timestamp)
{
    Echod echod("log_level = debug\n", {},
                // JOURNAL_STREAM names echod's stderr, as systemd sets it.
                {"sh", "-c", "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec \"$@\"",
                 "sh"});
    echo_once(echod.port, "journal");
    echod.daemon.wait_for(R"(^<6>msg="connection closed" peer=127\.0\.0\.1:\d+ )");
    echod.daemon.signal(SIGTERM);
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    std::istringstream in(echod.daemon.log());
    std::size_t lines = 0;
    for (std::string text; std::getline(in, text); ++lines) {
        std::smatch m;
        BOOST_TEST_REQUIRE(std::regex_match(text, m, std::regex("^<([3-7])>(msg=.*)$")), text);
        BOOST_CHECK_NO_THROW(parse_logfmt(m[2]));
    }
    BOOST_TEST(echod.daemon.count(R"(^<5>msg="ready" listening=127\.0\.0\.1:)") == 1u);
    BOOST_TEST(echod.daemon.count(R"(^<7>msg="connection accepted" )") == 1u);
    BOOST_TEST(echod.daemon.count(R"(^<5>msg="stopped" served=1$)") == 1u);
    BOOST_TEST(lines >= 5u, echod.daemon.log());
}

BOOST_AUTO_TEST_CASE(a_flood_is_summarised_then_lines_resume_and_every_connection_is_counted)
{
    Echod echod("max_per_source = 0\nmax_per_network = 0\n");
    // A connection held through the flood; its child is killed during it: a warning, which
    // is never paused.
    UniqueFd victim = connect_tcp("127.0.0.1", echod.port);
    expect_echo(victim.get(), "victim");
    const std::vector<pid_t> children = child_pids(echod.daemon.pid());
    BOOST_TEST_REQUIRE(children.size() == 1u);

    // Three sources, 300, 200 and 100 connections, interleaved, as fast as one client goes.
    std::map<std::string, int> sent{{"127.0.0.2", 0}, {"127.0.0.3", 0}, {"127.0.0.4", 0}};
    int failed = 0;
    const auto start = Clock::now();
    for (int i = 0; i < 600; ++i) {
        const std::string source = i % 6 < 3 ? "127.0.0.2" : i % 6 < 5 ? "127.0.0.3" : "127.0.0.4";
        failed += served(source, echod.port) ? 0 : 1;
        ++sent[source];
        if (i == 300) {
            echod.daemon.wait_for(R"(notice: msg="per-connection lines paused" rate=\d+/s )"
                                  R"(threshold=50/s summary_every=5s$)", 5s);
            BOOST_TEST_REQUIRE(::kill(children.front(), SIGKILL) == 0);
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    BOOST_TEST_MESSAGE("FIGURE flood: 600 connections in " << seconds << " s");
    BOOST_TEST(failed == 0);
    echod.daemon.wait_for(R"(warning: msg="connection closed" peer=127\.0\.0\.1:\d+ pid=)" +
                          std::to_string(children.front()) +
                          R"( bytes_in=- bytes_out=- duration_ms=\d+ reason=killed signal=9$)");
    // Quiet for a whole window: its summary, then the lines come back.
    echod.daemon.wait_for(R"(notice: msg="per-connection lines resumed" rate=\d+/s )"
                          R"(summarised=\d+ paused_ms=\d+$)", 15s);
    echo_once(echod.port, "after the flood");
    echod.daemon.wait_for(R"(info: msg="connection closed" peer=127\.0\.0\.1:\d+ .* bytes_in=15 )");
    const std::size_t from = echod.daemon.line_count();
    echod.daemon.signal(SIGUSR1);
    const std::string status = echod.daemon.wait_for(R"(notice: msg="status" )", 10s, from);

    // Every connection in exactly one place: its own line, or one summary's count.
    const std::vector<Line> lines = parse_log(echod.daemon.log());
    std::uint64_t own_lines = 0;
    std::uint64_t summarised = 0;
    std::uint64_t summaries = 0;
    std::map<std::string, std::uint64_t> top_counts;
    std::size_t paused = 0;
    std::size_t resumed = 0;
    std::uint64_t resumed_summarised = 0;
    for (const Line& line : lines) {
        const std::string msg = field(line.fields, "msg");
        if (msg == "connection closed") {
            ++own_lines;
        } else if (msg == "connections summary") {
            BOOST_TEST(line.level == "info");
            BOOST_TEST(paused == 1u);
            BOOST_TEST(resumed == 0u);
            ++summaries;
            const std::uint64_t closed = number(line.fields, "closed");
            summarised += closed;
            std::uint64_t by_reason = 0;
            for (const char* reason : {"eof", "idle", "stall", "reset", "shutdown", "session"}) {
                by_reason += number(line.fields, reason);
            }
            BOOST_TEST(by_reason == closed, "the reasons add up to closed");
            BOOST_TEST(number(line.fields, "bytes_in") == closed);  // one byte each
            BOOST_TEST(number(line.fields, "bytes_out") == closed);
            BOOST_TEST(number(line.fields, "sources") <= 3u);
            std::uint64_t previous = closed;
            for (const char* top : {"top1", "top2", "top3"}) {
                if (!field(line.fields, top).empty()) {
                    const std::uint64_t n = number(line.fields, std::string(top) + "_closed");
                    BOOST_TEST(n <= previous, "the busiest first");
                    previous = n;
                    top_counts[field(line.fields, top)] += n;
                }
            }
        } else if (msg == "per-connection lines paused") {
            BOOST_TEST(line.level == "notice");
            ++paused;
        } else if (msg == "per-connection lines resumed") {
            BOOST_TEST(line.level == "notice");
            ++resumed;
            resumed_summarised = number(line.fields, "summarised");
        }
    }
    std::smatch served_field;
    BOOST_TEST_REQUIRE(std::regex_search(status, served_field, std::regex(" served=(\\d+) ")));
    const std::uint64_t served_total = std::stoull(served_field[1]);
    BOOST_TEST(served_total == 602u);  // the flood, the killed one, the one after
    BOOST_TEST(own_lines + summarised == served_total);
    BOOST_TEST(resumed_summarised == summarised);
    BOOST_TEST(paused == 1u);
    BOOST_TEST(resumed == 1u);
    BOOST_TEST(summaries >= 1u);
    BOOST_TEST(own_lines < 300u, "most of the flood is in summaries");
    // Every source's summarised connections are counted under its name (each window has
    // three sources at most, so all are in its top three).
    std::uint64_t by_source = 0;
    for (const auto& [source, n] : top_counts) {
        BOOST_TEST(sent.count(source) == 1u, source);
        BOOST_TEST(n <= static_cast<std::uint64_t>(sent[source]), source);
        by_source += n;
    }
    BOOST_TEST(by_source == summarised);
    BOOST_TEST_MESSAGE("FIGURE served " << served_total << ": " << own_lines << " lines, "
                                        << summarised << " in " << summaries << " summaries");
}

BOOST_AUTO_TEST_CASE(the_last_summary_is_written_at_stop)
{
    Echod echod("max_per_source = 0\nmax_per_network = 0\n");
    for (int i = 0; i < 200; ++i) {
        BOOST_TEST_REQUIRE(served("127.0.0.1", echod.port));
    }
    echod.daemon.wait_for(R"(notice: msg="per-connection lines paused" )");
    echod.daemon.signal(SIGTERM);  // before the first window ends
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    BOOST_TEST(echod.daemon.closed_count() == 200u, echod.daemon.log());
    BOOST_TEST(echod.daemon.count(R"(notice: msg="stopped" served=200$)") == 1u);
    BOOST_TEST(echod.daemon.count(R"(info: msg="connections summary" )") >= 1u);
}

BOOST_AUTO_TEST_CASE(at_log_level_debug_every_connection_has_its_line)
{
    Echod echod("max_per_source = 0\nmax_per_network = 0\nlog_level = debug\n");
    for (int i = 0; i < 200; ++i) {
        BOOST_TEST_REQUIRE(served("127.0.0.1", echod.port));
    }
    echod.daemon.wait_count(R"(info: msg="connection closed" .* reason=eof$)", 200);
    BOOST_TEST(echod.daemon.count("per-connection lines paused") == 0u);
}
