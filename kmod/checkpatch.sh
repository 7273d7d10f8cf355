#!/bin/sh
# Kernel style: checkpatch.pl from Debian's linux-source-6.1 on capbuf.c.
# usage: checkpatch.sh FILE...
set -eu
cp=$(ls "${DMAPIPE_CACHE:-$HOME/.cache/dmapipe}"/src-*/linux-source-6.1/scripts/checkpatch.pl 2>/dev/null | head -n 1 || true)
if [ -z "$cp" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$tmp" linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt linux-source-6.1/scripts/const_structs.checkpatch
	cp=$tmp/linux-source-6.1/scripts/checkpatch.pl
fi
perl "$cp" --no-tree --strict -f "$@"
