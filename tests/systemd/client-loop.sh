#!/bin/bash
# Runs inside the test container: echo round trips over new connections, several at once,
# until told to stop. Each round trip is one `echod-client` run (a new connection, a line
# sent, its echo checked, the close awaited).
#
#   client-loop.sh PORT WORKERS MIN_TOTAL DIR
#
# Every worker loops until DIR/stop exists and the workers together have made MIN_TOTAL
# round trips; at most 100,000 round trips per worker and 300 s in all. Progress: each
# worker appends one character per round trip to DIR/done.N (so `cat DIR/done.* | wc -c`
# counts them while it runs). At the end it prints one line:
#   total=N ok=N refused=N failed=N
# (refused: echod-client could not connect, exit 69; failed: any other non-zero exit: a
# reset, a short or wrong echo, a timeout), writes the first failures' messages to
# DIR/errors, and exits 0 only if every round trip succeeded.
set -u
port=${1:?usage: client-loop.sh PORT WORKERS MIN_TOTAL DIR}
workers=${2:?}
min_total=${3:?}
dir=${4:?}
mkdir -p "$dir"
rm -f "$dir"/done.* "$dir"/result.* "$dir"/errors "$dir"/stop
deadline=$((SECONDS + 300))
per_worker=$(((min_total + workers - 1) / workers))

worker() {
    local n=$1 i=0 ok=0 refused=0 failed=0 status message
    while [ "$i" -lt 100000 ] && [ "$SECONDS" -lt "$deadline" ]; do
        if [ "$i" -ge "$per_worker" ] && [ -e "$dir/stop" ]; then
            break
        fi
        message="worker $n round trip $i"
        if out=$(echod-client -t 20 127.0.0.1 "$port" "$message" 2>&1); then
            status=0
        else
            status=$?
        fi
        if [ "$status" -eq 0 ] && [ "$out" = "$message" ]; then
            ok=$((ok + 1))
        elif [ "$status" -eq 69 ]; then
            refused=$((refused + 1))
            printf 'worker %s #%s refused: %s\n' "$n" "$i" "$out" >>"$dir/errors"
        else
            failed=$((failed + 1))
            printf 'worker %s #%s exit %s: %s\n' "$n" "$i" "$status" "$out" >>"$dir/errors"
        fi
        printf . >>"$dir/done.$n"
        i=$((i + 1))
    done
    echo "$i $ok $refused $failed" >"$dir/result.$n"
}

for n in $(seq "$workers"); do
    worker "$n" &
done
wait
total=0 ok=0 refused=0 failed=0
for n in $(seq "$workers"); do
    read -r t o r f <"$dir/result.$n"
    total=$((total + t)) ok=$((ok + o)) refused=$((refused + r)) failed=$((failed + f))
done
echo "total=$total ok=$ok refused=$refused failed=$failed"
[ "$ok" -eq "$total" ] && [ "$total" -ge "$min_total" ]
