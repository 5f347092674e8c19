# shellcheck shell=bash
# tests/systemd/container.sh: boot a real Debian bookworm systemd in a
# systemd-nspawn container and run commands in it.  Source it from a bash test
# script that runs as root; every function works under `set -euo pipefail` and
# without it (each step checks its own status and returns non-zero on error).
#
#   container_prepare            cached rootfs tarball exists (debootstraps on a miss)
#   container_boot               tmpfs rootfs + booted systemd; sets CONTAINER_LEADER, CONTAINER_ROOT
#   cexec CMD...                 run CMD inside; stdin, stdout, stderr, exit status pass through
#   container_copy_in SRC DST    host file SRC -> DST inside the container
#   container_poweroff           stop the container, undo mounts and cgroups (idempotent)
#   container_cleanup            for `trap container_cleanup EXIT`: keeps the exit status
#
# Typical use (the INT/TERM traps make bash run the EXIT trap when a test
# runner kills the script with a signal; without them bash dies at once):
#   source tests/systemd/container.sh
#   trap container_cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
#   container_boot
#   cexec systemctl start echod.service
#
# The host this is written for: Debian 12 with systemd 252's binaries, but PID 1
# is not systemd (so no system bus, no machined), and cgroups are "hybrid"
# (named v1 hierarchy at /sys/fs/cgroup/systemd, cgroup2 at /sys/fs/cgroup/unified).

# The packages the rootfs gets (debootstrap --include).  libboost-regex1.74.0 is
# listed explicitly: debootstrap's resolver does not pull it in by itself for
# libboost-log1.74.0 and then fails.  Changing this list changes the cache key.
CONTAINER_PACKAGES="systemd,systemd-sysv,dbus,procps,iproute2,netcat-openbsd,libboost-log1.74.0,libboost-program-options1.74.0,libboost-regex1.74.0"
CONTAINER_SUITE="bookworm"
# Bump when the way the rootfs is built or post-processed changes: it is part of the cache key.
_CONTAINER_RECIPE=3

# Time bounds (seconds); all overridable from the environment.
: "${CONTAINER_BOOT_TIMEOUT:=60}"        # nspawn start -> "running"/"degraded"
: "${CONTAINER_LIFETIME:=600}"           # hard cap on the whole nspawn run (timeout(1))
: "${CONTAINER_POWEROFF_TIMEOUT:=30}"    # poweroff request -> nspawn gone, then SIGKILL
: "${CONTAINER_DEBOOTSTRAP_TIMEOUT:=1200}"
: "${CEXEC_TIMEOUT:=60}"

# State of the current container (empty when none).  CONTAINER_LOG is the
# console log; it lives in the temp dir and goes away at poweroff.
CONTAINER_LEADER=""
CONTAINER_ROOT=""
CONTAINER_LOG=""
_CONTAINER_DIR=""           # temp dir: root/ (tmpfs mount point) + console.log
_CONTAINER_TIMEOUT_PID=""   # our background child: timeout(1), parent of systemd-nspawn
_CONTAINER_NSPAWN_PID=""
_CONTAINER_STARTTIMES=()    # "PID:starttime" of timeout, nspawn, leader (see _container_ours)
_CONTAINER_CGROUPS=()       # cgroup dirs created for this run, removed at poweroff
_CONTAINER_MOUNTED_NSPAWN_RUN=""  # set when we mounted the tmpfs on /run/systemd/nspawn
_CONTAINER_SEQ=0
_CONTAINER_NAME=""          # machine name, also the cgroup name: echod-container-<shell pid>-<n>

_container_log() { printf 'container: %s\n' "$*" >&2; }

# Deadline helpers: monotonic-enough wall clock in centiseconds via $EPOCHREALTIME.
_container_now_cs() { local t=${EPOCHREALTIME/./}; echo $((10#${t:0:${#t}-4})); }

# "starttime" field of /proc/PID/stat: lets us tell "our" process from a later
# process that reused its PID before we signal it.
_container_starttime() {
    local stat="" rest=""
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    rest=${stat##*) }            # comm may contain spaces: cut after the last ") "
    # shellcheck disable=SC2086
    set -- $rest                 # fields 3.. of stat; starttime is field 22 -> $20
    echo "${20}"
}

# True while PID exists and is not a zombie.
_container_alive() {
    local stat="" rest=""
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    [[ ${rest:0:1} != Z ]]
}

# True while PID is alive and is still the process recorded by _container_remember
# (same start time), so we never signal a stranger that reused the PID.
_container_ours() {
    local e=""
    for e in "${_CONTAINER_STARTTIMES[@]}"; do
        if [[ ${e%%:*} == "$1" ]]; then
            # explicit statuses: a bare `return` inside an EXIT trap would
            # return the status from before the trap, not this test's
            if _container_alive "$1" && [[ $(_container_starttime "$1") == "${e#*:}" ]]; then return 0; fi
            return 1
        fi
    done
    return 1
}
_container_remember() {
    local st=""
    if st=$(_container_starttime "$1"); then _CONTAINER_STARTTIMES+=("$1:$st"); fi
}
# Waits up to $1 seconds until none of the recorded processes is alive.
_container_wait_gone() {
    local deadline=$(( $(_container_now_cs) + $1 * 100 )) e="" busy=""
    while :; do
        busy=""
        for e in "${_CONTAINER_STARTTIMES[@]}"; do _container_ours "${e%%:*}" && busy=1; done
        [[ -z $busy ]] && return 0
        (( $(_container_now_cs) < deadline )) || return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------
# Host tools.  They are installed here if missing, so a fresh CI machine works
# even if nothing else installed them.
_container_need_tools() {
    local missing=() t=""
    for t in debootstrap:debootstrap systemd-nspawn:systemd-container zstd:zstd nsenter:util-linux \
             flock:util-linux timeout:coreutils; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    _container_log "installing missing host packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
        timeout 300 apt-get update -qq >&2 &&
            DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
            { _container_log "cannot install ${missing[*]}"; return 1; }
    fi
}

# ---------------------------------------------------------------------------
# The mirror the host itself uses: first URI serving "bookworm" with component
# "main", from /etc/apt/sources.list and /etc/apt/sources.list.d/*.list
# (one-line format) and *.sources (deb822).  Default http://deb.debian.org/debian.
container_mirror() {
    local f="" uri="" files=()
    local etc=${_CONTAINER_APT_ETC:-/etc/apt}
    [[ -f $etc/sources.list ]] && files+=("$etc/sources.list")
    for f in "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    for f in "${files[@]}"; do
        if [[ $f == *.sources ]]; then
            uri=$(awk -v suite="$CONTAINER_SUITE" '
                function check() {
                    if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" suite "( |$)") &&
                        comps ~ /(^| )main( |$)/ && tolower(enabled) != "no" && uris != "") {
                        split(uris, u, " "); print u[1]; found = 1; exit
                    }
                    types = uris = suites = comps = enabled = ""; key = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { check(); next }
                /^[ \t]/   { if (key == "uris") uris = uris " " $0; next }   # continuation line
                {
                    key = tolower($0); sub(/:.*/, "", key)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
                    if (key == "types") types = val; else if (key == "uris") uris = val
                    else if (key == "suites") suites = val; else if (key == "components") comps = val
                    else if (key == "enabled") enabled = val
                }
                END { if (!found) check() }' "$f")
        else
            # deb [opts] URI SUITE COMPONENT...
            uri=$(awk -v suite="$CONTAINER_SUITE" '
                { sub(/#.*/, "") }
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) != suite) next
                    for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit }
                }' "$f")
        fi
        uri=${uri%% *}
        if [[ -n $uri ]]; then echo "${uri%/}"; return 0; fi
    done
    echo "http://deb.debian.org/debian"
}

# Cache path for the current suite + mirror + package list (+ recipe version).
container_tarball() {
    local cache=${ECHOD_ROOTFS_CACHE:-/var/cache/echod-tests} mirror="" hash=""
    mirror=$(container_mirror) || return 1
    hash=$(printf '%s\n' "$CONTAINER_SUITE" "$mirror" "$CONTAINER_PACKAGES" "$_CONTAINER_RECIPE" |
           sha256sum | cut -c1-12) || return 1
    echo "$cache/$CONTAINER_SUITE-$hash.tar.zst"
}

# Builds the rootfs in DIR (must be empty) and tars it to OUT.tmp, then renames to OUT.
_container_build_tarball() {
    local dir=$1 out=$2 mirror=$3
    _container_log "debootstrap $CONTAINER_SUITE from $mirror (log: $dir.debootstrap.log)"
    timeout -k 30 "$CONTAINER_DEBOOTSTRAP_TIMEOUT" \
        debootstrap --variant=minbase --include="$CONTAINER_PACKAGES" \
        "$CONTAINER_SUITE" "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
        { _container_log "debootstrap failed:"; tail -n 30 "$dir.debootstrap.log" >&2; return 1; }
    # debootstrap unmounts /proc and /sys of the target on exit; make sure
    # nothing is left mounted under DIR before it is tarred (and later rm -rf'ed).
    if grep -qF " $dir/" /proc/self/mountinfo; then
        _container_log "mounts left under $dir after debootstrap"; return 1
    fi
    # Hostname for the container; an empty machine-id makes the container's
    # systemd generate a fresh one at each boot (first-boot semantics without
    # every container sharing one id).  console-getty is masked: the console is
    # a read-only log (see container_boot), a login prompt there is only noise.
    # Drop downloaded .debs: smaller tarball.
    # chmod: DIR comes from mktemp -d (mode 0700) and tar records "./" with that
    # mode; unpacked, it made / unreadable to every non-root service
    # (dbus-daemon as messagebus could not even reach the notify socket, so
    # boot never finished).
    chmod 0755 "$dir" &&
        echo "echod-test" >"$dir/etc/hostname" &&
        : >"$dir/etc/machine-id" &&
        ln -sf /dev/null "$dir/etc/systemd/system/console-getty.service" &&
        rm -f "$dir/var/lib/dbus/machine-id" &&
        find "$dir/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -delete ||
        { _container_log "post-processing $dir failed"; return 1; }
    # Written to .tmp and renamed, so a crash never leaves a truncated tarball
    # under the final name.
    tar --numeric-owner --xattrs --xattrs-include='security.*' --zstd -C "$dir" -cf "$out.tmp" . ||
        { _container_log "tar of $dir failed"; rm -f "$out.tmp"; return 1; }
    mv -f "$out.tmp" "$out"
}

# container_prepare: make sure the cached rootfs tarball exists; prints nothing
# on stdout.  A lock in the cache dir makes concurrent test runs build it once.
container_prepare() {
    local cache=${ECHOD_ROOTFS_CACHE:-/var/cache/echod-tests} out="" mirror="" dir="" lockfd="" rc=0
    _container_need_tools || return 1
    out=$(container_tarball) || return 1
    [[ -s $out ]] && return 0
    mkdir -p "$cache" || return 1
    exec {lockfd}>>"$cache/.lock" || return 1
    if ! flock -w "$CONTAINER_DEBOOTSTRAP_TIMEOUT" "$lockfd"; then
        exec {lockfd}>&-; _container_log "timed out waiting for $cache/.lock"; return 1
    fi
    if [[ ! -s $out ]]; then
        mirror=$(container_mirror)
        dir=$(mktemp -d "$cache/rootfs.XXXXXX") || { exec {lockfd}>&-; return 1; }
        _container_build_tarball "$dir" "$out" "$mirror" || rc=$?
        rm -rf --one-file-system "$dir" "$dir.debootstrap.log"
        [[ $rc -eq 0 ]] && _container_log "cached $out ($(du -h "$out" | cut -f1))"
    fi
    exec {lockfd}>&-
    return "$rc"
}

# ---------------------------------------------------------------------------
# cgroup mount points of the hierarchies systemd-nspawn looks at: the named v1
# "name=systemd" one and the cgroup2 one (hybrid: /sys/fs/cgroup/systemd and
# /sys/fs/cgroup/unified; pure v2: /sys/fs/cgroup).
_container_cgroup_mounts() {
    awk '{ for (i = 7; $i != "-"; i++); fs = $(i + 1); opts = $(i + 3) }
         fs == "cgroup2" || (fs == "cgroup" && opts ~ /(^|,)name=systemd(,|$)/) { print $5 }' \
        /proc/self/mountinfo
}

# Mounts the tmpfs nspawn needs on /run/systemd/nspawn, if none is there yet.
# Without it nspawn's cleanup of its runtime files refuses with "Attempted to
# remove disk file system" (its rm_rf safety check sees the host's disk fs).
_container_nspawn_run_dir() {
    mkdir -p /run/systemd/nspawn || return 1
    if ! mountpoint -q /run/systemd/nspawn; then
        mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn || return 1
        _CONTAINER_MOUNTED_NSPAWN_RUN=1
    fi
}

# Last N lines of the console log on stderr (the console is a pty: drop the CRs).
_container_log_tail() {
    [[ -n $CONTAINER_LOG && -s $CONTAINER_LOG ]] || return 0
    tail -n "$1" "$CONTAINER_LOG" | tr -d '\r' >&2 || true
}

# Removes echod-container-<pid>-* cgroups under hierarchy $1 left by runs whose
# shell <pid> is gone (e.g. SIGKILLed before its EXIT trap).  rmdir only ever
# removes empty cgroups, so a live container's are never touched.
_container_remove_stale_cgroups() {
    local d="" owner=""
    for d in "$1"/echod-container-*; do
        [[ -d $d ]] || continue
        owner=${d##*/echod-container-}; owner=${owner%%-*}
        [[ $owner =~ ^[0-9]+$ && ! -d /proc/$owner ]] || continue
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    return 0
}

# container_boot: unpack the cached rootfs into a fresh 1G tmpfs and boot it.
# Returns once systemd inside reports "running" or "degraded" (bounded by
# CONTAINER_BOOT_TIMEOUT).  Sets CONTAINER_LEADER (host PID of the container's
# PID 1), CONTAINER_ROOT (its root dir, visible from the host), CONTAINER_LOG.
container_boot() {
    local tarball="" name="" mp="" cg="" deadline=0 state="" pid="" child="" ns=""
    if [[ -n $_CONTAINER_DIR ]]; then _container_log "a container is already booted"; return 1; fi
    container_prepare || return 1
    tarball=$(container_tarball) || return 1
    _container_nspawn_run_dir || { _container_log "cannot mount tmpfs on /run/systemd/nspawn"; return 1; }

    _CONTAINER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/echod-container.XXXXXX") || return 1
    CONTAINER_ROOT=$_CONTAINER_DIR/root
    CONTAINER_LOG=$_CONTAINER_DIR/console.log
    mkdir "$CONTAINER_ROOT" &&
        mount -t tmpfs -o size=1G,mode=0755 tmpfs "$CONTAINER_ROOT" &&
        tar --numeric-owner --xattrs --xattrs-include='security.*' --zstd -C "$CONTAINER_ROOT" -xpf "$tarball" &&
        chmod 0755 "$CONTAINER_ROOT" ||
        { _container_log "cannot unpack $tarball into a tmpfs at $CONTAINER_ROOT"; container_poweroff; return 1; }

    # nspawn must run in a cgroup of its own: with no systemd as PID 1 (no
    # system bus) --register=no --keep-unit make it use the cgroup it is in,
    # and in the root cgroup it would either fail ("Failed to open system bus")
    # or create payload/ and supervisor/ at the root of the host's cgroup tree.
    # One fresh cgroup per run in each hierarchy nspawn uses; removed at poweroff.
    _CONTAINER_SEQ=$((_CONTAINER_SEQ + 1))
    name="echod-container-$$-$_CONTAINER_SEQ"
    _CONTAINER_NAME=$name
    _CONTAINER_CGROUPS=()
    _CONTAINER_STARTTIMES=()
    while read -r mp; do
        _container_remove_stale_cgroups "$mp"
        cg="$mp/$name"
        mkdir "$cg" || { _container_log "cannot create cgroup $cg"; container_poweroff; return 1; }
        _CONTAINER_CGROUPS+=("$cg")
    done < <(_container_cgroup_mounts)
    if [[ ${#_CONTAINER_CGROUPS[@]} -eq 0 ]]; then
        _container_log "no cgroup2 / name=systemd hierarchy mounted"; container_poweroff; return 1
    fi

    # The subshell moves itself (BASHPID) into those cgroups, then execs
    # timeout(1), which runs nspawn as its child: timeout -> nspawn -> init.
    # timeout(1) runs in a process group of its own, so if the calling script
    # is SIGKILLed the container still ends after CONTAINER_LIFETIME (SIGTERM
    # makes nspawn halt the container; -k: SIGKILL 10 s later).
    # --console=read-only: nspawn gives the container a pty as /dev/console and
    # copies what systemd prints there (boot/shutdown status lines, "Failed to
    # start" ...) to CONTAINER_LOG; --console=pipe would work too but leaves the
    # container without /dev/console, so systemd prints nothing at all.
    # systemd.log_color=0 (an argument to the container's systemd): no ANSI
    # colours in that log.  stdin is /dev/null and stdout/stderr the log file,
    # so nspawn holds neither the caller's stdin nor ctest's output pipe.
    # -M: a unique machine name (nspawn's default, the directory's basename,
    # would be "root" for every run; it names nspawn's runtime files in
    # /run/systemd/nspawn).  The container's hostname still comes from its
    # /etc/hostname (echod-test).  --link-journal=no / --settings=no: touch
    # nothing of the host's.  --private-network: only "lo" inside.
    (
        for cg in "${_CONTAINER_CGROUPS[@]}"; do
            echo "$BASHPID" >"$cg/cgroup.procs" || { echo "cannot join cgroup $cg" >&2; exit 97; }
        done
        exec timeout -k 10 "$CONTAINER_LIFETIME" \
            systemd-nspawn -q -b -D "$CONTAINER_ROOT" -M "$name" --register=no --keep-unit \
            --private-network --console=read-only --link-journal=no --settings=no \
            -- systemd.log_color=0
    ) </dev/null >"$CONTAINER_LOG" 2>&1 &
    _CONTAINER_TIMEOUT_PID=$!
    _container_remember "$_CONTAINER_TIMEOUT_PID"

    # Find nspawn (child of timeout) and the container's PID 1 (the child of
    # nspawn whose PID inside its own PID namespace is 1), then wait for systemd
    # to finish booting.  Polls every 0.1 s up to CONTAINER_BOOT_TIMEOUT.
    deadline=$(( $(_container_now_cs) + CONTAINER_BOOT_TIMEOUT * 100 ))
    CONTAINER_LEADER=""
    while :; do
        if ! _container_alive "$_CONTAINER_TIMEOUT_PID"; then
            _container_log "systemd-nspawn exited during boot; console log:"
            _container_log_tail 40
            container_poweroff; return 1
        fi
        if [[ -z $_CONTAINER_NSPAWN_PID ]]; then
            pid=$(cat "/proc/$_CONTAINER_TIMEOUT_PID/task/$_CONTAINER_TIMEOUT_PID/children" 2>/dev/null) || pid=""
            pid=${pid%% *}
            if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]]; then
                _CONTAINER_NSPAWN_PID=$pid
                _container_remember "$pid"
            fi
        fi
        if [[ -n $_CONTAINER_NSPAWN_PID && -z $CONTAINER_LEADER ]]; then
            for child in $(cat "/proc/$_CONTAINER_NSPAWN_PID/task/$_CONTAINER_NSPAWN_PID/children" 2>/dev/null); do
                # "NSpid: <host pid> <pid in the container>": PID 1 of a nested namespace
                ns=$(awk '$1 == "NSpid:" { print NF, $NF }' "/proc/$child/status" 2>/dev/null) || continue
                if [[ $ns == "3 1" ]]; then
                    CONTAINER_LEADER=$child
                    _container_remember "$child"
                    break
                fi
            done
        fi
        if [[ -n $CONTAINER_LEADER ]]; then
            # systemctl cannot connect until PID 1 has set up /run/systemd/private;
            # until then it fails at once and we poll again.
            state=$(CEXEC_TIMEOUT=$(( (deadline - $(_container_now_cs)) / 100 + 1 )) \
                    cexec systemctl is-system-running --wait </dev/null 2>/dev/null) || true
            case $state in
                running|degraded) break ;;
            esac
        fi
        if (( $(_container_now_cs) >= deadline )); then
            _container_log "container did not boot within ${CONTAINER_BOOT_TIMEOUT}s (state: ${state:-none}, leader: ${CONTAINER_LEADER:-none}); console log:"
            _container_log_tail 40
            container_poweroff; return 1
        fi
        sleep 0.1
    done
    if [[ $state == degraded ]]; then
        _container_log "container booted degraded; failed units:"
        cexec systemctl --failed --no-legend >&2 || true
    fi
    export CONTAINER_LEADER CONTAINER_ROOT CONTAINER_LOG
}

# cexec CMD...: run CMD inside the container, as root, in its mount, UTS, IPC,
# network, PID and cgroup namespaces, with root and cwd at the container's "/".
# Bounded by timeout ${CEXEC_TIMEOUT:-60} (exit 124 then; the whole process
# group, including the process nsenter forks into the container, is killed).
# stdin/stdout/stderr are the caller's; the exit status is CMD's (128+N if
# killed by signal N).  The environment is a clean, fixed one: the host's
# PATH (pyenv, cargo...) and variables mean nothing inside.
cexec() {
    if [[ -z $CONTAINER_LEADER ]]; then _container_log "cexec: no container"; return 125; fi
    timeout -k 5 "${CEXEC_TIMEOUT:-60}" \
        nsenter --target "$CONTAINER_LEADER" --mount --uts --ipc --net --pid --cgroup --root --wd \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root LANG=C.UTF-8 TERM=dumb \
            SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0 \
            "$@"
}

# Exported so that `bash -c '... cexec ...'` (e.g. in a check helper) finds it;
# CONTAINER_LEADER is exported by container_boot.  `sh -c` cannot: dash does
# not import bash functions.
export -f cexec _container_log

# container_copy_in SRC DST: copy host file SRC to DST, an absolute path inside
# the container (DST ending in "/" means DST/basename of SRC), creating DST's
# directory; the copy is owned by root and keeps SRC's permission bits.
# It streams the file through cexec rather than `cp` into "$CONTAINER_ROOT$DST":
# the host sees only the rootfs itself, not what is mounted over it inside the
# container (nspawn mounts fresh tmpfs on /tmp, systemd on /run ...), and
# symlinks (merged /usr: /bin -> usr/bin, or absolute ones) resolve the way the
# container sees them.  Written to a temporary name and renamed into place, so
# a service never sees half a file.
container_copy_in() {
    local src=$1 dst=$2
    if [[ -z $CONTAINER_LEADER ]]; then _container_log "container_copy_in: no container"; return 1; fi
    [[ -f $src && $dst == /* ]] || { _container_log "container_copy_in: need an existing SRC file and an absolute DST"; return 1; }
    [[ $dst == */ ]] && dst="$dst${src##*/}"
    cexec sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1.copy-in.tmp" && mv -f "$1.copy-in.tmp" "$1"' sh "$dst" <"$src" ||
        { _container_log "container_copy_in: copying $src to $dst failed"; return 1; }
    # keep the mode (e.g. executables)
    cexec chmod "$(stat -c %a "$src")" "$dst"
}

# container_poweroff: ask systemd inside to power off (SIGRTMIN+4 to PID 1 is
# systemd's "poweroff" signal; needs no bus, so it works even if the bus is
# wedged) and wait up to CONTAINER_POWEROFF_TIMEOUT for timeout, nspawn and the
# container's PID 1 to be gone.  Else SIGKILL PID 1 (that kills its whole PID
# namespace; nspawn then cleans up and exits by itself), and after 5 s more
# nspawn and timeout too: each by PID, and only if it is still the process we
# started (start time checked).  Then unmount the tmpfs, remove the temp dir
# and the cgroups.  Returns 1 if it had to kill or could not clean up fully.
# Safe to call twice, and with no container.
# If CONTAINER_KEEP_LOG names a file, the console log is copied there first.
container_poweroff() {
    local cg="" rc=0 pid=""
    if [[ -n $_CONTAINER_TIMEOUT_PID ]]; then
        if [[ -n $CONTAINER_LEADER ]] && _container_ours "$CONTAINER_LEADER"; then
            kill -s RTMIN+4 "$CONTAINER_LEADER" 2>/dev/null || true
        fi
        if ! _container_wait_gone "$CONTAINER_POWEROFF_TIMEOUT"; then
            _container_log "container did not power off within ${CONTAINER_POWEROFF_TIMEOUT}s; killing it"
            rc=1
            if [[ -n $CONTAINER_LEADER ]] && _container_ours "$CONTAINER_LEADER"; then
                kill -KILL "$CONTAINER_LEADER" 2>/dev/null || true
            fi
            if ! _container_wait_gone 5; then
                for pid in "$_CONTAINER_NSPAWN_PID" "$_CONTAINER_TIMEOUT_PID"; do
                    if [[ -n $pid ]] && _container_ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
                done
                _container_wait_gone 5 || _container_log "processes of the container are still alive"
            fi
        fi
        # Reap our child (it is gone, so this does not block; a caller that
        # booted in a subshell has no such child here: ignore).
        wait "$_CONTAINER_TIMEOUT_PID" 2>/dev/null || true
        _CONTAINER_TIMEOUT_PID=""
        _CONTAINER_STARTTIMES=()
    fi
    _CONTAINER_NSPAWN_PID=""
    CONTAINER_LEADER=""

    if [[ -n $_CONTAINER_DIR ]]; then
        if [[ -n ${CONTAINER_KEEP_LOG:-} && -f $_CONTAINER_DIR/console.log ]]; then
            tr -d '\r' <"$_CONTAINER_DIR/console.log" >"$CONTAINER_KEEP_LOG" || true
        fi
        if mountpoint -q "$_CONTAINER_DIR/root"; then
            # A killed container's mounts go with its mount namespace, but give
            # the kernel a moment if the tmpfs is still busy.
            for _ in $(seq 50); do umount "$_CONTAINER_DIR/root" 2>/dev/null && break; sleep 0.1; done
            mountpoint -q "$_CONTAINER_DIR/root" && { umount -l "$_CONTAINER_DIR/root" || rc=1; }
        fi
        # --one-file-system: never descend into anything still mounted there
        rm -rf --one-file-system "$_CONTAINER_DIR" || rc=1
        _CONTAINER_DIR=""
    fi
    CONTAINER_ROOT=""
    CONTAINER_LOG=""

    # cgroups: deepest first (payload/..., supervisor/), retrying briefly while
    # the last processes leave them.
    if [[ ${#_CONTAINER_CGROUPS[@]} -gt 0 ]]; then
        for cg in "${_CONTAINER_CGROUPS[@]}"; do
            for _ in $(seq 50); do
                [[ -d $cg ]] || break
                find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null && break
                sleep 0.1
            done
            [[ -d $cg ]] && { _container_log "could not remove cgroup $cg"; rc=1; }
        done
        _CONTAINER_CGROUPS=()
    fi

    # nspawn removes its propagate/<machine> dir itself unless it was killed.
    if [[ -n $_CONTAINER_NAME ]]; then
        rmdir "/run/systemd/nspawn/propagate/$_CONTAINER_NAME" 2>/dev/null || true
        _CONTAINER_NAME=""
    fi
    # Only if we mounted it, and no other nspawn is using it (each running one
    # has a directory in propagate/).
    if [[ -n $_CONTAINER_MOUNTED_NSPAWN_RUN ]]; then
        if [[ -z $(ls -A /run/systemd/nspawn/propagate 2>/dev/null) ]]; then
            umount /run/systemd/nspawn 2>/dev/null || true
        fi
        _CONTAINER_MOUNTED_NSPAWN_RUN=""
    fi
    return "$rc"
}

# container_cleanup: for `trap container_cleanup EXIT`.  Powers off if needed,
# prints the console log's tail when the script is failing, and keeps the
# script's exit status.
container_cleanup() {
    local status=$?
    if [[ $status -ne 0 && -n $CONTAINER_LOG && -s $CONTAINER_LOG ]]; then
        _container_log "exit status $status; last lines of the container console:"
        _container_log_tail 30
    fi
    container_poweroff || true
    return "$status"
}
