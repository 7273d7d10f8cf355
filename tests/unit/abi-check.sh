#!/bin/sh
# libdmapipe's ABI against the committed baseline (libabigail): fails when a
# change breaks programs built against the baseline (a removed symbol, a
# changed signature, a public type whose size or layout changed), prints
# added symbols (compatible) as a reminder to refresh the baseline.
# usage: abi-check.sh LIBRARY BASELINE PUBLIC-HEADERS-DIR GENERATED-HEADERS-DIR
#        abi-check.sh --update LIBRARY BASELINE ...   (rewrites the baseline)
set -u
update=0
[ "$1" = --update ] && { update=1; shift; }
lib=$1 baseline=$2 headers=$3 generated=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only types reachable from the public headers count; --no-corpus-path and
# --no-show-locs keep the dump independent of the build directory.
abidw --headers-dir "$headers" --headers-dir "$generated" --no-corpus-path --no-show-locs \
	--drop-private-types --drop-undefined-syms --type-id-style hash "$lib" >"$tmp/current.abi" ||
	{ echo "FAIL: abidw failed"; exit 1; }
# Stored gzipped: the standard library's types reachable from the API make 3.5 MB of XML.
if [ $update = 1 ]; then
	gzip -9n <"$tmp/current.abi" >"$baseline"
	echo "baseline written: $baseline ($(grep -c '<elf-symbol ' "$tmp/current.abi") symbols)"
	exit 0
fi
gunzip <"$baseline" >"$tmp/baseline.abi" || { echo "FAIL: cannot read $baseline"; exit 1; }
# Without the added symbols, any change (bit 4: a type's size or layout, a
# signature; bit 8: a removal) breaks programs built against the baseline.
abidiff --no-added-syms "$tmp/baseline.abi" "$tmp/current.abi" >"$tmp/breaks" 2>&1
breaks=$?
abidiff "$tmp/baseline.abi" "$tmp/current.abi" >"$tmp/full" 2>&1
full=$?
if [ $breaks -ne 0 ]; then
	cat "$tmp/breaks"
	echo "FAIL: libdmapipe's ABI changed incompatibly (abidiff status $breaks); a break needs a new soname (DMAPIPE_VERSION_MAJOR) and a new baseline: $0 --update $*"
	exit 1
fi
if [ $((full & 4)) -ne 0 ]; then
	cat "$tmp/full"
	echo "note: compatible ABI additions; refresh the baseline with $0 --update $*"
fi
echo "PASS: ABI compatible with $(basename "$baseline") ($(grep -c '<elf-symbol ' "$tmp/baseline.abi") symbols)"
