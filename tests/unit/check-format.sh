#!/bin/sh
# The project's C++ follows its .clang-format: fails with the first
# differences when a file does not.  usage: check-format.sh SOURCE-ROOT
set -eu
cd "$1"
files=$(find pipeline apps plugins tests docs -name '*.cpp' -o -name '*.h' | sort)
if ! clang-format --dry-run -Werror $files 2>/tmp/check-format.$$; then
	head -n 40 /tmp/check-format.$$
	rm -f /tmp/check-format.$$
	echo "FAIL: run clang-format -i on the files above"
	exit 1
fi
rm -f /tmp/check-format.$$
echo "PASS: $(echo "$files" | wc -l) C++ files follow .clang-format"
