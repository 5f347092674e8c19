#!/usr/bin/env bash
# echod as an operator meets it: the Debian package (BUILD_DIR/package/echod.deb, which
# package_test builds), installed into a booted Debian bookworm under a real systemd 252
# (systemd-nspawn, its own loopback only), used with systemctl, journalctl, ss and nc, then
# upgraded under load, removed and purged as piuparts would. Run by ctest as root; exit 77
# (skipped) otherwise.
#
#   tests/systemd/container-test.sh BUILD_DIR
#
# Every wait is bounded; the container (and with it every process started in it) is
# powered off at the end, and on any failure, by container_cleanup.
set -euo pipefail

build_dir=$(cd "${1:?usage: container-test.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: systemd-nspawn needs root"
    exit 77
fi

# shellcheck source=tests/systemd/container.sh
. "$here/container.sh"
trap container_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    echo "--- journalctl -u echod (last 40 lines)" >&2
    cexec journalctl --no-pager -u echod -u echod.socket -n 40 >&2 || true
    exit 1
}
check() {  # check DESCRIPTION COMMAND...: the command must succeed
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else fail "$what"; fi
}
# Polls COMMAND... every 0.1 s until it succeeds or SECONDS_LEFT run out.
wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "$what (not within ${seconds}s)"
        sleep 0.1
    done
    echo "ok: $what"
}

# Echo through nc inside the container: prints what came back.
nc_echo() {  # nc_echo HOST PORT MESSAGE
    printf '%s' "$3" | cexec nc -N -w 5 "$1" "$2"
}
echoes() { [ "$(nc_echo "$1" "$2" "$3")" = "$3" ]; }
refuses() { ! cexec nc -z -w 2 "$1" "$2"; }
unit_property() { cexec systemctl show -P "$2" "$1"; }
state_is() { [ "$(unit_property "$1" ActiveState)" = "$2" ]; }
is_active() { state_is "$1" active; }
journal() { cexec journalctl --no-pager -o cat -u echod "$@"; }
journal_has() {  # journal_has PATTERN [journalctl options]
    local pattern=$1
    shift
    journal "$@" | grep -qE -- "$pattern"
}
# The Send-Q column of `ss -ltn` for a listening port: its backlog.
backlog_of() {
    cexec ss -Hltn "sport = :$1" | awk '{ print $3 }' | head -n 1
}
exposure() {  # exposure UNIT_FILE: the overall level systemd-analyze security reports
    local report
    report=$(cexec systemd-analyze security --offline=yes "$1")
    grep -E '✗|Overall' <<<"$report" >&2  # what is still exposed, and the total
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report"
}
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
# echod speaks the systemd protocols itself: neither libsystemd nor a library it pulls in
# is mapped, so no fork copies their mappings.
maps_no_libsystemd() {  # maps_no_libsystemd PID
    local maps
    maps=$(cexec cat "/proc/$1/maps") && grep -q /libc.so.6 <<<"$maps" &&
        ! grep -E '/lib(systemd|lzma|zstd|lz4|gcrypt|cap)\.so' <<<"$maps"
}

# A client that stays connected across steps: nc in the container on a coprocess, so the
# test can write lines to it and read their echoes.
held_open() {  # held_open PORT
    coproc HELD { CEXEC_TIMEOUT=300 cexec nc -N 127.0.0.1 "$1"; }
}
HELD_BYTES=0  # what the held client has sent so far
held_echoes() {  # held_echoes LINE
    local line=""
    printf '%s\n' "$1" >&"${HELD[1]}"
    HELD_BYTES=$((HELD_BYTES + ${#1} + 1))
    IFS= read -r -t 5 line <&"${HELD[0]}" && [ "$line" = "$1" ]
}
held_close() {  # closes our side (nc sends FIN), waits for nc to finish
    local pid=$HELD_PID fd=${HELD[1]}
    exec {fd}>&-
    wait "$pid" || true
}

step "package: the .deb package_test built"
deb=$build_dir/package/echod.deb
[ -f "$deb" ] || fail "no $deb: package_test builds it (ctest -R 'package_test|systemd_container_test')"
version=$(dpkg-deb -f "$deb" Version)
echo "using $(readlink -f "$deb"), version $version"
# The version before it, for the upgrade step: the same files and maintainer scripts,
# repacked with a lower version. An upgrade between the two runs the scripts' upgrade
# paths (prerm upgrade, postinst configure OLD-VERSION) exactly as between two releases.
scratch=$build_dir/container-test
rm -rf "$scratch"
mkdir -p "$scratch"
previous_version=${version%-*}-0~previous1
dpkg-deb -R "$deb" "$scratch/previous"
sed -i "s/^Version: .*/Version: $previous_version/" "$scratch/previous/DEBIAN/control"
dpkg-deb --root-owner-group -b "$scratch/previous" "$scratch/echod-previous.deb" >/dev/null
rm -rf "$scratch/previous"
check "the previous package ($previous_version) sorts before $version" \
    dpkg --compare-versions "$previous_version" lt "$version"
check "the package marks /etc/echod/echod.conf as a conffile" \
    test "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/echod/echod.conf
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Only what dpkg-shlibdeps finds: echod speaks the systemd protocols itself.
check "Depends names libc6" grep -q libc6 <<<"$depends"
check "Depends does not name libsystemd0" bash -c '! grep -q libsystemd <<<"$1"' _ "$depends"
# Boost and the C++ runtime are linked in statically (fewer mappings for every fork).
check "Depends names no Boost library and no C++ runtime" \
    bash -c '! grep -qE "libboost|libstdc" <<<"$1"' _ "$depends"

step "container: Debian bookworm under systemd"
container_prepare
container_boot
cexec systemctl --version | head -n 1
container_copy_in "$deb" /root/echod.deb

step "install: dpkg -i"
cexec dpkg -i /root/echod.deb </dev/null
for file in /usr/sbin/echod /usr/bin/echod-client /etc/echod/echod.conf \
    /usr/lib/systemd/system/echod.service /usr/lib/systemd/system/echod.socket \
    /usr/share/echod/socket-activation.conf /usr/share/man/man8/echod.8.gz \
    /usr/share/man/man5/echod.conf.5.gz /usr/share/man/man1/echod-client.1.gz \
    /usr/share/doc/echod/copyright /usr/share/doc/echod/README.Debian; do
    check "installed $file" cexec test -e "$file"
done
# The echo port is the operator's choice: a first install enables and starts nothing.
for unit in echod.service echod.socket; do
    check "$unit is installed disabled" test "$(cexec systemctl is-enabled "$unit" || true)" = disabled
    check "$unit is not started" test "$(unit_property "$unit" ActiveState)" = inactive
done
check "no echod process runs" bash -c '! cexec pgrep -x echod'
# Every library echod and echod-client need resolves, and each one they name directly
# (NEEDED) comes from a package that Depends names.
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
for path in /usr/sbin/echod /usr/bin/echod-client; do
    program=${path##*/}
    check "ldd finds every library of $program" bash -c "! cexec ldd $path | grep 'not found'"
    for lib in $(LC_ALL=C readelf -d "$unpacked$path" |
        sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        owner=$(cexec dpkg -S "*/$lib" | head -n 1 | cut -d: -f1)
        check "$program needs $lib from $owner, which Depends names" grep -qw "$owner" <<<"$depends"
    done
done
rm -rf "$unpacked"
check "the unit files pass systemd-analyze verify" \
    cexec systemd-analyze verify --man=no --recursive-errors=yes echod.service echod.socket

step "hardening: systemd-analyze security --offline=yes"
score=$(exposure /usr/lib/systemd/system/echod.service)
echo "exposure of echod.service (binds port 7 itself): $score"
check "echod.service exposure $score <= 1.5" at_most "$score" 1.5

step "systemctl enable --now echod"
# A 1 s watchdog for this test (the unit's is 30 s): staying up for 3 s below proves the
# master's WATCHDOG=1 pings arrive, or systemd would have killed and restarted it.
cexec mkdir -p /etc/systemd/system/echod.service.d
printf '[Service]\nWatchdogSec=1s\n' | cexec tee /etc/systemd/system/echod.service.d/watchdog.conf >/dev/null
cexec systemctl daemon-reload
# net.core.somaxconn belongs to the container's own network namespace (--private-network).
# Lowered below the shipped backlog (511) for this start, it makes the kernel clamp the
# backlog, which echod must report although ProcSubset=pid hides /proc/sys from it.
somaxconn=$(cexec sysctl -n net.core.somaxconn)
cexec sysctl -qw net.core.somaxconn=64
cexec systemctl enable --now echod
check "echod is active once start returns (Type=notify: READY=1 came)" is_active echod.service
check "the watchdog is armed at 1 s" test "$(unit_property echod WatchdogUSec)" = 1s
main_pid=$(unit_property echod MainPID)
check "the master maps no libsystemd, nor what it pulls in, under systemd" \
    maps_no_libsystemd "$main_pid"
# Observed for 3 s: a unit that crashes after start, or misses its watchdog, would be
# restarted with a new MainPID.
for _ in $(seq 30); do
    is_active echod.service || fail "echod left the active state"
    sleep 0.1
done
check "still active, same MainPID $main_pid, NRestarts=0" \
    test "$(unit_property echod MainPID) $(unit_property echod NRestarts)" = "$main_pid 0"
check "runs as a dynamic unprivileged user" test "$(cexec ps -o user= -p "$main_pid")" != root
check "the ready line names port 7 and backlog 511" journal_has '^msg="ready" listening=0\.0\.0\.0:7,\[::\]:7 port=7 backlog=511 '
check "under ProcSubset=pid, a warning says the kernel clamps backlog 511 to somaxconn 64" \
    journal_has '^msg="backlog clamped by net\.core\.somaxconn" backlog=511 effective=64$' -p warning..warning
check "ss -ltn shows backlog 64 on port 7" test "$(backlog_of 7)" = 64
check "the clamped backlog (64) below max_children (256) is noted, at priority notice" \
    journal_has '^msg="backlog below max_children; a longer burst may be refused" backlog=64 max_children=256 queued_at_most=65$' -p notice..notice
cexec sysctl -qw net.core.somaxconn="$somaxconn"

step "clients: nc and echod-client on port 7"
check "nc over IPv4 gets its bytes back" echoes 127.0.0.1 7 "Hello world!"
check "nc over IPv6 gets its bytes back" echoes ::1 7 "Hello IPv6"
check "echod-client verifies 1 MiB" cexec sh -c 'head -c 1048576 /dev/urandom | echod-client 127.0.0.1 7 >/dev/null'
wait_until 5 "systemctl status shows the STATUS= counters" \
    bash -c "cexec systemctl status --no-pager echod | grep -q 'Status: \"active=0 served=3 refused=0 '"
cexec systemctl status --no-pager echod | sed -n '1,6p'

step "journal: per-connection lines at info, only warnings and errors at -p warning"
check "journalctl -p info shows the per-connection lines" \
    journal_has '^msg="connection closed" peer=127\.0\.0\.1:[0-9]+ pid=[0-9]+ bytes_in=12 bytes_out=12 duration_ms=[0-9]+ reason=eof' -p info
check "... at priority info exactly" journal_has '^msg="connection closed" peer=' -p info..info
check "the ready line at priority notice exactly" journal_has '^msg="ready" listening=' -p notice..notice
check "journalctl -p warning has no info or notice lines" \
    bash -c "! cexec journalctl --no-pager -o cat -u echod -p warning | grep -E 'msg=.(connection closed|ready).'"

step "flood: 10 s at full speed, summaries instead of lines, nothing suppressed by journald"
# journald drops a service's lines beyond 10,000 per 30 s; echod writes at most about 50
# per-connection lines a second, then summaries. echod-bench (built, not packaged) opens
# connections from 4 sources, 8 at a time, one echo round trip each.
container_copy_in "$build_dir/echod-bench" /usr/local/bin/echod-bench
check "echod-bench runs in the container" bash -c 'cexec echod-bench >/dev/null 2>&1; test $? = 64'
result=$(cexec echod-bench rate --port 7 --concurrency 8 --duration 10 --sources 4 --label echod) ||
    fail "echod-bench: $result"
echo "$result"
flood=$(sed -n 's/.* conns=\([0-9]*\) .*/\1/p' <<<"$result")
check "the flood ($flood connections) is beyond journald's 10,000 per 30 s" test "$flood" -gt 10000
wait_until 20 "the per-connection lines resume after a calm window" \
    journal_has '^msg="per-connection lines resumed" rate=[0-9]+/s summarised=[0-9]+ paused_ms=[0-9]+$' -p notice..notice
check "echod said once, at notice, that it paused them" \
    test "$(journal -p notice..notice | grep -c '^msg="per-connection lines paused" rate=[0-9]*/s threshold=50/s summary_every=5s$')" = 1
check "journald suppressed no message from echod" \
    bash -c "! cexec journalctl --no-pager -o cat | grep -E 'Suppressed [0-9]+ messages from echod'"
# Resumed after a quiet window: STATUS= (sent at most once a second) has the final counts.
served=$(unit_property echod StatusText | sed -n 's/^active=0 served=\([0-9]*\) .*/\1/p')
lines=$(journal | grep -c '^msg="connection closed" ' || true)
summaries=$(journal | grep -c '^msg="connections summary" ' || true)
summarised=$(journal | sed -n 's/^msg="connections summary" .* closed=\([0-9]*\) .*/\1/p' |
    awk '{ n += $1 } END { print n + 0 }')
echo "connections served $served (flood $flood): $lines lines, $summarised in $summaries summaries"
check "lines + summarised = served from STATUS= ($lines + $summarised = $served)" \
    test "$((lines + summarised))" = "${served:-none}"

step "reload: edit port and backlog, systemctl reload"
held_open 7
check "a connection opened before the reload echoes" held_echoes "before the reload"
# The packaged file sets nothing (each key commented, with its default): the port is
# uncommented and edited there, the rest goes in a drop-in, as configuration management
# would write it.
cexec sed -i -e 's/^#port = 7$/port = 7007/' /etc/echod/echod.conf
cexec mkdir -p /etc/echod/echod.conf.d
printf 'backlog = 64\nshutdown_timeout = 3s\n' |
    cexec tee /etc/echod/echod.conf.d/local.conf >/dev/null
cexec grep -E '^(port|backlog|shutdown_timeout) ' /etc/echod/echod.conf /etc/echod/echod.conf.d/local.conf
check "echod --check-config lists the drop-in and applies it" \
    bash -c "cexec echod --check-config | grep -qx '#   /etc/echod/echod.conf.d/local.conf' &&
             cexec echod --check-config | grep -qx 'backlog = 64'"
started=$SECONDS
cexec systemctl reload echod
echo "systemctl reload returned after $((SECONDS - started)) s"
# No waiting here: ExecReload (echod --reload) returns only once the master answered that
# the new settings are live.
check "the new port echoes as soon as reload returns" echoes 127.0.0.1 7007 "new port"
check "the old port refuses" refuses 127.0.0.1 7
check "ss -ltn shows backlog 64 on port 7007" test "$(backlog_of 7007)" = 64
check "the connection opened before the reload still echoes" held_echoes "after the reload"
check "same MainPID" test "$(unit_property echod MainPID)" = "$main_pid"
child=$(cexec pgrep -P "$main_pid")
cexec ls -l "/proc/$child/fd" | sed 1d | awk '{ print $9, $10, $11 }'
check "the child holds 0-2, its connection, its report pipe and its signalfd: no listener" \
    test "$(cexec ls "/proc/$child/fd" | wc -l)" = 6

step "reload: a broken edit is refused and reported"
cexec sed -i 's/^port = 7007$/port = 70000/' /etc/echod/echod.conf
if cexec systemctl reload echod; then fail "systemctl reload succeeded with port = 70000"; fi
echo "ok: systemctl reload failed"
check "echod is still active with the same MainPID" \
    test "$(unit_property echod ActiveState) $(unit_property echod MainPID)" = "active $main_pid"
check "still serving on the old port 7007" echoes 127.0.0.1 7007 "old settings kept"
check "the journal says why, at priority error" \
    journal_has "^msg=\"reload failed; keeping the running configuration\" error=\"/etc/echod/echod.conf:[0-9]+: key 'port' has value '70000'" -p err
check "systemctl status says the last reload failed" \
    bash -c "cexec systemctl status --no-pager echod | grep -q 'Status: \"last reload failed'"
check "the held connection still echoes" held_echoes "after the failed reload"

step "reload: a valid file whose port is taken is refused and reported"
cexec systemd-run --quiet --unit=port-taker -p RuntimeMaxSec=60 nc -lk 127.0.0.1 7008
wait_until 5 "another program listens on 127.0.0.1:7008" \
    bash -c "cexec ss -Hltn 'sport = :7008' | grep -q LISTEN"
cexec sed -i 's/^port = 70000$/port = 7008/' /etc/echod/echod.conf
if cexec systemctl reload echod; then fail "systemctl reload succeeded with port 7008 taken"; fi
echo "ok: systemctl reload failed"
check "the journal says why" journal_has '^msg="reload failed; keeping the running configuration" error="bind 0\.0\.0\.0:7008: Address already in use"' -p err
check "still serving on port 7007" echoes 127.0.0.1 7007 "port 7008 was taken"
cexec systemctl stop port-taker
cexec sed -i 's/^port = 7008$/port = 7007/' /etc/echod/echod.conf
cexec systemctl reload echod
check "-p warning now shows the reload error but still no info lines" \
    bash -c "cexec journalctl --no-pager -o cat -u echod -p warning | grep -q 'reload failed' &&
           ! cexec journalctl --no-pager -o cat -u echod -p warning | grep -q 'connection closed'"

step "limits: max_children above the unit's TasksMax=300 warns, until TasksMax is raised"
# TasksMax= is the pids.max of the unit's cgroup, when the container's systemd has the pids
# controller (a hybrid host may not delegate it; resource_limits_test checks a real cgroup).
unit_cgroup=$(unit_property echod ControlGroup)
pids_max=$(cexec cat "/sys/fs/cgroup$unit_cgroup/pids.max" 2>/dev/null ||
    cexec cat "/sys/fs/cgroup/pids$unit_cgroup/pids.max" 2>/dev/null || true)
if [ "$pids_max" = 300 ]; then
    printf 'max_children = 400\n' | cexec tee /etc/echod/echod.conf.d/capacity.conf >/dev/null
    cexec systemctl reload echod
    check "the reload warns that pids.max=300 cannot hold max_children=400, and what to do" \
        journal_has '^msg="limit too low; forks past it fail and drop their clients" limit=pids\.max pids_max=300 cgroup=[^ ]*/echod\.service needs=401 max_children=400 fix="systemctl edit echod: \[Service\] TasksMax=401 or more, or lower max_children"$' -p warning..warning
    printf '[Service]\nTasksMax=500\n' |
        cexec tee /etc/systemd/system/echod.service.d/tasks.conf >/dev/null
    cexec systemctl daemon-reload
    cexec systemctl reload echod
    check "with TasksMax=500 the next reload does not warn" \
        test "$(journal | grep -c '^msg="limit too low')" = 1
    cexec rm /etc/echod/echod.conf.d/capacity.conf /etc/systemd/system/echod.service.d/tasks.conf
    cexec systemctl daemon-reload
    cexec systemctl reload echod
    check "the connection held since the first reload still echoes" held_echoes "after the limits"
else
    echo "skipped: TasksMax= is not enforced in this container (pids.max of $unit_cgroup: '${pids_max:-none}')"
    check "and no limit warning was made up" bash -c "! cexec journalctl --no-pager -o cat -u echod | grep -q '^msg=.limit too low'"
fi

step "stop: live connections drain, for shutdown_timeout (3s) at most"
# A second client that sends a line and then only waits: the server has to end it.
CEXEC_TIMEOUT=40 cexec bash -c 'exec 3<>/dev/tcp/127.0.0.1/7007; echo waiting >&3; cat <&3 >/dev/null' &
waiting_pid=$!
wait_until 5 "two connections are established" \
    bash -c "test \"\$(cexec ss -Htn state established '( sport = :7 or sport = :7007 )' | wc -l)\" = 2"
stop_started=$SECONDS
CEXEC_TIMEOUT=40 cexec systemctl stop echod &
stop_pid=$!
wait_until 5 "echod is deactivating" state_is echod deactivating
check "the held connection is still served while draining" held_echoes "while stopping"
# The listeners stay in systemd's fd store until the unit is down (at a restart the next
# master serves what queues there): a client that connects now is queued by the kernel, not
# served by the stopping master, and reset when systemd closes the store.
wait_until 5 "the master began its stop" journal_has '^msg="stopping" signal=SIGTERM'
late_out=$(mktemp)
CEXEC_TIMEOUT=40 cexec bash -c 'exec 3<>/dev/tcp/127.0.0.1/7007 || exit 2; echo late >&3; timeout 20 cat <&3' >"$late_out" 2>&1 &
late_pid=$!
held_close
wait "$stop_pid" || fail "systemctl stop failed"
stop_seconds=$((SECONDS - stop_started))
echo "systemctl stop took ${stop_seconds}s"
late_status=0
wait "$late_pid" || late_status=$?
echo "the client that connected during the stop: exit $late_status, $(tr '\n' ' ' <"$late_out")"
check "a client that connects while draining is queued, never echoed, and reset at the end" \
    bash -c 'test "$1" = 1 && grep -q "reset by peer" "$2" && ! grep -qx late "$2"' _ "$late_status" "$late_out"
rm -f "$late_out"
wait "$waiting_pid" || fail "the waiting client did not end cleanly"
check "the client that finished ended with reason=eof" \
    journal_has "^msg=\"connection closed\" peer=127\.0\.0\.1:[0-9]+ .* bytes_in=$HELD_BYTES bytes_out=$HELD_BYTES .* reason=eof"
check "the waiting client was closed at shutdown_timeout with reason=shutdown" \
    journal_has "^msg=\"connection closed\" peer=127\.0\.0\.1:[0-9]+ .* bytes_in=8 bytes_out=8 duration_ms=[3-9][0-9]{3} reason=shutdown"
check "stop took shutdown_timeout, and not much more (${stop_seconds}s)" \
    test "$stop_seconds" -ge 2 -a "$stop_seconds" -le 6
check "echod is inactive" test "$(unit_property echod ActiveState)" = inactive
check "no echod process is left" bash -c '! cexec pgrep -x echod'
cexec systemctl disable echod
cexec rm /etc/systemd/system/echod.service.d/watchdog.conf
# The operator's drop-in goes too: the package steps below are about the packaged file.
cexec rm /etc/echod/echod.conf.d/local.conf

step "restart: the listeners pass through systemd's fd store, no client is refused"
# The config now says port 7007 and shutdown_timeout 3s. (journald reads a service's lines
# a moment after they are written: checks of the journal wait for them.) Four clients loop on new
# connections while echod is restarted twice; one held connection spans the first restart.
pid_journal_has() {  # pid_journal_has PID PATTERN: a line the process logged
    cexec journalctl --no-pager -o cat "_PID=$1" | grep -qE -- "$2"
}
systemd_holds() {  # systemd_holds PORT: pid 1 has the listening socket too (its fd store)
    cexec ss -Hltnp "sport = :$1" | grep -q '"systemd",pid=1,'
}
stored_nothing() { ! pid_journal_has "$1" '^msg="fd store: stored"'; }
loop_done() { [ "$(cexec sh -c 'cat /root/loop/done.* 2>/dev/null | wc -c')" -ge "$1" ]; }
loop_clean() {  # loop_clean RESULT_LINE: every round trip succeeded, at least 2000
    [[ $1 =~ ^total=([0-9]+)\ ok=([0-9]+)\ refused=0\ failed=0$ ]] &&
        [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" -ge 2000 ]
}
from_store='^msg="listeners from the fd store" listening=0\.0\.0\.0:7007,\[::\]:7007$'
container_copy_in "$here/client-loop.sh" /root/client-loop.sh
cexec systemctl enable --now echod
check "the unit gives the fd store room" test "$(unit_property echod FileDescriptorStoreMax)" = 32
first_pid=$(unit_property echod MainPID)
wait_until 5 "the master stored its listeners" \
    pid_journal_has "$first_pid" '^msg="fd store: stored" tcp=0\.0\.0\.0:7007,\[::\]:7007$'
check "systemd (pid 1) holds the listeners too" systemd_holds 7007
held_open 7007
HELD_BYTES=0  # a new connection
check "a connection opened before the restart echoes" held_echoes "before the restart"
loop_out=$(mktemp)
CEXEC_TIMEOUT=300 cexec bash /root/client-loop.sh 7007 4 2000 /root/loop >"$loop_out" 2>&1 &
loop_pid=$!
wait_until 60 "the client loop made 200 round trips" loop_done 200
restart_started=$EPOCHREALTIME
CEXEC_TIMEOUT=60 cexec systemctl restart echod &
restart_pid=$!
# systemd starts the next master once the old one's cgroup is empty: while the held
# connection drains, the unit is deactivating and new clients wait in the kernel's queue.
wait_until 5 "echod is deactivating during the restart" state_is echod deactivating
check "the held connection is served while the restart waits for it" \
    held_echoes "during the restart"
held_close
wait "$restart_pid" || fail "systemctl restart failed"
elapsed_ms() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
echo "the first restart took $(elapsed_ms "$restart_started") ms (the held connection open for part of it)"
second_pid=$(unit_property echod MainPID)
check "a new MainPID ($first_pid -> $second_pid)" test "$second_pid" != "$first_pid"
# The loop makes far more than 50 connections a second, so the first master may have
# summed its last connections up instead of logging each: the held one then ended in its
# last summary as one of the reason=eof closes. Either way the master stopped only once it
# had drained, with nothing closed for shutdown_timeout.
held_ended() {
    pid_journal_has "$first_pid" "msg=\"connection closed\" peer=127\.0\.0\.1:[0-9]+ .* bytes_in=$HELD_BYTES bytes_out=$HELD_BYTES .* reason=eof" ||
        pid_journal_has "$first_pid" '^msg="connections summary" .* eof=[1-9][0-9]* '
}
wait_until 5 "the held connection ended at its close, reason=eof (its line, or the last summary)" held_ended
wait_until 5 "the first master stopped once drained" pid_journal_has "$first_pid" '^msg="stopped" served=[0-9]+$'
check "... and closed nothing for shutdown_timeout" \
    bash -c "! cexec journalctl --no-pager -o cat _PID=$first_pid | grep -qE 'reason=shutdown|shutdown=[1-9]'"
wait_until 5 "the new master took its listeners from the fd store" \
    pid_journal_has "$second_pid" "$from_store"
check "... and stored nothing again" stored_nothing "$second_pid"
done_before=$(cexec sh -c 'cat /root/loop/done.* | wc -c')
wait_until 30 "the client loop goes on after the first restart" loop_done $((done_before + 100))
restart_started=$EPOCHREALTIME
cexec systemctl restart echod
echo "the second restart took $(elapsed_ms "$restart_started") ms"
third_pid=$(unit_property echod MainPID)
check "a new MainPID again ($second_pid -> $third_pid)" test "$third_pid" != "$second_pid"
wait_until 5 "the third master took its listeners from the fd store" \
    pid_journal_has "$third_pid" "$from_store"
cexec touch /root/loop/stop
loop_status=0
wait "$loop_pid" || loop_status=$?
loop_result=$(tail -n 1 "$loop_out")
rm -f "$loop_out"
echo "client loop across two restarts: $loop_result"
[ "$loop_status" -eq 0 ] || cexec sh -c 'head -n 20 /root/loop/errors' >&2 || true
check "every round trip succeeded: refused=0 failed=0, at least 2000" loop_clean "$loop_result"
check "the client loop exited 0" test "$loop_status" -eq 0
cexec systemctl stop echod
check "systemctl stop closes the store: nothing listens on 7007" \
    test -z "$(cexec ss -Hltn 'sport = :7007')"
check "port 7007 refuses after the stop" refuses 127.0.0.1 7007
cexec systemctl disable echod

step "socket activation: echod.socket with the drop-in"
cexec mkdir -p /etc/systemd/system/echod.service.d
cexec ln -s /usr/share/echod/socket-activation.conf /etc/systemd/system/echod.service.d/
cexec systemctl daemon-reload
score=$(exposure /usr/lib/systemd/system/echod.service)
echo "exposure of echod.service with socket-activation.conf: $score"
check "socket-activated exposure $score <= 0.5" at_most "$score" 0.5
cexec systemctl enable --now echod.socket
check "echod.service waits for its first client" test "$(unit_property echod ActiveState)" = inactive
check "the socket unit listens on port 7, IPv4 and IPv6" \
    test "$(cexec ss -Hltn 'sport = :7' | wc -l)" = 2
check "the first client on port 7 is echoed" echoes 127.0.0.1 7 "activated"
check "IPv6 too" echoes ::1 7 "activated over IPv6"
check "echod.service is now active" is_active echod.service
check "echod adopted the sockets and said so" \
    journal_has '^msg="socket activation" listening=0\.0\.0\.0:7,\[::\]:7 '
check "the socket-activated master maps no libsystemd either" \
    maps_no_libsystemd "$(unit_property echod MainPID)"
check "port 7007 from the file is not used" refuses 127.0.0.1 7007
cexec systemctl reload echod
check "a reload keeps the socket unit's port" echoes 127.0.0.1 7 "after reload"
# A stop must leave the socket unit's sockets listening (echod shares them, and must not
# shut them down): the next client starts echod again.
cexec systemctl stop echod.service
check "after stopping the service, the socket unit still listens on port 7" \
    test "$(cexec ss -Hltn 'sport = :7' | wc -l)" = 2
check "the next client activates echod again and is echoed" echoes 127.0.0.1 7 "again"
check "echod.service is active again" is_active echod.service
cexec systemctl stop echod.socket echod.service
cexec systemctl disable echod.socket
cexec rm /etc/systemd/system/echod.service.d/socket-activation.conf

# Clients across an upgrade: tests/systemd/client-loop.sh in the container makes at least
# 2000 round trips, four at a time, each on a new connection, from before `dpkg -i DEB`
# until the upgraded echod has served 200 more. Sets loop_result to its summary line
# (total=N ok=N refused=N failed=N).
container_copy_in "$here/client-loop.sh" /root/client-loop.sh
loop_dir=/root/client-loop
round_trips() { cexec sh -c "cat $loop_dir/done.* 2>/dev/null | wc -c"; }
at_least_round_trips() { [ "$(round_trips)" -ge "$1" ]; }
upgrade_under_load() {  # upgrade_under_load PORT DEB
    local loop_pid before started status=0
    cexec rm -rf "$loop_dir"  # no counts left from an earlier run
    CEXEC_TIMEOUT=400 cexec /root/client-loop.sh "$1" 4 2000 "$loop_dir" >"$scratch/client-loop.out" 2>&1 &
    loop_pid=$!
    wait_until 60 "the client loop has made 200 round trips" at_least_round_trips 200
    before=$(round_trips)
    started=$SECONDS
    cexec dpkg -i "$2" </dev/null
    echo "dpkg -i took $((SECONDS - started))s; round trips before it: $before, when it returned: $(round_trips)"
    wait_until 60 "the upgraded echod has served 200 more round trips of the loop" \
        at_least_round_trips $(($(round_trips) + 200))
    cexec touch "$loop_dir/stop"
    wait "$loop_pid" || status=$?
    loop_result=$(tail -n 1 "$scratch/client-loop.out")
    echo "client loop across the upgrade (exit status $status): $loop_result"
    check "the loop made at least 2000 round trips" \
        test "$(sed -n 's/^total=\([0-9]*\) .*/\1/p' <<<"$loop_result")" -ge 2000 2>/dev/null
}
no_refusals() { grep -q ' refused=0 failed=0$' <<<"$loop_result"; }

step "upgrade with echod.socket: the socket unit keeps the port, nothing is refused"
# An operator's socket-activated setup (as in the step above), upgraded in place: the
# postinst restarts echod.service and leaves echod.socket listening, so clients queue in its
# backlog meanwhile.
cexec mkdir -p /etc/systemd/system/echod.service.d
cexec ln -sfn /usr/share/echod/socket-activation.conf /etc/systemd/system/echod.service.d/
cexec systemctl daemon-reload
cexec systemctl enable --now echod.socket
check "the first client activates echod" echoes 127.0.0.1 7 "socket-activated"
old_pid=$(unit_property echod MainPID)
socket_since=$(unit_property echod.socket ActiveEnterTimestampMonotonic)
upgrade_under_load 7 /root/echod.deb
check "echod.service is active with a new MainPID ($old_pid before, $(unit_property echod MainPID) now)" \
    test "$(unit_property echod ActiveState)" = active -a "$(unit_property echod MainPID)" != "$old_pid"
check "echod.socket was not restarted" \
    test "$(unit_property echod.socket ActiveEnterTimestampMonotonic)" = "$socket_since"
check "no round trip was refused or failed" no_refusals

step "purge: the socket-activated setup goes, the operator's drop-in link with it"
cexec dpkg --purge echod </dev/null
check "no echod process is left" bash -c '! cexec pgrep -x echod'
check "purge removes the drop-in link and its directory" \
    bash -c '! cexec test -e /etc/systemd/system/echod.service.d'
check "and the enablement link of echod.socket" \
    bash -c '! cexec test -e /etc/systemd/system/sockets.target.wants/echod.socket'
check "dpkg knows nothing of echod" bash -c '! cexec dpkg -s echod >/dev/null 2>&1'

# As piuparts tests a package: install the previous version into a clean system, change
# the config as an operator would, enable it, upgrade to this version while clients keep
# connecting, then remove and purge, and look for anything left behind.
step "upgrade: $previous_version, an operator's edit, enabled, then dpkg -i $version under load"
container_copy_in "$scratch/echod-previous.deb" /root/echod-previous.deb
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
installed_version() { cexec dpkg-query -W -f '${Version}' echod; }
cexec dpkg -i /root/echod-previous.deb </dev/null
check "the previous version is installed" \
    test "$(installed_version)" = "$previous_version"
check "installed, it starts nothing" bash -c '! cexec pgrep -x echod'
cexec sed -i -e 's/^#port = 7$/port = 7007/' -e 's/^#max_per_source = 32$/max_per_source = 64/' \
    /etc/echod/echod.conf
cexec grep -E '^(port|max_per_source) ' /etc/echod/echod.conf
# And a setting from configuration management, in the package's drop-in directory.
check "the package ships the drop-in directory /etc/echod/echod.conf.d" \
    cexec test -d /etc/echod/echod.conf.d
printf 'idle_timeout = 2m\n' | cexec tee /etc/echod/echod.conf.d/50-managed.conf >/dev/null
cexec systemctl enable --now echod
check "echod is active" is_active echod.service
old_pid=$(unit_property echod MainPID)
check "it serves the edited port" echoes 127.0.0.1 7007 "previous version"
upgrade_under_load 7007 /root/echod.deb
# How long the port was closed: the old master's stop and the new one's ready line.
cexec journalctl --no-pager -o short-precise -u echod |
    grep -E 'echod\[[0-9]+\]: msg="(stopping|stopped|ready)"' | tail -n 3
check "$version is installed" test "$(installed_version)" = "$version"
check "echod is active after the upgrade" is_active echod.service
new_pid=$(unit_property echod MainPID)
check "with a new MainPID ($old_pid before, $new_pid now): the new echod runs" \
    test "$new_pid" != "$old_pid" -a "$new_pid" != 0
check "the operator's edit is kept" \
    cexec grep -qx -e 'port = 7007' /etc/echod/echod.conf
check "the drop-in is kept, and applied (idle_timeout = 2m, shown as 120s)" \
    bash -c "cexec echod --check-config | grep -qx 'idle_timeout = 120s'"
check "... all of it, silently (no .dpkg-dist or .dpkg-old beside it)" \
    bash -c "cexec grep -qx 'max_per_source = 64' /etc/echod/echod.conf &&
             test -z \"\$(cexec find /etc/echod -name '*.dpkg-*')\""
# Zero refusals across the restart needs the listeners kept in systemd's file descriptor
# store. A failure here is reported at the end, so that remove and purge are still tested.
upgrade_failure=""
if no_refusals; then
    echo "ok: no round trip was refused or failed across the upgrade"
else
    upgrade_failure="round trips refused or failed across the upgrade: $loop_result"
    echo "FAIL (reported at the end): $upgrade_failure" >&2
    cexec head -n 10 "$loop_dir/errors" >&2 || true
fi

step "remove: dpkg -r"
cexec dpkg -r echod </dev/null
check "no echod process is left" bash -c '! cexec pgrep -x echod'
for unit in echod.service echod.socket; do
    check "$unit is neither active nor enabled" \
        bash -c "! cexec systemctl --quiet is-active $unit && ! cexec systemctl --quiet is-enabled $unit"
done
check "the programs and units are gone" \
    bash -c '! cexec test -e /usr/sbin/echod && ! cexec test -e /usr/bin/echod-client &&
             ! cexec test -e /usr/lib/systemd/system/echod.service'
check "the edited config stays (a conffile), until purge" \
    cexec grep -qx 'port = 7007' /etc/echod/echod.conf
check "... and the drop-in too" cexec test -f /etc/echod/echod.conf.d/50-managed.conf

step "purge: dpkg --purge"
cexec dpkg --purge echod </dev/null
check "nothing is left under /etc/echod, the drop-ins included" bash -c '! cexec test -e /etc/echod'
leftovers=$(cexec find /var/lib /var/log /var/cache /var/tmp /etc/systemd -iname '*echod*')
check "no file names echod under /var/lib, /var/log, /var/cache, /var/tmp or /etc/systemd${leftovers:+: $leftovers}" \
    test -z "$leftovers"
# (DynamicUser= keeps files in /var/lib/private only for StateDirectory= and its kin,
# which echod.service does not use: the search above covers it.)
cexec ls -la /var/lib/private 2>/dev/null || echo "(no /var/lib/private)"
check "no enablement link in any .wants directory" \
    test -z "$(cexec find /etc/systemd/system -lname '*echod*')"
check "dpkg knows nothing of echod any more" \
    bash -c '! cexec dpkg -s echod >/dev/null 2>&1 && ! cexec test -e /var/lib/dpkg/info/echod.list'

[ -z "$upgrade_failure" ] || fail "$upgrade_failure"

container_poweroff
echo
echo "PASS: echod under systemd $(systemctl --version | head -n 1 | awk '{ print $2 }')"
