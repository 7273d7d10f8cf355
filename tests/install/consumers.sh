#!/usr/bin/env bash
# The installed package, as its consumers see it: `meson install --destdir`
# from this build, then each example program built three ways and started.
#   (a) g++ with `pkg-config --cflags --libs dmapipe`
#   (b) CMake, pkg_check_modules(... IMPORTED_TARGET dmapipe)  (docs/examples/cmake)
#   (c) meson, dmapipe as a subproject                         (docs/examples/subproject)
#   (d) each binary: libdmapipe resolves where it should (ldd), and it starts:
#       with no camera it exits 1 with a message, no crash.
# Also `pkg-config --static --libs dmapipe` lists what a static link needs.
#
# usage: consumers.sh BUILD_DIR SOURCE_DIR PREFIX LIBDIR WITH_LIBCAMERA(true|false) EXAMPLE.cpp...
# Everything goes to a temporary directory inside BUILD_DIR, removed at exit
# (DMAPIPE_KEEP_TMP=1 keeps it).
set -uo pipefail

[ $# -ge 6 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR PREFIX LIBDIR WITH_LIBCAMERA EXAMPLE.cpp..." >&2; exit 2; }
build=$(realpath "$1") src=$(realpath "$2") prefix=$3 libdir=$4 with_libcamera=$5
shift 5
examples=("$@")

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
t0=$(date +%s.%N)
step() { printf '\n== %s (%.1f s)\n' "$*" "$(echo "$(date +%s.%N) - $t0" | bc)"; }

mkdir -p "$build/tests/install"
tmp=$(mktemp -d "$build/tests/install/consumers.XXXXXX") || exit 1
[ "${DMAPIPE_KEEP_TMP:-}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac

step "meson install --destdir"
# Not --no-rebuild: `meson test --suite unit` builds only the tests' own targets,
# and an install needs them all (the plugin, the API reference).
meson install -C "$build" --destdir "$dest" --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; echo "FAIL: meson install" >&2; exit 1; }
pc=$dest$libdir/pkgconfig/dmapipe.pc
[ -f "$pc" ] || { echo "FAIL: no dmapipe.pc at $libdir/pkgconfig in the destdir" >&2; exit 1; }

# The destdir as a real install under another prefix: dmapipe.pc's prefix=
# line pointed into it.  Every other path must follow ${prefix} (relocatable);
# PKG_CONFIG_SYSROOT_DIR would also prefix libdrm's -I/usr/include/libdrm and
# --define-prefix mistakes lib/<triplet>/pkgconfig for lib/pkgconfig.
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" >"$tmp/pc/dmapipe.pc"
if grep -E '^[a-z_]+dir=/' "$pc" >/dev/null; then
	fail "dmapipe.pc has absolute directories (not relative to \${prefix}): $(grep -E '^[a-z_]+dir=/' "$pc" | tr '\n' ' ')"
fi
export PKG_CONFIG_PATH=$tmp/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export CXXFLAGS= LDFLAGS= CPPFLAGS=

step "pkg-config"
cflags=$(pkg-config --cflags dmapipe) libs=$(pkg-config --libs dmapipe) ||
	fail "pkg-config dmapipe"
echo "cflags: $cflags"
echo "libs: $libs"
static=$(pkg-config --static --libs dmapipe)
echo "static libs: $static"
want=(-ldmapipe -ldrm)
[ "$with_libcamera" = true ] && want+=(-lcamera)
for w in "${want[@]}"; do
	[[ " $static " == *" $w "* ]] || fail "pkg-config --static --libs dmapipe lacks $w"
done
[[ " $static " == *" -pthread "* || " $static " == *" -lpthread "* ]] ||
	fail "pkg-config --static --libs dmapipe lacks -pthread (dmapipe starts threads)"
[ $failures = 0 ] && pass "pkg-config --static lists ${want[*]} and threads"

# Start one built example, with LD_LIBRARY_PATH=$4 (none if empty): libdmapipe
# must come from under $2, and with no camera it exits 1 with a message.
smoke() {
	local bin=$1 libfrom=$2 what=$3 ldpath=$4 rc lib
	lib=$(env ${ldpath:+LD_LIBRARY_PATH=$ldpath} ldd "$bin" | awk '$1 ~ /^libdmapipe\.so/ { print $3 }')
	case $lib in
	"$libfrom"/*) ;;
	*) fail "$what: libdmapipe resolves to '${lib:-nothing}', not under $libfrom"; return ;;
	esac
	# No camera (none here, and a path that is none where there is one).
	env ${ldpath:+LD_LIBRARY_PATH=$ldpath} timeout 20 "$bin" /dev/nonexistent-camera \
		</dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc = 1 ] && [ -s "$tmp/err" ]; then
		pass "$what: exits 1: $(head -n 1 "$tmp/err")"
	elif [ $rc = 124 ]; then
		fail "$what: still running after 20 s"
	elif [ $rc -gt 128 ]; then
		fail "$what: killed by signal $((rc - 128)); stderr: $(cat "$tmp/err")"
	else
		fail "$what: exit $rc (want 1 and a message); stderr: $(cat "$tmp/err")"
	fi
}

step "(a) g++ and pkg-config"
mkdir -p "$tmp/plain"
for ex in "${examples[@]}"; do
	name=$(basename "$ex" .cpp)
	# shellcheck disable=SC2046
	# glib-2.0 for the GLib main-loop example; the others ignore it.
	if g++ -std=c++17 -Wall "$ex" $(pkg-config --cflags --libs dmapipe glib-2.0) -o "$tmp/plain/$name" \
		2>"$tmp/plain/$name.log"; then
		smoke "$tmp/plain/$name" "$dest$libdir" "g++ $name" "$dest$libdir"
	else
		cat "$tmp/plain/$name.log" >&2
		fail "g++ $name"
	fi
done

step "(b) CMake, pkg_check_modules IMPORTED_TARGET"
list=$(IFS=';'; echo "${examples[*]}")
if cmake -S "$src/docs/examples/cmake" -B "$tmp/cmake" -G Ninja \
	-DDMAPIPE_EXAMPLES="$list" >"$tmp/cmake.log" 2>&1 &&
	cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1; then
	for ex in "${examples[@]}"; do
		name=$(basename "$ex" .cpp)
		smoke "$tmp/cmake/$name" "$dest$libdir" "cmake $name" "$dest$libdir"
	done
else
	cat "$tmp/cmake.log" >&2
	fail "CMake project docs/examples/cmake"
fi

step "(c) meson, dmapipe as a subproject"
# The consumer: docs/examples/subproject with this source tree as
# subprojects/dmapipe; the installed one must not be found through pkg-config.
cp -r "$src/docs/examples/subproject" "$tmp/consumer"
mkdir -p "$tmp/consumer/subprojects"
ln -s "$src" "$tmp/consumer/subprojects/dmapipe"
exlist=$(IFS=,; echo "${examples[*]}")
targets=()
for ex in "${examples[@]}"; do targets+=("$(basename "$ex" .cpp)"); done
if env -u PKG_CONFIG_PATH meson setup "$tmp/consumer-build" "$tmp/consumer" \
	--buildtype=plain --force-fallback-for=dmapipe -Dexamples="$exlist" \
	-Ddmapipe:vm_tests=false -Ddmapipe:kmod=disabled -Ddmapipe:gstreamer=disabled \
	>"$tmp/meson.log" 2>&1 &&
	ninja -C "$tmp/consumer-build" "${targets[@]}" >>"$tmp/meson.log" 2>&1; then
	for name in "${targets[@]}"; do
		smoke "$tmp/consumer-build/$name" "$tmp/consumer-build/subprojects/dmapipe" "subproject $name" ""
	done
else
	tail -n 40 "$tmp/meson.log" >&2
	fail "meson project docs/examples/subproject"
fi

step "done"
[ $failures = 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
