#!/usr/bin/env bash
# Smoke test of echod-bench against the real echod: one short run of each mode must finish
# without errors and print its RESULT line. Usage: bench_smoke.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: bench_smoke.sh BUILD_DIR}
echod="$build/echod"
bench="$build/echod-bench"
work=$(mktemp -d)
echod_pid=

cleanup() {
    if [[ -n $echod_pid ]]; then
        kill "$echod_pid" 2>/dev/null || true
        wait "$echod_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "bench_smoke: FAIL: $*" >&2
    echo "--- echod log:" >&2
    cat "$work/echod.log" >&2 || true
    exit 1
}

# Both sides hold a descriptor per connection (hold opens 200).
ulimit -n "$(ulimit -Hn)"

# start_echod [KEY = VALUE...]: a fresh echod with the common config and these lines;
# sets echod_pid and port.
start_echod() {
    {
        printf '%s\n' "port = 0" "address = 127.0.0.1" "backlog = 1024" "max_children = 1000" \
            "max_per_source = 0" "max_per_network = 0" "idle_timeout = 60s" "shutdown_timeout = 2s"
        printf '%s\n' "$@"
    } >"$work/echod.conf"
    "$echod" --config "$work/echod.conf" 2>"$work/echod.log" &
    echod_pid=$!
    # The ready line names the port; give it 10 s.
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.* msg="ready" .* port=\([0-9]*\) .*/\1/p' "$work/echod.log" | head -n 1)
        [[ -n $port ]] && break
        kill -0 "$echod_pid" 2>/dev/null || fail "echod exited before its ready line"
        sleep 0.1
    done
    [[ -n $port ]] || fail "no ready line from echod within 10 s"
}

stop_echod() {
    kill "$echod_pid" || fail "echod died during the runs"
    wait "$echod_pid" || fail "echod exited $? on SIGTERM"
    echod_pid=
}

# run_bench ARGS...: runs echod-bench, checks its exit status and its one RESULT line, and
# leaves that line in $result.
run_bench() {
    local out status=0
    out=$(timeout 60 "$bench" "$@" --port "$port" --label echod 2>"$work/bench.err") || status=$?
    cat "$work/bench.err" >&2
    [[ $status -eq 0 ]] || fail "echod-bench $* exited $status: $out"
    [[ $(grep -c '^RESULT ' <<<"$out") -eq 1 ]] || fail "echod-bench $*: not one RESULT line: $out"
    result=$(grep '^RESULT ' <<<"$out")
    [[ " $result " == *" errors=0 "* ]] || fail "echod-bench $*: errors: $result"
    echo "$result"
}

start_echod "log_level = notice"
run_bench rate --concurrency 8 --duration 1
[[ $result == *" conns="* && $result != *" conns=0 "* ]] || fail "rate completed no connection"
run_bench stream --connections 2 --bytes 8M
[[ $result == *" bytes_each=8388608 "* ]] || fail "stream: wrong bytes_each: $result"
run_bench hold --connections 200 --server-pid "$echod_pid"
[[ $result == *" established=200 echoed=200 "* ]] || fail "hold: not all 200 echoed: $result"
[[ $result != *" tree_procs=0 "* ]] || fail "hold: server tree not measured: $result"
stop_echod

# Behind a balancer (compare.sh's echod-fork-proxy): every connection begins with a PROXY
# v2 header. echod names the header's client and the balancer (via=) in its log, and echoes
# only what follows the header: an echoed header would be a mismatch in the bench, and
# bytes_out would count it.
start_echod "log_level = info" "proxy_protocol = v2" "proxy_trusted = 127.0.0.0/8"
run_bench rate --concurrency 2 --duration 1 --proxy-v2
[[ $result != *" conns=0 "* ]] || fail "rate --proxy-v2 completed no connection"
run_bench stream --connections 1 --bytes 1M --proxy-v2
run_bench hold --connections 20 --server-pid "$echod_pid" --proxy-v2
[[ $result == *" established=20 echoed=20 "* ]] || fail "hold --proxy-v2: not all 20 echoed: $result"
stop_echod
grep -q ' msg="connection closed" peer=127\.0\.0\.[0-9]*:[0-9]* via=.* bytes_in=64 bytes_out=64 ' "$work/echod.log" ||
    fail "no 'connection closed ... via= ... bytes_out=64' line: the header was not read, or was echoed"
echo "bench_smoke: ok"
