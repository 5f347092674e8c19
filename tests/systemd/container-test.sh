#!/usr/bin/env bash
# echod as an operator meets it: the .deb built by `cpack -G DEB`, installed into a booted
# Debian bookworm under a real systemd 252 (systemd-nspawn, its own loopback only), used
# with systemctl, journalctl, ss and nc. Run by ctest as root; exit 77 (skipped) otherwise.
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

step "package: cpack -G DEB"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt")
[ "$prefix" = /usr ] || fail "$build_dir installs under '$prefix'; the package must use /usr (cmake -DCMAKE_INSTALL_PREFIX=/usr)"
(cd "$build_dir" && cpack -G DEB >/dev/null)
deb=$(ls -t "$build_dir"/echod_*_amd64.deb | head -n 1)
echo "built $deb"
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
cexec dpkg -i /root/echod.deb
for file in /usr/bin/echod /usr/bin/echod-client /etc/echod/echod.conf \
    /usr/lib/systemd/system/echod.service /usr/lib/systemd/system/echod.socket \
    /usr/share/echod/socket-activation.conf /usr/share/man/man8/echod.8.gz \
    /usr/share/man/man5/echod.conf.5.gz; do
    check "installed $file" cexec test -e "$file"
done
# Every library echod and echod-client need resolves, and each one they name directly
# (NEEDED) comes from a package that Depends names.
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
for program in echod echod-client; do
    check "ldd finds every library of $program" bash -c "! cexec ldd /usr/bin/$program | grep 'not found'"
    for lib in $(LC_ALL=C readelf -d "$unpacked/usr/bin/$program" |
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
check "the ready line names port 7 and backlog 511" journal_has '^ready listening=0\.0\.0\.0:7,\[::\]:7 port=7 backlog=511 '
check "under ProcSubset=pid, a warning says the kernel clamps backlog 511 to somaxconn 64" \
    journal_has '^backlog=511 exceeds net\.core\.somaxconn; the kernel clamps it to 64$' -p warning..warning
check "ss -ltn shows backlog 64 on port 7" test "$(backlog_of 7)" = 64
check "the clamped backlog (64) below max_children (256) is noted, at priority notice" \
    journal_has '^backlog=64 is below max_children=256; a burst of more than 65 clients beyond max_children may be refused by the kernel$' -p notice..notice
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
    journal_has 'connection closed peer=127\.0\.0\.1:[0-9]+ pid=[0-9]+ bytes_in=12 bytes_out=12 duration_ms=[0-9]+ reason=eof' -p info
check "... at priority info exactly" journal_has 'connection closed peer=' -p info..info
check "the ready line at priority notice exactly" journal_has '^ready listening=' -p notice..notice
check "journalctl -p warning has no info or notice lines" \
    bash -c "! cexec journalctl --no-pager -o cat -u echod -p warning | grep -E 'connection closed|ready listening'"

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
    journal_has "reload failed: /etc/echod/echod.conf:[0-9]+: key 'port' has value '70000'" -p err
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
check "the journal says why" journal_has 'reload failed: bind 0\.0\.0\.0:7008: Address already in use' -p err
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
        journal_has '^limit too low: cgroup pids\.max=300 cgroup=[^ ]*/echod\.service needs=401 for max_children=400 \+ the master; forks past it fail and drop their clients; systemctl edit echod: \[Service\] TasksMax=401 or more, or lower max_children$' -p warning..warning
    printf '[Service]\nTasksMax=500\n' |
        cexec tee /etc/systemd/system/echod.service.d/tasks.conf >/dev/null
    cexec systemctl daemon-reload
    cexec systemctl reload echod
    check "with TasksMax=500 the next reload does not warn" \
        test "$(journal | grep -c '^limit too low: ')" = 1
    cexec rm /etc/echod/echod.conf.d/capacity.conf /etc/systemd/system/echod.service.d/tasks.conf
    cexec systemctl daemon-reload
    cexec systemctl reload echod
    check "the connection held since the first reload still echoes" held_echoes "after the limits"
else
    echo "skipped: TasksMax= is not enforced in this container (pids.max of $unit_cgroup: '${pids_max:-none}')"
    check "and no limit warning was made up" bash -c "! cexec journalctl --no-pager -o cat -u echod | grep -q '^limit too low'"
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
check "a new connection is refused while draining" refuses 127.0.0.1 7007
held_close
wait "$stop_pid" || fail "systemctl stop failed"
stop_seconds=$((SECONDS - stop_started))
echo "systemctl stop took ${stop_seconds}s"
wait "$waiting_pid" || fail "the waiting client did not end cleanly"
check "the client that finished ended with reason=eof" \
    journal_has "connection closed peer=127\.0\.0\.1:[0-9]+ .* bytes_in=$HELD_BYTES bytes_out=$HELD_BYTES .* reason=eof"
check "the waiting client was closed at shutdown_timeout with reason=shutdown" \
    journal_has "connection closed peer=127\.0\.0\.1:[0-9]+ .* bytes_in=8 bytes_out=8 duration_ms=[3-9][0-9]{3} reason=shutdown"
check "stop took shutdown_timeout, and not much more (${stop_seconds}s)" \
    test "$stop_seconds" -ge 2 -a "$stop_seconds" -le 6
check "echod is inactive" test "$(unit_property echod ActiveState)" = inactive
check "no echod process is left" bash -c '! cexec pgrep -x echod'
cexec systemctl disable echod
cexec rm /etc/systemd/system/echod.service.d/watchdog.conf
# The operator's drop-in goes too: the package steps below are about the packaged file.
cexec rm -r /etc/echod/echod.conf.d

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
    journal_has 'socket activation: listening=0\.0\.0\.0:7,\[::\]:7 from the socket unit'
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

step "upgrade, remove, reinstall, purge"
cexec systemctl enable --now echod
old_pid=$(unit_property echod MainPID)
cexec dpkg -i /root/echod.deb >/dev/null
check "installing over a running echod restarts it" \
    bash -c "test \"\$(cexec systemctl show -P ActiveState echod)\" = active &&
             test \"\$(cexec systemctl show -P MainPID echod)\" != $old_pid"
cexec dpkg -r echod
check "remove stops echod and leaves no process" bash -c '! cexec pgrep -x echod'
check "the binaries and units are gone" \
    bash -c '! cexec test -e /usr/bin/echod && ! cexec test -e /usr/lib/systemd/system/echod.service'
check "the edited config stays after remove (a conffile)" \
    cexec grep -qx 'port = 7007' /etc/echod/echod.conf
cexec dpkg -i /root/echod.deb >/dev/null
check "reinstalling keeps the operator's edit" cexec grep -qx 'port = 7007' /etc/echod/echod.conf
check "reinstalling starts the echod that was left enabled" is_active echod.service
check "which serves the edited port" echoes 127.0.0.1 7007 "reinstalled"
cexec dpkg --purge echod
check "purge stops echod" bash -c '! cexec pgrep -x echod'
check "purge removes /etc/echod" bash -c '! cexec test -e /etc/echod'
check "purge removes the enablement link" \
    bash -c '! cexec test -L /etc/systemd/system/multi-user.target.wants/echod.service'
check "dpkg knows nothing of echod any more" bash -c '! cexec dpkg -s echod >/dev/null 2>&1'

container_poweroff
echo
echo "PASS: echod under systemd $(systemctl --version | head -n 1 | awk '{ print $2 }')"
