#!/usr/bin/env bash
# The Debian package, built the way a Debian maintainer builds it (dpkg-buildpackage from
# debian/, unsigned, binary only) and checked with lintian: any error or warning fails.
#
#   tests/package/build-and-lint.sh SOURCE_DIR BUILD_DIR
#
# It builds in a copy of the source tree under BUILD_DIR/package/ (the files git tracks,
# plus new ones it does not ignore, as they are in the work tree), so the source tree
# gets no debian/echod/, obj-*/ or .deb files. It leaves there the .deb, the .changes and
# lintian's report, and BUILD_DIR/package/echod.deb, a link to the .deb, for the
# container test. Needs dpkg-dev, debhelper, lintian and the Build-Depends; it fails,
# naming what is missing, without them. It does not need root (Rules-Requires-Root: no).
set -euo pipefail

source_dir=$(cd "${1:?usage: build-and-lint.sh SOURCE_DIR BUILD_DIR}" && pwd)
build_dir=$(cd "${2:?usage: build-and-lint.sh SOURCE_DIR BUILD_DIR}" && pwd)
out=$build_dir/package
copy=$out/echod

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

missing=""
for tool in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian; do
    command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"
done
[ -z "$missing" ] || fail "missing tools; install them with: apt-get install$missing"
# The Build-Depends, named the way apt-get would install them.
if ! unmet=$(cd "$source_dir" && dpkg-checkbuilddeps 2>&1); then
    fail "$unmet; install them with: apt-get build-dep $source_dir"
fi

rm -rf "$out"
mkdir -p "$copy"
started=$SECONDS
if git -C "$source_dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Deleted but still tracked files are listed too: --ignore-failed-read skips them.
    git -C "$source_dir" ls-files -z --cached --others --exclude-standard |
        tar -C "$source_dir" --null -T - --ignore-failed-read -cf - 2>/dev/null |
        tar -C "$copy" -xf -
else
    # A tree without git (an unpacked tarball): everything but this build directory.
    tar -C "$source_dir" --exclude-vcs --exclude="./${build_dir#"$source_dir"/}" -cf - . |
        tar -C "$copy" -xf -
fi
[ -f "$copy/debian/control" ] || fail "no debian/control in the copy of $source_dir"

echo "== dpkg-buildpackage -us -uc -b (in $copy)"
# -J2: two jobs at most (the machine is shared); the log is kept next to the package.
if ! (cd "$copy" && dpkg-buildpackage -us -uc -b -J2) >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log" >&2
    fail "dpkg-buildpackage failed; the whole log is $out/build.log"
fi
echo "built in $((SECONDS - started))s"

shopt -s nullglob
debs=("$out"/echod_*.deb)
changes=("$out"/echod_*.changes)
[ "${#debs[@]}" -eq 1 ] || fail "expected one echod_*.deb in $out, found ${#debs[@]}"
[ "${#changes[@]}" -eq 1 ] || fail "expected one echod_*.changes in $out, found ${#changes[@]}"
ln -sfn "$(basename "${debs[0]}")" "$out/echod.deb"
ls -l "$out"/*.deb "$out"/*.changes
dpkg-deb -I "${debs[0]}" | sed -n '/Package:/,$p'
dpkg-deb -c "${debs[0]}" | awk '{ print $1, $6 }'

echo "== lintian --pedantic --info --display-info"
# The .changes brings in every .deb it lists (echod and its -dbgsym); the .deb is named
# too so that it is checked even if the .changes were to leave it out.
lint_started=$SECONDS
status=0
lintian --pedantic --info --display-info --fail-on error,warning \
    "${debs[0]}" "${changes[0]}" >"$out/lintian.txt" 2>&1 || status=$?
cat "$out/lintian.txt"
echo "lintian took $((SECONDS - lint_started))s, exit status $status"
if grep -qE '^[EW]: ' "$out/lintian.txt"; then
    fail "lintian reports errors or warnings (above; also in $out/lintian.txt)"
fi
[ "$status" -eq 0 ] || fail "lintian failed (exit status $status)"
echo "PASS: ${debs[0]} (link: $out/echod.deb)"
