#!/usr/bin/env bash
# What a fork server's master carries into every fork: its RSS, anonymous memory, number of
# memory mappings and page tables, before and after 10,000 connections (echod-bench rate,
# C = 16), for echod in fork and prefork mode and for the reference fork server. Each fork
# copies the master's mappings (and the page tables of the written ones), and each child's
# exit tears its copy down, so these numbers are the price of a connection.
#
#   bench/footprint.sh BUILD_DIR [CONNECTIONS]
#
# Prints one line per server and moment:
#   FOOTPRINT server=S when=before|after conns=N rss_kb=N anon_kb=N mappings=N pte_kb=N
set -euo pipefail
build=$(cd "$1" && pwd)
want=${2:-10000}
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Starts a server in the background; sets server_pid and port (waits for its ready line).
start() {
    local log=$work/server.log
    : >"$log"
    "$@" >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        port=$(grep -o 'port=[0-9]*' "$log" | head -n 1 | cut -d= -f2 || true)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "footprint: no ready line from $*" >&2
    cat "$log" >&2
    exit 1
}

stop() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

report() {  # server when conns
    local status=/proc/$server_pid/status
    printf 'FOOTPRINT server=%s when=%s conns=%s rss_kb=%s anon_kb=%s mappings=%s pte_kb=%s\n' \
        "$1" "$2" "$3" "$(awk '/^VmRSS:/ {print $2}' "$status")" \
        "$(awk '/^RssAnon:/ {print $2}' "$status")" "$(wc -l <"/proc/$server_pid/maps")" \
        "$(awk '/^VmPTE:/ {print $2}' "$status")"
}

measure() {  # label, then the server command
    local label=$1 done=0 line n
    shift
    start "$@"
    report "$label" before 0
    # Rate runs of 2 s until `want` connections are done (bounded: 30 runs).
    for _ in $(seq 30); do
        line=$("$build/echod-bench" rate --port "$port" --concurrency 16 --duration 2 2>/dev/null)
        n=$(sed -n 's/.* conns=\([0-9]*\) .*/\1/p' <<<"$line")
        done=$((done + n))
        [ "$done" -ge "$want" ] && break
    done
    report "$label" after "$done"
    stop
}

config() {  # extra lines
    printf 'port = 0\naddress = 127.0.0.1\nbacklog = 1024\nmax_children = 6000\nmax_per_source = 0\nmax_per_network = 0\nlog_level = notice\n%s' "$1" >"$work/$2.conf"
    echo "$work/$2.conf"
}

measure echod-fork "$build/echod" --config "$(config "" fork)"
measure echod-prefork "$build/echod" --config "$(config "mode = prefork
" prefork)"
measure ref-fork "$build/ref_fork_server" 0 1024
