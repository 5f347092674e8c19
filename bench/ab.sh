#!/usr/bin/env bash
# Interleaved A/B of fork servers: each round starts each server in turn and measures
# connections per second at each concurrency with the same client. A server is an echod
# build (fork mode unless EXTRA sets another, same config for all) or a reference server
# (a binary named ref_*, started as `ref_X 0 1024`). Loopback only; every server started
# is stopped by its pid.
#
#   bench/ab.sh ECHOD_BENCH OUT_FILE ROUNDS "1 16 64" LABEL=SERVER[,KEY=VALUE...] ...
#
# KEY=VALUE pairs after the server are added to that echod's config (e.g.
# echod-pf=build/echod,mode=prefork,max_connections_per_child=1). NOTIFY_SOCKET=PATH as
# a pair is put in that server's environment instead, and BENCH_ARGS=ARGS (words split
# at spaces) is added to echod-bench's command line for that server alone, e.g. behind
# a balancer that sends a PROXY v2 header (the bench's sources are 127.0.0.2..17):
#   proxy=build/echod,proxy_protocol=v2,proxy_trusted=127.0.0.0/8,BENCH_ARGS=--proxy-v2
# Each echod's config gets max_per_network = 0 only if that echod knows the key.
set -euo pipefail
[[ $# -ge 5 ]] || { echo "usage: $0 ECHOD_BENCH OUT_FILE ROUNDS CONCURRENCIES LABEL=SERVER..." >&2; exit 64; }
bench=$1 out=$2 rounds=$3 concurrencies=$4; shift 4
ulimit -n "$(ulimit -Hn)"
# A run with errors ends the script (set -e): the server it measured is stopped then too.
work=$(mktemp -d) pid=""
trap 'if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
: > "$out"
for round in $(seq "$rounds"); do
  for spec in "$@"; do
    label=${spec%%=*} rest=${spec#*=}
    IFS=, read -r -a parts <<< "$rest"
    server=${parts[0]} env=() bench_args=()
    for c in $concurrencies; do
      if [[ $(basename "$server") == ref_* ]]; then
        "$server" 0 1024 > "$work/$label.err" 2>&1 & pid=$!
      else
        conf=$work/$label.conf
        printf 'port = 0\naddress = 127.0.0.1\nbacklog = 1024\nmax_children = 6000\nmax_per_source = 0\nlog_level = notice\n' > "$conf"
        if "$server" --help 2>/dev/null | grep -q max_per_network; then
          printf 'max_per_network = 0\n' >> "$conf"
        fi
        for kv in "${parts[@]:1}"; do
          if [[ $kv == NOTIFY_SOCKET=* ]]; then env=("$kv")
          elif [[ $kv == BENCH_ARGS=* ]]; then read -r -a bench_args <<< "${kv#*=}"
          else echo "${kv%%=*} = ${kv#*=}" >> "$conf"; fi
        done
        env "${env[@]}" "$server" --config "$conf" 2> "$work/$label.err" & pid=$!
      fi
      port=""
      for _ in $(seq 250); do  # 5 s at most for the ready line
        port=$(grep -oP '(^|[ "])ready[" ].*port=\K[0-9]+' "$work/$label.err" || true)  # logfmt, or the older lines
        [[ -n $port ]] && break
        sleep 0.02
      done
      [[ -n $port ]] || { echo "no ready line from $label" >&2; kill -TERM "$pid"; exit 1; }
      line=$("$bench" rate --port "$port" --concurrency "$c" --duration "${DURATION:-4}" --warmup 1 --label "$label" "${bench_args[@]}" | grep RESULT)
      echo "round=$round $line" | tee -a "$out"
      kill -TERM "$pid"; wait "$pid" || true; pid=""
    done
  done
done
