#!/usr/bin/env bash
# Interleaved A/B of echod builds in fork mode: each round starts each build in turn, with
# the same config and the same client, and measures connections per second at each
# concurrency. Loopback only; every echod started is stopped by its pid.
#
#   bench/ab.sh ECHOD_BENCH OUT_FILE ROUNDS "1 16 64" LABEL=ECHOD [LABEL=ECHOD ...]
#
# Each LABEL's config gets max_per_network = 0 only if that echod knows the key.
set -euo pipefail
[[ $# -ge 5 ]] || { echo "usage: $0 ECHOD_BENCH OUT_FILE ROUNDS CONCURRENCIES LABEL=ECHOD..." >&2; exit 64; }
bench=$1 out=$2 rounds=$3 concurrencies=$4; shift 4
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
: > "$out"
for round in $(seq "$rounds"); do
  for pair in "$@"; do
    label=${pair%%=*} echod=${pair#*=}
    for c in $concurrencies; do
      conf=$work/$label.conf
      printf 'port = 0\naddress = 127.0.0.1\nbacklog = 1024\nmax_children = 6000\nmax_per_source = 0\nlog_level = notice\n' > "$conf"
      if "$echod" --help 2>/dev/null | grep -q max_per_network; then
        printf 'max_per_network = 0\n' >> "$conf"
      fi
      "$echod" --config "$conf" 2> "$work/$label.err" & pid=$!
      port=""
      for _ in $(seq 250); do  # 5 s at most for the ready line
        port=$(grep -oP ' ready .*port=\K[0-9]+' "$work/$label.err" || true)
        [[ -n $port ]] && break
        sleep 0.02
      done
      [[ -n $port ]] || { echo "no ready line from $label" >&2; kill -TERM "$pid"; exit 1; }
      line=$("$bench" rate --port "$port" --concurrency "$c" --duration 4 --warmup 1 --label "$label" | grep RESULT)
      echo "round=$round $line" | tee -a "$out"
      kill -TERM "$pid"; wait "$pid" || true
    done
  done
done
