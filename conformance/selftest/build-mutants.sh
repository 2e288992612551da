#!/bin/bash
# SPDX-License-Identifier: MIT
#
# build-mutants.sh - build the deliberate defects of mutants.list for the
# VMX lab (called by `make -C conformance lab-mutants`, which the lab runs
# for the @make lines of selftest/lab-*.list).
#
# usage: build-mutants.sh --set fast|smp|full --kdir DIR --bindir DIR --extra DIR
#                         [--jobs N] [--only NAME...]
#
#   --set     fast: the mutants marked fast; smp: those marked smp; full:
#             all of them
#   --kdir    the lab kernel's headers (module mutants are built against it)
#   --bindir  the guest's /bin: dune-conform-<NAME> for library mutants,
#             lab-mutants.sh
#   --extra   the tree that lands in the guest's /: mod/mutants/<NAME>.ko,
#             lab/mutants.list
#   --only    build only these mutants (with --set, both must select them)
#
# Module mutants: a copy of ref-module/ built with DUNE_MUTANT=<NAME> (W=1).
# Library mutants: libdune built with DUNE_MUTANT=<NAME> into
# build/mutants/<NAME>/, and a static dune-conform linked against it.
# Products are stripped of debug information to keep the lab image small.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
LIST=$HERE/mutants.list
SET= KDIR= BINDIR= EXTRA= JOBS=2 ONLY=

die() { echo "build-mutants: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--set) SET=$2; shift ;;
	--kdir) KDIR=$2; shift ;;
	--bindir) BINDIR=$2; shift ;;
	--extra) EXTRA=$2; shift ;;
	--jobs) JOBS=$2; shift ;;
	--only) shift; ONLY="$*"; break ;;
	-h|--help) sed -n '4,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-mutants: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
case "$SET" in fast|smp|full) ;; *) die "--set must be fast, smp or full, not '$SET'" ;; esac
[ -n "$BINDIR" ] && [ -n "$EXTRA" ] || die "--bindir and --extra are required"

# NAME KIND BACKENDS of the selected mutants
selected() {
	local name kind set be scale tests o keep
	while IFS=$'\t' read -r name kind set be scale tests; do
		case "$name" in ''|'#'*) continue ;; esac
		[ -n "$tests" ] || die "mutants.list: '$name' has no tests (6 tab-separated fields)"
		[ "$SET" = full ] || [ "$set" = "$SET" ] || continue
		if [ -n "$ONLY" ]; then
			keep=0
			for o in $ONLY; do [ "$o" = "$name" ] && keep=1; done
			[ $keep = 1 ] || continue
		fi
		echo "$name $kind $be"
	done < "$LIST"
}

mkdir -p "$BINDIR" "$EXTRA/mod/mutants" "$EXTRA/lab" "$BUILD/mutants"
rm -f "$EXTRA"/mod/mutants/*.ko
cp "$LIST" "$EXTRA/lab/mutants.list"
install -m 0755 "$HERE/lab-mutants.sh" "$BINDIR/lab-mutants.sh"

build_module() {	# NAME: harness/build-module.sh (a copy, W=1, warnings fail)
	local name=$1 d=$BUILD/mutants/$1/module
	# Kbuild reads DUNE_MUTANT from the environment
	DUNE_MUTANT=$name "$TOP/harness/build-module.sh" --kdir "$KDIR" --out "$d" > /dev/null ||
		die "module mutant $name did not build"
	strip --strip-debug -o "$EXTRA/mod/mutants/$name.ko" "$d/dune.ko"
	echo "build-mutants: $name -> /mod/mutants/$name.ko"
}

build_lib() {	# NAME
	local name=$1 b=$BUILD/mutants/$1
	make -s -C "$TOP/ref-lib" BUILD="$b" DUNE_MUTANT="$name" "$b/lib/libdune.a" \
		> "$b.log" 2>&1 || { cat "$b.log" >&2; die "library mutant $name did not build"; }
	make -s -C "$TOP/conformance" BUILD="$b" LIBDUNE="$b/lib/libdune.a" \
		LAB_CONFORM_OUT="$BINDIR/dune-conform-$name" lab-conform-bin \
		>> "$b.log" 2>&1 || { cat "$b.log" >&2; die "dune-conform for library mutant $name did not link"; }
	strip --strip-debug "$BINDIR/dune-conform-$name"
	echo "build-mutants: $name -> /bin/dune-conform-$name"
}

pids=()
names=()
n=0
while read -r name kind be; do
	case "$kind" in
	module) [ -f "$KDIR/Makefile" ] || die "--kdir '$KDIR' is not a kernel build directory"
		build_module "$name" & ;;
	lib) build_lib "$name" & ;;
	*) die "mutants.list: '$name' has kind '$kind' (module or lib)" ;;
	esac
	pids+=($!)
	names+=("$name")
	n=$((n + 1))
	# at most JOBS builds at once
	if [ $((n % JOBS)) = 0 ]; then
		for i in "${!pids[@]}"; do wait "${pids[$i]}" || die "building ${names[$i]} failed"; done
		pids=() names=()
	fi
done < <(selected)
for i in "${!pids[@]}"; do wait "${pids[$i]}" || die "building ${names[$i]} failed"; done
[ "$n" -gt 0 ] || die "no mutants selected (set $SET${ONLY:+, only $ONLY})"
echo "build-mutants: $n mutant(s) of set '$SET' built"
