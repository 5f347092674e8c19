#!/usr/bin/env bash
# Compare echod with reference servers and real Debian fork servers under the same loads,
# on one machine, in one run.
#
#   bench/compare.sh BUILD_DIR OUT_DIR [--quick]
#
# BUILD_DIR holds echod, echod-bench, ref_fork_server and ref_epoll_server. OUT_DIR gets
# raw.txt (every RESULT line, prefixed with rep=R), machine.txt, results.md, cps.png and
# the servers' logs. Run as root (xinetd and openbsd-inetd bind as root; inetd is given
# its own /etc/services in a private mount namespace).
#
# The Debian peers are used when installed and skipped with a note otherwise:
#   apt-get install ucspi-tcp ipsvd socat xinetd openbsd-inetd gnuplot-nox
# xinetd and openbsd-inetd conflict (both are inet-superserver): install one, and unpack
# the other without installing it, then name its binary:
#   apt-get download xinetd && dpkg -x xinetd_*.deb /opt/xinetd && XINETD=/opt/xinetd/usr/sbin/xinetd bench/compare.sh ...
# (INETD= likewise names openbsd-inetd's /usr/sbin/inetd.)
#
# Every server gets backlog 1024 and no concurrency limit below 6000. The peers' stock
# limits would decide the benchmark on their own, so they are raised; each value is set
# below (LIMITS[...]) and printed in results.md:
#   tcpserver  -c 40 -> 6000, -b 20 -> 1024, -HRl0: no name or ident lookups
#   tcpsvd     -c 30 -> 6000, -b 20 -> 1024, -l0: no local name lookup (remote: off by default)
#   socat      backlog 5 -> 1024, no max-children; EXEC:cat,nofork (cat on the socket itself)
#   xinetd     instances and per_source UNLIMITED (stated: a distribution's defaults section
#              may set them), cps 50 10 -> 1000000 1,
#              flags NOLIBWRAP, no logging; its listen backlog is fixed at 64 in the source
#   inetd      nowait.256 and -R 256 (per minute) -> 10000000, -q 128 -> 1024, no -l (libwrap)
# xinetd's internal services call getnameinfo() on every client address (to name the
# child process), with no option to turn it off. So that it gets the same load as the
# others (clients from 127.0.0.2..17) without DNS, it runs in a private mount namespace
# whose /etc/hosts also names 127.0.0.2..254: the lookup is answered from that file.
# shellcheck disable=SC2317  # start_LABEL functions are called indirectly
set -euo pipefail
# The whole script is one brace group: bash reads it completely before running any of it,
# so editing this file during a 30-minute run cannot change what the run does.
{

usage() { echo "usage: $0 BUILD_DIR OUT_DIR [--quick]" >&2; exit 64; }
[[ $# -eq 2 || ( $# -eq 3 && $3 == --quick ) ]] || usage
COMMAND_LINE="$0 $*"
BUILD_DIR=$(cd "$1" && pwd)
mkdir -p "$2"
OUT_DIR=$(cd "$2" && pwd)
QUICK=${3:-}
SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)

BENCH=$BUILD_DIR/echod-bench
ECHOD=$BUILD_DIR/echod
for bin in "$BENCH" "$ECHOD" "$BUILD_DIR/ref_fork_server" "$BUILD_DIR/ref_epoll_server"; do
  [[ -x $bin ]] || { echo "compare.sh: $bin missing: build it first" >&2; exit 1; }
done

# --- loads --------------------------------------------------------------------------
SIZE=64
WARMUP=1
if [[ $QUICK == --quick ]]; then
  REPS=1; DURATION=1; CONCURRENCY=(1 16 64); STREAM_BYTES=$((16 << 20)); HOLD_N=(200)
else
  REPS=3; DURATION=5; CONCURRENCY=(1 4 16 64 128); STREAM_BYTES=$((256 << 20)); HOLD_N=(1000 5000)
fi
STREAM_P=(1 4)
BACKLOG=1024
MAX_CONC=6000

# --- common limits --------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)"   # servers and client inherit it
NOTES=()
note() { NOTES+=("$*"); echo "compare.sh: $*" >&2; }
somaxconn=$(cat /proc/sys/net/core/somaxconn)
if ((somaxconn < BACKLOG)); then
  sysctl -qw net.core.somaxconn=$BACKLOG
  note "raised net.core.somaxconn from $somaxconn to $BACKLOG"
fi

RAW=$OUT_DIR/raw.txt
SERVERS_TSV=$OUT_DIR/servers.tsv
LOG_DIR=$OUT_DIR/logs
mkdir -p "$LOG_DIR"
: > "$RAW"
printf 'label\tstatus\tcommand\tlimits\n' > "$SERVERS_TSV"

# --- server definitions ---------------------------------------------------------------
# Each server: a label, CMD and LIMITS for the report, and start_LABEL, which sets PID and
# PORT and fails if the server is not ready within 10 s. Peers get a free port below the
# ephemeral range; echod and the reference servers take port 0 and report theirs.
# BENCH_ARGS: extra echod-bench arguments for the one server that needs them (the PROXY
# header of echod-fork-proxy); every other server, peers and references included, gets none.
declare -A CMD LIMITS STATUS BENCH_ARGS
SERVERS=()
PID=""
PORT=""
XINETD=${XINETD:-$(command -v xinetd || true)}
INETD=${INETD:-$(command -v inetd || true)}

free_port() {
  local p=$((23000 + RANDOM % 8000))
  while ss -Htan "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

wait_for_line() {  # FILE REGEX: prints the first capture, fails after 10 s
  local i m
  for ((i = 0; i < 100; i++)); do
    m=$(sed -nE "s/.*$2.*/\\1/p" "$1" | head -n1)
    [[ -n $m ]] && { echo "$m"; return 0; }
    kill -0 "$PID" 2>/dev/null && ! is_zombie "$PID" || return 1
    sleep 0.1
  done
  return 1
}
wait_for_port() {  # PORT: until it accepts, at most 10 s
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null && ! is_zombie "$PID" || return 1
    sleep 0.1
  done
  return 1
}
is_zombie() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

# setsid: each server leads its own session, so whatever it leaves behind can be found.
launch() {  # LABEL CMD... (stdout to LABEL.out, stderr to LABEL.err)
  local label=$1; shift
  setsid "$@" > "$LOG_DIR/$label.out" 2> "$LOG_DIR/$label.err" < /dev/null &
  PID=$!
}

echod_conf() {  # LABEL KEY=VALUE...: writes the config, records it
  local label=$1 conf=$LOG_DIR/$1.conf; shift
  {
    echo "port = 0"; echo "address = 127.0.0.1"; echo "backlog = $BACKLOG"
    echo "max_children = $MAX_CONC"; echo "max_per_source = 0"; echo "max_per_network = 0"; echo "idle_timeout = 60s"
    local kv; for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
  } > "$conf"
  CMD[$label]="echod --config $label.conf"
  LIMITS[$label]=$(grep -v '^port\|^address' "$conf" | sed 's/ = /=/' | paste -sd' ')
}
start_echod() {
  launch "$1" "$ECHOD" --config "$LOG_DIR/$1.conf"
  PORT=$(wait_for_line "$LOG_DIR/$1.err" '[ "]ready[" ].*port=([0-9]+)')
}
define_echod() {  # LABEL KEY=VALUE...
  SERVERS+=("$1"); echod_conf "$@"
  eval "start_$1() { start_echod $1; }"
}
define_echod echod-fork      mode=fork log_level=notice
define_echod echod-fork-info mode=fork log_level=info
# echod-fork as it runs under systemd (Type=notify): NOTIFY_SOCKET set, READY and a STATUS=
# datagram at most once a second. A socat datagram sink stands in for systemd's socket
# when socat is installed; otherwise the sends fail quietly.
define_echod echod-fork-notify mode=fork log_level=notice
CMD[echod-fork-notify]="NOTIFY_SOCKET=notify.sock echod --config echod-fork-notify.conf"
NOTIFY_SINK=""
start_echod-fork-notify() {
  rm -f "$LOG_DIR/notify.sock"
  if command -v socat > /dev/null; then
    socat -u "UNIX-RECV:$LOG_DIR/notify.sock" /dev/null < /dev/null > /dev/null 2>&1 &
    NOTIFY_SINK=$!
  fi
  launch echod-fork-notify env NOTIFY_SOCKET="$LOG_DIR/notify.sock" "$ECHOD" \
    --config "$LOG_DIR/echod-fork-notify.conf"
  PORT=$(wait_for_line "$LOG_DIR/echod-fork-notify.err" '[ "]ready[" ].*port=([0-9]+)')
}
# echod-fork behind a balancer: every connection must begin with a PROXY v2 header, which
# echod-bench sends (--proxy-v2, in the same write as the first bytes, naming the
# connection's own endpoints). The bench connects from 127.0.0.2..17: all trusted.
define_echod echod-fork-proxy mode=fork log_level=notice proxy_protocol=v2 proxy_trusted=127.0.0.0/8
BENCH_ARGS[echod-fork-proxy]=--proxy-v2
CMD[echod-fork-proxy]="echod --config echod-fork-proxy.conf (echod-bench --proxy-v2)"
define_echod echod-prefork   mode=prefork max_connections_per_child=1 log_level=notice
define_echod echod-prefork-mcpc100 mode=prefork max_connections_per_child=100 log_level=notice
# The same, with every echod process SCHED_BATCH (what CPUSchedulingPolicy=batch in the unit
# gives): a woken process does not preempt the running one, so a busy server switches less.
define_echod echod-prefork-mcpc100-batch mode=prefork max_connections_per_child=100 log_level=notice
CMD[echod-prefork-mcpc100-batch]="chrt --batch 0 echod --config echod-prefork-mcpc100-batch.conf"
start_echod-prefork-mcpc100-batch() {
  launch echod-prefork-mcpc100-batch chrt --batch 0 "$ECHOD" --config "$LOG_DIR/echod-prefork-mcpc100-batch.conf"
  PORT=$(wait_for_line "$LOG_DIR/echod-prefork-mcpc100-batch.err" '[ "]ready[" ].*port=([0-9]+)')
}

SERVERS+=(ref-fork ref-epoll)
CMD[ref-fork]="ref_fork_server 0 $BACKLOG"; LIMITS[ref-fork]="backlog=$BACKLOG (no other limits)"
CMD[ref-epoll]="ref_epoll_server 0 $BACKLOG"; LIMITS[ref-epoll]="backlog=$BACKLOG (no other limits)"
start_ref-fork() {
  launch ref-fork "$BUILD_DIR/ref_fork_server" 0 "$BACKLOG"
  PORT=$(wait_for_line "$LOG_DIR/ref-fork.out" '^ready port=([0-9]+)')
}
start_ref-epoll() {
  launch ref-epoll "$BUILD_DIR/ref_epoll_server" 0 "$BACKLOG"
  PORT=$(wait_for_line "$LOG_DIR/ref-epoll.out" '^ready port=([0-9]+)')
}

peer() {  # LABEL BINARY PACKAGE: defines the peer if BINARY exists
  if [[ -n $2 && -x $2 ]]; then
    SERVERS+=("$1")
  else
    STATUS[$1]="skipped: not installed ($3)"
    note "skipping $1: not installed (package $3)"
  fi
}
peer tcpserver "$(command -v tcpserver || true)" ucspi-tcp
CMD[tcpserver]="tcpserver -HRl0 -c $MAX_CONC -b $BACKLOG 127.0.0.1 PORT cat"
LIMITS[tcpserver]="-c 40->$MAX_CONC, -b 20->$BACKLOG, -H -R -l0 (no DNS, no ident)"
start_tcpserver() {
  PORT=$(free_port)
  launch tcpserver tcpserver -HRl0 -c "$MAX_CONC" -b "$BACKLOG" 127.0.0.1 "$PORT" cat
  wait_for_port "$PORT"
}

peer tcpsvd "$(command -v tcpsvd || true)" ipsvd
CMD[tcpsvd]="tcpsvd -l0 -c $MAX_CONC -b $BACKLOG 127.0.0.1 PORT cat"
LIMITS[tcpsvd]="-c 30->$MAX_CONC, -b 20->$BACKLOG, -l0 (no DNS; -h off), no -C per-host limit"
start_tcpsvd() {
  PORT=$(free_port)
  launch tcpsvd tcpsvd -l0 -c "$MAX_CONC" -b "$BACKLOG" 127.0.0.1 "$PORT" cat
  wait_for_port "$PORT"
}

peer socat "$(command -v socat || true)" socat
CMD[socat]="socat TCP-LISTEN:PORT,bind=127.0.0.1,fork,reuseaddr,backlog=$BACKLOG EXEC:cat,nofork"
LIMITS[socat]="backlog 5->$BACKLOG, no max-children; nofork: cat runs on the socket itself"
start_socat() {
  PORT=$(free_port)
  launch socat socat "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr,backlog=$BACKLOG" EXEC:cat,nofork
  wait_for_port "$PORT"
}

peer xinetd "$XINETD" xinetd
CMD[xinetd]="xinetd -dontfork -f xinetd.conf (service echo, type INTERNAL UNLISTED, id echo-stream, port PORT)"
LIMITS[xinetd]="instances UNLIMITED, per_source UNLIMITED, cps 50 10->1000000 1, flags NOLIBWRAP, logging off; listen backlog fixed at 64 in the source; reads /etc/hosts per connection (getnameinfo), 127.0.0.2-254 added in its namespace"
start_xinetd() {
  local i
  PORT=$(free_port)
  cat > "$LOG_DIR/xinetd.conf" <<EOF
defaults
{
	instances	= UNLIMITED
	per_source	= UNLIMITED
	cps		= 1000000 1
	log_type	= FILE $LOG_DIR/xinetd.log
	log_on_success	=
	log_on_failure	=
}
service echo
{
	type		= INTERNAL UNLISTED
	id		= echo-stream
	socket_type	= stream
	protocol	= tcp
	wait		= no
	user		= root
	bind		= 127.0.0.1
	port		= $PORT
	flags		= NOLIBWRAP REUSE
	instances	= UNLIMITED
	per_source	= UNLIMITED
	cps		= 1000000 1
}
EOF
  { cat /etc/hosts; for i in {2..254}; do echo "127.0.0.$i bench-source-$i"; done; } > "$LOG_DIR/xinetd.hosts"
  # shellcheck disable=SC2016  # the inner sh expands $1..$5
  launch xinetd unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec "$2" -dontfork -filelog "$3" -f "$4" -pidfile "$5"' \
    sh "$LOG_DIR/xinetd.hosts" "$XINETD" "$LOG_DIR/xinetd.log" "$LOG_DIR/xinetd.conf" "$LOG_DIR/xinetd.pid"
  wait_for_port "$PORT"
}

# openbsd-inetd knows its internal services by service name only ("echo" = port 7 in
# /etc/services): it runs in a private mount namespace whose /etc/services says echo is
# our port, and whose /run is private (inetd writes /run/inetd.pid unconditionally).
peer inetd "$INETD" openbsd-inetd
INETD_RATE=10000000
CMD[inetd]="inetd -i -q $BACKLOG -R $INETD_RATE inetd.conf ('127.0.0.1:echo stream tcp nowait.$INETD_RATE root internal', echo=PORT)"
LIMITS[inetd]="nowait.256->nowait.$INETD_RATE and -R 256->$INETD_RATE per minute, -q 128->$BACKLOG, no -l (no libwrap)"
start_inetd() {
  PORT=$(free_port)
  printf 'echo\t\t%s/tcp\n' "$PORT" > "$LOG_DIR/inetd.services"
  printf '127.0.0.1:echo stream tcp nowait.%s root internal\n' "$INETD_RATE" > "$LOG_DIR/inetd.conf"
  # unshare and sh exec in place: PID stays inetd's.
  # shellcheck disable=SC2016  # the inner sh expands $1..$5
  launch inetd unshare -m sh -c 'mount --bind "$1" /etc/services && mount -t tmpfs tmpfs /run &&
    exec "$2" -i -q "$3" -R "$4" "$5"' sh "$LOG_DIR/inetd.services" "$INETD" "$BACKLOG" "$INETD_RATE" \
    "$LOG_DIR/inetd.conf"
  wait_for_port "$PORT"
}

# --- starting and stopping ------------------------------------------------------------
session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s && $1 != s {print $1}'; }

stop_server() {  # LABEL: SIGTERM, up to 20 s, SIGKILL; then nothing of it may be left
  local label=$1 i left
  [[ -n $PID ]] || return 0
  kill -TERM "$PID" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    { ! kill -0 "$PID" 2>/dev/null || is_zombie "$PID"; } && break
    sleep 0.1
  done
  if kill -0 "$PID" 2>/dev/null && ! is_zombie "$PID"; then
    note "$label: pid $PID still running 20 s after SIGTERM: SIGKILL"
    kill -KILL "$PID" 2>/dev/null || true
  fi
  wait "$PID" 2>/dev/null || true
  # Children serving closed connections may still be exiting: give them 10 s.
  for ((i = 0; i < 100; i++)); do
    left=$(session_pids "$PID")
    [[ -z $left ]] && break
    sleep 0.1
  done
  if [[ -n $left ]]; then
    note "$label: left processes behind after stopping: $(paste -sd' ' <<< "$left") (killed)"
    xargs kill -KILL <<< "$left" 2>/dev/null || true
  fi
  PID=""
  if [[ -n $NOTIFY_SINK ]]; then kill "$NOTIFY_SINK" 2>/dev/null || true; wait "$NOTIFY_SINK" 2>/dev/null || true; NOTIFY_SINK=""; fi
}
cleanup() { if [[ -n ${CURRENT:-} ]]; then stop_server "$CURRENT"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { kill -0 "$PID" 2>/dev/null && ! is_zombie "$PID"; }

# --- running the loads ------------------------------------------------------------------
run_bench() {  # REP LABEL TIMEOUT MODE KEY=VALUE ARGS...: appends one line to raw.txt
  local rep=$1 label=$2 limit=$3 mode=$4 key=$5 line rc=0; shift 5
  if ! alive; then
    echo "rep=$rep FAILED mode=$mode label=$label $key reason=server_not_running" | tee -a "$RAW"
    return
  fi
  echo "== rep=$rep $label $mode $key" >> "$LOG_DIR/bench.err"
  local -a extra=()
  read -r -a extra <<< "${BENCH_ARGS[$label]:-}"
  timeout "$limit" "$BENCH" "$mode" --port "$PORT" --host 127.0.0.1 --label "$label" "${extra[@]}" "$@" \
    > "$LOG_DIR/bench.out" 2>> "$LOG_DIR/bench.err" || rc=$?
  line=$(grep '^RESULT' "$LOG_DIR/bench.out" | tail -n1 || true)
  if [[ -n $line ]]; then
    echo "rep=$rep $line" | tee -a "$RAW"
  else
    echo "rep=$rep FAILED mode=$mode label=$label $key reason=no_result_exit_$rc" | tee -a "$RAW"
  fi
}

run_server() {  # REP LABEL
  local rep=$1 label=$2 c p n
  CURRENT=$label PORT=""
  if ! "start_$label" || [[ -z $PORT ]] || ! alive; then
    # Its loads are still listed, each as FAILED ... reason=server_not_running.
    STATUS[$label]="failed to start: $(tail -n2 "$LOG_DIR/$label.err" 2>/dev/null | paste -sd' ')"
    note "$label (rep $rep): ${STATUS[$label]}"
  fi
  echo "== rep $rep: $label pid=$PID port=$PORT" >&2
  for c in "${CONCURRENCY[@]}"; do
    run_bench "$rep" "$label" $((DURATION + WARMUP + 60)) rate "c=$c" --concurrency "$c" --size $SIZE \
      --duration $DURATION --warmup $WARMUP
  done
  for p in "${STREAM_P[@]}"; do
    run_bench "$rep" "$label" 600 stream "p=$p" --connections "$p" --bytes $STREAM_BYTES
  done
  for n in "${HOLD_N[@]}"; do
    run_bench "$rep" "$label" 300 hold "n=$n" --connections "$n" --server-pid "$PID"
  done
  stop_server "$label"; CURRENT=""
  sleep 1   # let TIME_WAIT and exiting children settle before the next server
}

# --- machine description ----------------------------------------------------------------
{
  echo "command: $COMMAND_LINE"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uname: $(uname -a)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
  echo "cpus: $(nproc) online; $(lscpu | sed -n 's/^Thread(s) per core: *\(.*\)/\1 thread(s) per core/p')"
  echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}')"
  echo "kernel: $(cat /proc/version)"
  echo "debian: $(cat /etc/debian_version 2>/dev/null || echo unknown)"
  echo "sysctl: somaxconn=$(cat /proc/sys/net/core/somaxconn) tcp_tw_reuse=$(cat /proc/sys/net/ipv4/tcp_tw_reuse) ip_local_port_range=$(tr '\t' - < /proc/sys/net/ipv4/ip_local_port_range) pid_max=$(cat /proc/sys/kernel/pid_max)"
  echo "ulimit -n: $(ulimit -n)"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "echod commit: $(git -C "$SOURCE_DIR" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$SOURCE_DIR" status --porcelain 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')"
  echo "echod version: $("$ECHOD" --version 2>&1 | head -n1)"
  echo "compiler: $(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null) $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)"
  for pkg in ucspi-tcp ipsvd socat xinetd openbsd-inetd gnuplot-nox; do
    echo "package $pkg: $(dpkg-query -W -f '${Version} ${db:Status-Status}' "$pkg" 2>/dev/null || echo 'not installed')"
  done
  [[ -n $XINETD ]] && echo "xinetd binary: $XINETD ($("$XINETD" -version 2>&1 | head -n1))"
  [[ -n $INETD ]] && echo "inetd binary: $INETD"
} > "$OUT_DIR/machine.txt"

echo "command: $COMMAND_LINE" >&2
echo "servers: ${SERVERS[*]}" >&2

# --- the run: repetition r runs every server once before r+1; the order rotates ----------
count=${#SERVERS[@]}
for ((rep = 1; rep <= REPS; rep++)); do
  for ((idx = 0; idx < count; idx++)); do
    label=${SERVERS[(idx + rep - 1) % count]}
    run_server "$rep" "$label"
  done
done

for label in "${SERVERS[@]}"; do
  printf '%s\t%s\t%s\t%s\n' "$label" "${STATUS[$label]:-ran}" "${CMD[$label]}" "${LIMITS[$label]}" >> "$SERVERS_TSV"
done
for label in "${!STATUS[@]}"; do
  [[ " ${SERVERS[*]} " == *" $label "* ]] ||
    printf '%s\t%s\t%s\t%s\n' "$label" "${STATUS[$label]}" "${CMD[$label]:-}" "${LIMITS[$label]:-}" >> "$SERVERS_TSV"
done
printf '%s\n' "${NOTES[@]}" > "$OUT_DIR/notes.txt"
echo "loadavg at end: $(cat /proc/loadavg)" >> "$OUT_DIR/machine.txt"

# --- tables, targets and the plot ---------------------------------------------------------
COMMAND_LINE=$COMMAND_LINE QUICK=$QUICK python3 - "$OUT_DIR" <<'PY'
import os, statistics, sys

out = sys.argv[1]
quick = os.environ.get("QUICK") == "--quick"
PEERS = ["tcpserver", "tcpsvd", "socat", "xinetd", "inetd"]
KEY = {"rate": "c", "stream": "p", "hold": "n"}

groups = {}
for line in open(f"{out}/raw.txt"):
    toks = line.split()
    if len(toks) < 2:
        continue
    d = dict(t.split("=", 1) for t in toks if "=" in t)
    d["failed"] = toks[1] == "FAILED"
    mode = d.get("mode")
    if mode in KEY and KEY[mode] in d:
        groups.setdefault((d["label"], mode, int(d[KEY[mode]])), []).append(d)

servers = []  # (label, status, command, limits) in run order
with open(f"{out}/servers.tsv") as f:
    next(f)
    for line in f:
        servers.append(tuple((line.rstrip("\n").split("\t") + ["", "", "", ""])[:4]))
servers = [(l, "no results" if st == "ran" and not any(k[0] == l for k in groups) else st, c, lim)
           for l, st, c, lim in servers]
ran = [s[0] for s in servers if not s[1].startswith("skipped")]


class Cell:
    """The median of one metric over the repetitions of one server and load."""
    def __init__(self, label, mode, param, metric):
        rows = groups.get((label, mode, param), [])
        ok = [r for r in rows if not r["failed"]]
        vals = [float(r[metric]) for r in ok if metric in r]
        self.runs = len(rows)
        self.failed = len(rows) - len(ok)
        self.errors = sum(int(r.get("errors", 0)) for r in ok)
        self.value = statistics.median(vals) if vals else None
        self.clean = self.value is not None and self.errors == 0 and self.failed == 0

    def text(self, digits=0):
        if self.runs == 0:
            return "—"
        if self.value is None:
            return "failed"
        s = f"{self.value:.{digits}f}"
        if self.errors:
            s += f" ({self.errors} err)"
        if self.failed:
            s += f" ({self.failed} failed)"
        return s


def params(mode):
    return sorted({k[2] for k in groups if k[1] == mode})


def best_peer(c):
    cells = [(Cell(p, "rate", c, "cps"), p) for p in PEERS if p in ran]
    cells = [(cell.value, p) for cell, p in cells if cell.clean]
    return max(cells) if cells else (None, None)


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


md = []
w = md.append
rates, streams, holds = params("rate"), params("stream"), params("hold")
w("# echod compared with reference and Debian fork servers\n")
w(f"Command: `{os.environ.get('COMMAND_LINE', '')}`  ")
w("Machine: see machine.txt. Every number is the median over the repetitions "
  f"({'1, --quick' if quick else '3'}); `(N err)` = errors summed over them; "
  "cells with errors are left out of ratios and targets.\n")

w("## Servers and their limits\n")
w("| server | status | command | limits (stock -> raised) |")
w("|---|---|---|---|")
for label, status, cmd, limits in servers:
    w(f"| {label} | {status} | `{cmd}` | {limits} |")
notes = [n for n in open(f"{out}/notes.txt").read().splitlines() if n.strip()]
if notes:
    w("\nNotes:\n")
    for n in notes:
        w(f"- {n}")

w("\n## Connections per second (rate: connect, 64 bytes, echo, close)\n")
w("| server | " + " | ".join(f"C={c}" for c in rates) + " |")
w("|---|" + "---:|" * len(rates))
for s in ran:
    w(f"| {s} | " + " | ".join(Cell(s, "rate", c, "cps").text() for c in rates) + " |")

w("\n## Latency per connection, µs (p50 / p99)\n")
lat_c = [c for c in (1, 16) if c in rates]
w("| server | " + " | ".join(f"p50 C={c} | p99 C={c}" for c in lat_c) + " |")
w("|---|" + "---:|" * (2 * len(lat_c)))
for s in ran:
    w(f"| {s} | " + " | ".join(f"{Cell(s, 'rate', c, 'p50_us').text()} | {Cell(s, 'rate', c, 'p99_us').text()}"
                               for c in lat_c) + " |")

w("\n## Ratios of connections per second\n")
w("| ratio | " + " | ".join(f"C={c}" for c in rates) + " |")
w("|---|" + "---:|" * len(rates))
cps = lambda s, c: (lambda x: x.value if x.clean else None)(Cell(s, "rate", c, "cps"))
w("| best Debian peer | " + " | ".join(
    (lambda v, p: f"{p} {v:.0f}" if p else "n/a")(*best_peer(c)) for c in rates) + " |")
for name, num, den in [("echod-fork / ref-fork", "echod-fork", "ref-fork"),
                       ("echod-fork-notify / ref-fork", "echod-fork-notify", "ref-fork"),
                       ("echod-prefork / ref-fork", "echod-prefork", "ref-fork"),
                       ("echod-fork / best peer", "echod-fork", None),
                       ("echod-prefork-mcpc100 / best peer", "echod-prefork-mcpc100", None),
                       ("echod-prefork-mcpc100 / ref-epoll", "echod-prefork-mcpc100", "ref-epoll"),
                       ("echod-prefork-mcpc100-batch / ref-epoll", "echod-prefork-mcpc100-batch", "ref-epoll"),
                       ("echod-fork-info / echod-fork", "echod-fork-info", "echod-fork"),
                       ("echod-fork-proxy / echod-fork", "echod-fork-proxy", "echod-fork"),
                       ("echod-fork-notify / ref-fork", "echod-fork-notify", "ref-fork"),
                       ("echod-prefork / echod-fork", "echod-prefork", "echod-fork")]:
    cells = [ratio(cps(num, c), cps(den, c) if den else best_peer(c)[0]) for c in rates]
    w(f"| {name} | " + " | ".join(fmt_ratio(r) for r in cells) + " |")

w("\n## Stream throughput, MB/s (P connections, each sends and receives "
  f"{'16' if quick else '256'} MiB)\n")
w("| server | " + " | ".join(f"P={p}" for p in streams) + " |")
w("|---|" + "---:|" * len(streams))
for s in ran:
    w(f"| {s} | " + " | ".join(Cell(s, "stream", p, "mbps").text(1) for p in streams) + " |")

w("\n## Held connections: memory per connection and time to establish\n")
w("| server | " + " | ".join(f"N={n} kB/conn | N={n} establish ms | N={n} echoed | N={n} procs"
                              for n in holds) + " |")
w("|---|" + "---:|" * (4 * len(holds)))


def echoed(s, n):
    rows = groups.get((s, "hold", n), [])
    if not rows:
        return "—"
    got = [int(r.get("echoed", 0)) for r in rows if not r["failed"]]
    if not got:
        return "failed"
    return f"{min(got)}/{n}" + ("" if len(got) == len(rows) else f" ({len(rows) - len(got)} failed)")


for s in ran:
    w(f"| {s} | " + " | ".join(
        f"{Cell(s, 'hold', n, 'per_conn_kb').text(1)} | {Cell(s, 'hold', n, 'establish_ms').text(1)} | "
        f"{echoed(s, n)} | {Cell(s, 'hold', n, 'tree_procs').text()}" for n in holds) + " |")

# --- targets ----------------------------------------------------------------------------
targets = []


def target(name, measured, limit, ok):
    if measured is None or limit is None:
        targets.append((name, "n/a", "n/a", "FAIL (not measured)"))
    else:
        targets.append((name, measured, limit, "PASS" if ok else "FAIL"))


def cmp_ratio(name, num, den, factor, at_least=True, what="cps"):
    r = ratio(num, den)
    if r is None:
        return target(name, None, None, False)
    target(name, f"{r:.2f}×", f"{'≥' if at_least else '≤'} {factor}×",
           r >= factor if at_least else r <= factor)


for label in ("echod-fork", "echod-fork-notify"):
    for c in (1, 16, 64):
        cmp_ratio(f"{label} cps ≥ 1.0× ref-fork at C={c}", cps(label, c), cps("ref-fork", c), 1.0)
for c in (1, 16, 64):
    cmp_ratio(f"echod-fork-proxy cps ≥ 0.95× echod-fork at C={c}",
              cps("echod-fork-proxy", c), cps("echod-fork", c), 0.95)
kb = lambda s, n: (lambda x: x.value if x.clean else None)(Cell(s, "hold", n, "per_conn_kb"))
nhold = 200 if quick else 1000
cmp_ratio(f"echod-fork kB per held connection ≤ 1.1× ref-fork at N={nhold}",
          kb("echod-fork", nhold), kb("ref-fork", nhold), 1.1, False)
p50 = lambda s, c: (lambda x: x.value if x.clean else None)(Cell(s, "rate", c, "p50_us"))
cmp_ratio("echod-prefork p50 ≤ 0.6× ref-fork at C=1", p50("echod-prefork", 1), p50("ref-fork", 1), 0.6, False)
cmp_ratio("echod-prefork cps ≥ 1.3× ref-fork at C=1", cps("echod-prefork", 1), cps("ref-fork", 1), 1.3)
for c in (16, 64):
    cmp_ratio(f"echod-prefork cps ≥ 1.1× ref-fork at C={c}", cps("echod-prefork", c), cps("ref-fork", c), 1.1)
for c in (16, 64):
    cmp_ratio(f"echod-prefork-mcpc100 cps ≥ 1.0× ref-epoll at C={c}",
              cps("echod-prefork-mcpc100", c), cps("ref-epoll", c), 1.0)
mbps = lambda s, p: (lambda x: x.value if x.clean else None)(Cell(s, "stream", p, "mbps"))
for p in (1, 4):
    cmp_ratio(f"echod-fork stream MB/s ≥ 1.0× ref-fork at P={p}", mbps("echod-fork", p), mbps("ref-fork", p), 1.0)
nmax = 200 if quick else 5000
rows = groups.get(("echod-fork", "hold", nmax), [])
all_echo = bool(rows) and all(not r["failed"] and int(r.get("echoed", -1)) == nmax
                              and int(r.get("errors", 1)) == 0 for r in rows)
target(f"echod-fork holds {nmax} connections, all echo (every repetition)",
       echoed("echod-fork", nmax) if rows else None, f"{nmax}/{nmax}" if rows else None, all_echo)

w("\n## Targets\n")
w("| target | measured | required | result |")
w("|---|---:|---:|---|")
for t in targets:
    w("| " + " | ".join(t) + " |")
passed = sum(t[3] == "PASS" for t in targets)
w(f"\n{passed} of {len(targets)} targets PASS.")
open(f"{out}/results.md", "w").write("\n".join(md) + "\n")

# --- the plot: two panels, median with min-max bars over the repetitions ------------------
def spread(label, c):
    rows = [r for r in groups.get((label, "rate", c), []) if not r["failed"] and "cps" in r]
    vals = [float(r["cps"]) for r in rows]
    return (statistics.median(vals), min(vals), max(vals)) if vals else None


panels = [("echod's modes and the two reference servers",
           ["echod-fork", "echod-fork-notify", "echod-fork-proxy", "echod-prefork",
            "echod-prefork-mcpc100", "ref-fork", "ref-epoll"]),
          ("echod with the fork servers Debian ships",
           ["echod-fork", "echod-prefork"] + PEERS)]
colour = {"echod-fork": "#e41a1c", "echod-fork-notify": "#ff7f00", "echod-fork-proxy": "#e7298a",
          "echod-prefork": "#984ea3", "echod-prefork-mcpc100": "#a65628", "ref-fork": "#000000",
          "ref-epoll": "#777777",
          "tcpserver": "#377eb8", "tcpsvd": "#4daf4a", "socat": "#17becf", "xinetd": "#f781bf",
          "inetd": "#1f3a93"}
plots = []
for title, labels in panels:
    series = []
    for s in labels:
        points = [(c, spread(s, c)) for c in rates]
        points = [(c, v) for c, v in points if v]
        if not points or s not in ran:
            continue
        with open(f"{out}/cps-{s}.dat", "w") as f:
            for c, (med, lo, hi) in points:
                f.write(f"{c} {med:.1f} {lo:.1f} {hi:.1f}\n")
        dash = 1 if s.startswith("echod") else 2 if s.startswith("ref-") else 3
        series.append(f"'{out}/cps-{s}.dat' using 1:2:3:4 with yerrorlines lw 2 dt {dash} "
                      f"lc rgb '{colour.get(s, '#bcbd22')}' title '{s}'")
    plots.append(f'set title "{title}"\nplot ' + ", \\\n     ".join(series))
with open(f"{out}/cps.gp", "w") as f:
    f.write(f"""set terminal pngcairo size 1400,720 noenhanced
set output '{out}/cps.png'
set multiplot layout 1,2 title 'Connections per second against concurrent clients (64 bytes each; median, bars: min-max of {1 if quick else 3})'
set xlabel 'concurrent clients'
set ylabel 'connections per second'
set logscale x 2
set xrange [{min(rates) / 1.2}:{max(rates) * 1.2}]
set yrange [0:*]
set xtics ({", ".join(str(c) for c in rates)})
set key below maxrows 4 width 2
set grid
{chr(10).join(plots)}
unset multiplot
""")
PY
if command -v gnuplot > /dev/null; then
  gnuplot "$OUT_DIR/cps.gp" || note "gnuplot failed: no cps.png"
else
  note "gnuplot not installed: no cps.png (apt-get install gnuplot-nox)"
fi
echo
echo "command: $COMMAND_LINE"
cat "$OUT_DIR/results.md"
exit 0
}
