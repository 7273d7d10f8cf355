#!/usr/bin/env bash
# The boot service as installed: `meson install --destdir` from this build,
# then
#   - the files are where dist/meson.build says (unit dir, sysusers.d, udev),
#   - ExecStart= names the installed dmapipe-cam,
#   - `systemd-analyze verify` passes both units with no error and no warning
#     (it exits 0 on unknown keys and bad values: any output fails here),
#   - `systemd-analyze security --offline` rates the camera unit at most
#     MAX_EXPOSURE (tenths: 5 = 0.5), so that loosening it shows,
#   - systemd-sysusers makes the dmapipe user, in groups video and render,
#   - udevadm parses the udev rules, which tag what the unit binds to and open
#     capbuf's heaps to group video.
#
# usage: check-units.sh BUILD_DIR BINDIR UNIT_DIR SYSUSERS_DIR UDEV_DIR MAX_EXPOSURE
set -uo pipefail

[ $# = 6 ] || { echo "usage: $0 BUILD_DIR BINDIR UNIT_DIR SYSUSERS_DIR UDEV_DIR MAX_EXPOSURE" >&2; exit 2; }
build=$(realpath "$1") bindir=$2 unitdir=$3 sysusersdir=$4 udevdir=$5 max_exposure=$6

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }

mkdir -p "$build/tests/install"
tmp=$(mktemp -d "$build/tests/install/units.XXXXXX") || exit 1
[ "${DMAPIPE_KEEP_TMP:-}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
# Not --no-rebuild: `meson test --suite unit` builds only the tests' own targets,
# and an install needs them all (the plugin, the API reference).
meson install -C "$build" --destdir "$dest" --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; echo "FAIL: meson install" >&2; exit 1; }

camera=$dest$unitdir/dmapipe-camera@.service
capbuf=$dest$unitdir/dmapipe-capbuf.service
sysusers=$dest$sysusersdir/dmapipe.conf
rules=$dest$udevdir/rules.d/70-dmapipe.rules
for f in "$camera" "$capbuf" "$sysusers" "$rules"; do
	[ -f "$f" ] || { echo "FAIL: not installed: ${f#"$dest"}" >&2; exit 1; }
done
pass "installed: ${camera#"$dest"} ${capbuf#"$dest"} ${sysusers#"$dest"} ${rules#"$dest"}"

# ExecStart= runs the dmapipe-cam this install put in BINDIR.
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$camera")
if [ "$exe" = "$bindir/dmapipe-cam" ] && [ -x "$dest$exe" ]; then
	pass "ExecStart= runs $exe, installed"
else
	fail "ExecStart= runs '$exe', want $bindir/dmapipe-cam installed in the destdir"
fi

# verify checks that ExecStart='s program exists on this machine: the copies
# verified name the destdir's, nothing else changes.
mkdir -p "$tmp/verify"
sed "s|^ExecStart=$exe |ExecStart=$dest$exe |" "$camera" >"$tmp/verify/dmapipe-camera@.service"
cp "$capbuf" "$tmp/verify/"
for unit in 'dmapipe-camera@video0.service' 'dmapipe-camera@v4l-by\x2did-usb\x2dcam\x2dvideo\x2dindex0.service' \
	dmapipe-capbuf.service; do
	out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$tmp/verify/$unit" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		pass "systemd-analyze verify $unit"
	else
		fail "systemd-analyze verify $unit: exit $rc: ${out//$tmp\/verify\//}"
	fi
done

# Exposure: print the rating and what is still open, fail above the maximum.
out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true --no-pager \
	--threshold="$max_exposure" "$tmp/verify/dmapipe-camera@video0.service" 2>&1)
rc=$?
grep '^✗' <<<"$out" | sed 's/  */ /g' | cut -c1-150
level=$(grep 'Overall exposure level' <<<"$out" | sed 's/.*: //')
if [ $rc = 0 ] && [ -n "$level" ]; then
	pass "systemd-analyze security: $level (at most $max_exposure tenths)"
else
	fail "systemd-analyze security: exit $rc, exposure '${level:-?}', above $max_exposure tenths"
fi

# sysusers.d: the user and its groups, made in an empty root.
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/root/etc"
	if out=$(systemd-sysusers --root="$tmp/root" "$sysusers" 2>&1); then
		user=$(grep '^dmapipe:' "$tmp/root/etc/passwd")
		for g in video render; do
			grep -Eq "^$g:[^:]*:[0-9]+:(.*,)?dmapipe(,|$)" "$tmp/root/etc/group" ||
				fail "sysusers.d/dmapipe.conf: dmapipe is not in group $g"
		done
		case $user in
		dmapipe:x:[0-9]*:*:/:/usr/sbin/nologin) pass "sysusers: $user, in video and render" ;;
		*) fail "sysusers.d/dmapipe.conf: user '$user'" ;;
		esac
	else
		fail "systemd-sysusers: $out"
	fi
fi

# udev: the rules parse (udevadm test reads them in a private mount namespace
# where they are /etc/udev/rules.d; it needs root, else this part is skipped)
# and hold what the units rely on.
mkdir -p "$tmp/rules.d"
cp "$rules" "$tmp/rules.d/"
if unshare -m true 2>/dev/null && [ -d /etc/udev/rules.d ] && [ -e /sys/class/mem/null ]; then
	out=$(unshare -m sh -c 'mount --bind "$1" /etc/udev/rules.d && exec udevadm test /sys/class/mem/null' \
		sh "$tmp/rules.d" 2>&1)
	if ! grep -q 'Reading rules file: /etc/udev/rules.d/70-dmapipe.rules' <<<"$out"; then
		fail "udevadm test did not read 70-dmapipe.rules: $(tail -n 3 <<<"$out")"
	elif errors=$(grep '/etc/udev/rules.d/70-dmapipe.rules:[0-9]' <<<"$out"); then
		fail "70-dmapipe.rules: ${errors//\/etc\/udev\/rules.d\//}"
	else
		pass "udevadm test parses 70-dmapipe.rules with no complaint"
	fi
else
	echo "note: not root or no mount namespace: 70-dmapipe.rules not parsed by udevadm"
fi
grep -Eq '^SUBSYSTEM=="video4linux",.*TAG\+="systemd"' "$rules" ||
	fail "70-dmapipe.rules does not tag video4linux devices for systemd (BindsTo=dev-%i.device)"
grep -Eq '^SUBSYSTEM=="misc", KERNEL=="capbuf\*",.*GROUP="video", MODE="0660"' "$rules" ||
	fail "70-dmapipe.rules does not give capbuf's heaps to group video"
grep -q 'SupplementaryGroups=video render' "$camera" ||
	fail "the camera unit lacks SupplementaryGroups=video render"

[ $failures = 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
