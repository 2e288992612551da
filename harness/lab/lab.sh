#!/bin/bash
# SPDX-License-Identifier: MIT
#
# lab.sh - the VMX lab: boot an emulated Intel machine with VMX + EPT in
# Bochs, run the declared lab tests inside it, and report TAP.
#
# usage: harness/lab/lab.sh [options]
#
#   --tap FILE        write the TAP result (guest tests + host checks) to FILE
#   --tests GLOB      run only tests whose ID matches GLOB (e.g. 'lab.*');
#                     repeatable; also LAB_TESTS='glob1 glob2'
#   --list            print the declared tests and exit
#   --timeout SEC     hard wall-clock limit for the emulator, all boots
#                     together (LAB_TIMEOUT, 900; make check gives its Intel
#                     boot CHECK_LAB_TIMEOUT=1800).  Each test's own limit is
#                     the TIMEOUT of its list line, in wall seconds: a test
#                     that hangs or oopses the guest fails alone, and the
#                     tests after it run in a fresh boot (see tests.list)
#   --cpu MODEL       Bochs CPU model (LAB_CPU, corei7_skylake_x); AMD models
#                     (trinity_apu: SVM + nested paging; ryzen) run the tests
#                     declared '@cpu amd' or '@cpu any'
#   --cpus N          CPUs of the emulated machine (LAB_CPUS, 1; Bochs'
#                     'cpu: count=N'); the guest gets LAB_CPUS=N in its
#                     environment.  Tests declared '@cpus M' run only in a
#                     boot with at least M CPUs (the others leave them out,
#                     saying so)
#   --smp-only        run only the tests declared '@cpus 2' or more (make
#                     check's SMP boot: the one-CPU boots run the rest)
#   --append ARGS     extra kernel command line (LAB_APPEND)
#   --build-only      build the images, print how to boot them, do not boot
#   --module-only     only build the @module directories of the lists (for
#                     ref-module/ itself use `make module`); --kdir DIR
#   --kabi ABI        Debian kernel ABI, e.g. 6.1.0-56 (KABI; default: what
#                     linux-image-cloud-amd64 depends on)
#   --inject-fail     add a test that fails on purpose (LAB_INJECT_FAIL=1)
#   --seed N          the seed of every fuzz test in the guest (LAB_FUZZ_SEED;
#                     exported there as DUNE_FUZZ_SEED): replays what a lab
#                     or soak failure printed, e.g. --tests conformance.kvm
#                     --seed 0x...; default: the seed list of the tests
#                     (conformance/fuzz-seeds.list), never a random seed
#   --fuzz-scale X    run the fuzz tests X times their iterations (LAB_FUZZ_SCALE;
#                     exported as DUNE_FUZZ_SCALE; X > 1 scales their time limits)
#   --soak MINUTES    random-seed fuzzing (LAB_SOAK_MINUTES; `make soak`): boot
#                     the lab again and again, each boot with a new random
#                     seed (printed) for the tests of conformance/lab/soak.list
#                     (every fuzz test on vmx and kvm), until MINUTES have
#                     passed; --tap gets every round's results, each line
#                     naming its seed.  LAB_SOAK_SCALE (default 1) is the
#                     rounds' --fuzz-scale.  Replay a failure with
#                     LAB_LISTS=conformance/lab/soak.list lab.sh --seed SEED
#                     (plus the round's --fuzz-scale if not 1).  LAB_SOAK_LIST
#                     replaces soak.list (`make soak COVERAGE=1`); --module
#                     and --append reach every round; each round's serial
#                     log is kept as soak/round-N.serial
#   --reuse           boot the images of the previous run in this work
#                     directory again, without rebuilding them (the soak's
#                     later rounds); only --seed, --fuzz-scale, --append and
#                     --timeout may differ
#   --module FILE     put FILE in the guest as /mod/dune.ko instead of ours
#                     (LAB_MODULE; another implementation of /dev/dune)
#   -v, --verbose     echo every serial line
#   -h, --help        this text
#
# Test lists: harness/lab/tests.list, then every */tests/lab-tests.list,
# conformance/lab-tests.list, conformance/selftest/lab-tests.list and
# conformance/selftest/lab-smp.list in the tree (sorted), or the files
# named in LAB_LISTS.  Format: see tests.list.
#
# Everything is built under build/lab/ (LAB_WORKDIR: use one per concurrent
# lab) and downloads are cached in build/lab-cache/ (LAB_CACHE); an
# unchanged initramfs reuses its ISO.
# The emulator runs in a private network namespace (unshare -n) so that its
# VNC display (Bochs' rfb, the only display Debian builds without X) is not
# reachable from any network.
#
# Exit status: 0 when every test passed and the kernel stayed healthy,
# 1 on any failure, 2 on bad usage or a setup error.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
LAB=$(realpath -m "${LAB_WORKDIR:-$BUILD/lab}")
CACHE=$(realpath -m "${LAB_CACHE:-$BUILD/lab-cache}")
TIMEOUT=${LAB_TIMEOUT:-900}
CPU=${LAB_CPU:-corei7_skylake_x}
CPUS=${LAB_CPUS:-1}
SMP_ONLY=${LAB_SMP_ONLY:-0}
IPS=${LAB_IPS:-4000000}
MEGS=${LAB_MEGS:-512}
APPEND_EXTRA=${LAB_APPEND:-}
INJECT_FAIL=${LAB_INJECT_FAIL:-0}
FUZZ_SEED=${LAB_FUZZ_SEED:-}
FUZZ_SCALE=${LAB_FUZZ_SCALE:-}
SOAK_MINUTES=${LAB_SOAK_MINUTES:-}
REUSE=0
TAPFILE=
VERBOSE=0
MODE=run
KDIR_OVERRIDE=
read -r -a TEST_GLOBS <<< "${LAB_TESTS:-}"

log() { printf 'lab%s: %s\n' "${LAB_TAG:+[$LAB_TAG]}" "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--tap) TAPFILE=$2; shift ;;
	--tests) TEST_GLOBS+=("$2"); shift ;;
	--list) MODE=list ;;
	--timeout) TIMEOUT=$2; shift ;;
	--cpu) CPU=$2; shift ;;
	--cpus) CPUS=$2; shift ;;
	--smp-only) SMP_ONLY=1 ;;
	--append) APPEND_EXTRA="$APPEND_EXTRA $2"; shift ;;
	--build-only) MODE=build ;;
	--module-only) MODE=module ;;
	--kdir) KDIR_OVERRIDE=$2; shift ;;
	--kabi) KABI=$2; shift ;;
	--inject-fail) INJECT_FAIL=1 ;;
	--seed) FUZZ_SEED=$2; shift ;;
	--fuzz-scale) FUZZ_SCALE=$2; shift ;;
	--soak) SOAK_MINUTES=$2; shift ;;
	--reuse) REUSE=1 ;;
	--module) LAB_MODULE=$(realpath "$2"); shift ;;
	-v|--verbose) VERBOSE=1 ;;
	-h|--help) sed -n '4,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout wants seconds, got '$TIMEOUT'"
# Bochs is built for up to 8 here: more would only slow the emulator down
[[ "$CPUS" =~ ^[1-8]$ ]] || die "--cpus (LAB_CPUS) wants a number of CPUs from 1 to 8, got '$CPUS'"
# a 64-bit number, as the fuzz tests print it (0x + up to 16 hex digits, or decimal)
if [ -n "$FUZZ_SEED" ]; then
	[[ "$FUZZ_SEED" =~ ^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,19})$ ]] ||
		die "--seed (LAB_FUZZ_SEED) wants a 64-bit number like 0xbf83a2fca62cc1bf, got '$FUZZ_SEED'"
fi
if [ -n "$FUZZ_SCALE" ]; then
	[[ "$FUZZ_SCALE" =~ ^[0-9]*\.?[0-9]+$ ]] && [[ "$FUZZ_SCALE" =~ [1-9] ]] ||
		die "--fuzz-scale (LAB_FUZZ_SCALE) wants a positive number, got '$FUZZ_SCALE'"
fi
if [ -n "$SOAK_MINUTES" ]; then
	[[ "$SOAK_MINUTES" =~ ^[0-9]+$ ]] && [ "$SOAK_MINUTES" -gt 0 ] ||
		die "--soak (LAB_SOAK_MINUTES) wants a positive number of minutes, got '$SOAK_MINUTES'"
	[ -z "$FUZZ_SEED" ] || die "--soak draws its own seeds: no --seed (LAB_FUZZ_SEED) with it"
	[ $MODE = run ] || die "--soak boots the lab: not with --list, --build-only or --module-only"
fi
[ -z "${LAB_MODULE:-}" ] || [ -f "$LAB_MODULE" ] || die "--module: no such file '$LAB_MODULE'"

# ---------------------------------------------------------------- soak

# --soak MINUTES: rounds of this script (one boot each, a new random seed
# each) until the time is up; the rounds' TAP, each line naming its round
# and seed, into --tap; the counts at the end.
soak() {
	local dir=$LAB/soak t0 now r=0 seed rtap rc line n=0 fails=0 passes=0 skips=0
	local iters=0 it ser limit=$((SOAK_MINUTES * 60)) scale=${LAB_SOAK_SCALE:-1} out
	local -a args seeds=()
	[[ "$scale" =~ ^[0-9]*\.?[0-9]+$ ]] || die "LAB_SOAK_SCALE wants a positive number, got '$scale'"
	rm -rf "$dir" && mkdir -p "$dir"
	out=$dir/soak.tap.body
	: > "$out"
	t0=$(date +%s)
	log "soak: random seeds for ${SOAK_MINUTES} min (rounds of conformance/lab/soak.list, --fuzz-scale $scale, cpu $CPU); replay a seed with: LAB_LISTS=conformance/lab/soak.list harness/lab/lab.sh --seed SEED --fuzz-scale $scale"
	while :; do
		now=$(date +%s)
		[ $((now - t0)) -lt "$limit" ] || break
		r=$((r + 1))
		seed=0x$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
		seeds+=("$seed")
		log "soak round $r: seed $seed (after $(( (now - t0) / 60 )) min)"
		rtap=$dir/round-$r.tap
		args=(--cpu "$CPU" --cpus "$CPUS" --timeout "$TIMEOUT" --seed "$seed" --fuzz-scale "$scale" --tap "$rtap")
		[ $r -gt 1 ] && args+=(--reuse)
		[ $VERBOSE = 1 ] && args+=(-v)
		[ -n "${LAB_MODULE:-}" ] && args+=(--module "$LAB_MODULE")
		[ -n "${APPEND_EXTRA// /}" ] && args+=(--append "$APPEND_EXTRA")
		for g in "${TEST_GLOBS[@]}"; do args+=(--tests "$g"); done
		rc=0
		LAB_LISTS=${LAB_SOAK_LIST:-$TOP/conformance/lab/soak.list} LAB_WORKDIR=$LAB LAB_SOAK_MINUTES= \
			LAB_FUZZ_SEED= LAB_TESTS= LAB_APPEND= LAB_TAG="${LAB_TAG:-soak} round $r" "$0" "${args[@]}" || rc=$?
		cp "$LAB/run-$CPU/serial.clean" "$dir/round-$r.serial" 2>/dev/null || true
		if [ $rc = 2 ] && [ ! -s "$rtap" ]; then
			[ $r = 1 ] && die "soak: the first round could not start (see above)"
			echo "not ok - round $r, seed $seed: the lab could not start (exit status 2)" > "$rtap"
		fi
		while IFS= read -r line; do
			case "$line" in
			'ok '*|'not ok '*) ;;
			*) continue ;;
			esac
			n=$((n + 1))
			if [[ "$line" == 'not ok'* ]]; then
				line=${line#not ok }
				line=${line#* - }
				printf 'not ok %d - round %d, seed %s: %s\n' $n $r "$seed" "$line" >> "$out"
				if [[ "$line" =~ \#\ *(SKIP|TODO) ]]; then skips=$((skips + 1)); else fails=$((fails + 1)); fi
			else
				line=${line#ok }
				line=${line#* - }
				printf 'ok %d - round %d, seed %s: %s\n' $n $r "$seed" "$line" >> "$out"
				if [[ "$line" =~ \#\ *SKIP ]]; then skips=$((skips + 1)); else passes=$((passes + 1)); fi
			fi
		done < "$rtap"
		ser=$LAB/run-$CPU/serial.txt
		it=$(tr -d '\r' < "$ser" 2>/dev/null | grep -oE ': [0-9]+ iterations in [0-9.]+ s' |
			awk '{ s += $2 } END { print s + 0 }')
		iters=$((iters + it))
		log "soak round $r: seed $seed: exit status $rc, $it fuzz iterations (total so far: $iters; $fails failed)"
	done
	now=$(date +%s)
	n=$((n + 1))
	if [ $r -gt 0 ]; then
		printf 'ok %d - soak summary: %d rounds in %d min, %d seeds (%s), %d fuzz iterations; %d passed, %d failed, %d skipped\n' \
			$n $r $(( (now - t0) / 60 )) ${#seeds[@]} "${seeds[*]}" $iters $passes $fails $skips >> "$out"
	else
		printf 'not ok %d - soak summary: no round ran\n' $n >> "$out"
	fi
	{ echo "TAP version 13"; echo "1..$n"; cat "$out"; } > "$dir/soak.tap"
	[ -n "$TAPFILE" ] && cp "$dir/soak.tap" "$TAPFILE"
	log "soak: $r rounds in $(( (now - t0) / 60 )) min, ${#seeds[@]} seeds, $iters fuzz iterations: $passes passed, $fails failed, $skips skipped"
	if [ $fails -gt 0 ]; then
		log "soak: FAILED (each line names its seed; add a seed that found a bug to conformance/fuzz-seeds.list with the fix):"
		grep '^not ok' "$dir/soak.tap" | grep -vE '# *(SKIP|TODO)' | sed 's/^/    /' >&2
		return 1
	fi
	return 0
}
if [ -n "$SOAK_MINUTES" ]; then
	[ "$TIMEOUT" -ge 1800 ] || TIMEOUT=1800	# a round's limit
	soak && exit 0 || exit 1
fi

# ---------------------------------------------------------------- lists

list_files() {
	if [ -n "${LAB_LISTS:-}" ]; then	# explicit lists (tests of this script)
		printf '%s\n' $LAB_LISTS
		return
	fi
	echo "$TOP/harness/lab/tests.list"
	find "$TOP" -path "$BUILD" -prune -o \
		\( -path '*/tests/lab-tests.list' -o -path "$TOP/conformance/lab-tests.list" \
		-o -path "$TOP/conformance/selftest/lab-tests.list" \
		-o -path "$TOP/conformance/selftest/lab-smp.list" \) \
		-print 2>/dev/null | sort
}

selected() {	# ID -> 0 if it matches the globs (or there are none)
	local g
	[ ${#TEST_GLOBS[@]} -eq 0 ] && return 0
	for g in "${TEST_GLOBS[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $g ]] && return 0
	done
	return 1
}

# CPU vendor of the emulated model: tests declare which they need (@cpu).
case "$CPU" in
trinity_apu|ryzen|zambezi|athlon64_*|phenom_*|turion64_*) VENDOR=amd ;;
*) VENDOR=intel ;;
esac

# Parse every list into arrays.
BINS=() MODULES=() MAKES=() HOSTBINS=() TESTS=() LEFT_OUT=()
parse_lists() {
	local f line kind a b c want ncpus lazy ntests
	local -a bins mods makes hostbins words
	while read -r f; do
		want=intel	# the VMX lab: tests are Intel-only unless declared
		ncpus=1		# and need one CPU unless declared (@cpus)
		lazy=0 ntests=0 bins=() mods=() makes=() hostbins=()
		while IFS= read -r line || [ -n "$line" ]; do
			case "$line" in ''|'#'*) continue ;; esac
			IFS=$'\t' read -r kind a b c <<< "$line"
			case "$kind" in
			@bin) bins+=("$a${b:+	$b}") ;;
			@module) mods+=("$a") ;;
			@make) makes+=("$a	$b") ;;
			@hostbin)
				read -r -a words <<< "${line#@hostbin}"
				[ ${#words[@]} -gt 0 ] || die "$f: @hostbin wants at least one absolute path"
				for a in "${words[@]}"; do
					[[ "$a" == /* ]] || die "$f: @hostbin wants absolute paths of this host, not '$a'"
				done
				hostbins+=("${words[@]}") ;;
			@lazy) lazy=1 ;;
			@cpu)
				case "$a" in intel|amd|any) want=$a ;;
				*) die "$f: @cpu wants intel, amd or any, not '$a'" ;; esac ;;
			@cpus)
				[[ "$a" =~ ^[1-8]$ ]] || die "$f: @cpus wants a number of CPUs from 1 to 8, not '$a'"
				ncpus=$a ;;
			@*) die "$f: unknown directive '$kind'" ;;
			*)
				[ -n "$a" ] && [ -n "$b" ] || die "$f: test line needs ID<TAB>TIMEOUT<TAB>COMMAND: $line"
				[[ "$a" =~ ^[0-9]+$ ]] || die "$f: timeout of $kind is not a number: '$a'"
				[ "$want" = any ] || [ "$want" = "$VENDOR" ] || continue
				# --smp-only: the tests that need more than one CPU
				[ "$SMP_ONLY" = 1 ] && [ "$ncpus" -lt 2 ] && continue
				selected "$kind" || continue
				if [ "$ncpus" -gt "$CPUS" ]; then
					LEFT_OUT+=("$kind (needs $ncpus CPUs)")
					continue
				fi
				TESTS+=("$kind	$a	$b${c:+	$c}")
				ntests=$((ntests + 1))
				;;
			esac
		done < "$f"
		# @lazy: the list's builds serve only its own tests
		[ "$lazy" = 1 ] && [ "$ntests" = 0 ] && continue
		BINS+=("${bins[@]}") MODULES+=("${mods[@]}") MAKES+=("${makes[@]}")
		HOSTBINS+=("${hostbins[@]}")
	done < <(list_files)
	if [ "$INJECT_FAIL" = 1 ]; then
		TESTS+=("lab.injected_failure	10	echo 'not ok 1 - deliberately injected failure (LAB_INJECT_FAIL=1)'")
	fi
	return 0
}
parse_lists
# a test that needs more CPUs than this boot has is left out, saying so
if [ ${#LEFT_OUT[@]} -gt 0 ]; then
	log "left out: ${#LEFT_OUT[@]} test(s) that need more CPUs than this boot's $CPUS (--cpus N runs them): ${LEFT_OUT[*]}"
fi

if [ $MODE = list ]; then
	for t in "${TESTS[@]}"; do
		IFS=$'\t' read -r id tmo cmd <<< "$t"
		printf '%-28s %4ss  %s\n' "$id" "$tmo" "$cmd"
	done
	exit 0
fi

# --------------------------------------------------------------- kernel

if [ -z "${KABI:-}" ]; then
	KABI=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)
	if [ -z "$KABI" ]; then
		"$TOP/harness/deps.sh" lab >&2 || exit 2
		apt-get update -q >/dev/null 2>&1 || true
		KABI=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)
	fi
	[ -n "$KABI" ] || die "cannot find the kernel ABI: 'apt-cache depends linux-image-cloud-amd64' names none (run apt-get update, or set KABI=6.1.0-NN)"
fi
KVER=$KABI-cloud-amd64
HEADERS=/usr/src/linux-headers-$KVER

"$TOP/harness/deps.sh" lab -- "linux-headers-$KVER" >&2 ||
	die "could not install the lab's packages (see above)"

KDIR_IMG=$CACHE/kernel-$KVER
fetch_kernel() {
	local deb
	[ -f "$KDIR_IMG/boot/vmlinuz-$KVER" ] && return 0
	mkdir -p "$CACHE/debs"
	deb=$(ls "$CACHE"/debs/linux-image-"$KVER"_*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		log "downloading linux-image-$KVER (not installed on this host)"
		(cd "$CACHE/debs" && apt-get download "linux-image-$KVER" >/dev/null 2>&1) ||
			die "apt-get download linux-image-$KVER failed (is apt-get update done?)"
		deb=$(ls "$CACHE"/debs/linux-image-"$KVER"_*.deb | head -1)
	fi
	log "unpacking $(basename "$deb")"
	rm -rf "$KDIR_IMG.tmp" && mkdir -p "$KDIR_IMG.tmp"
	dpkg-deb -x "$deb" "$KDIR_IMG.tmp"
	rm -rf "$KDIR_IMG" && mv "$KDIR_IMG.tmp" "$KDIR_IMG"
}

# -------------------------------------------------------------- modules

build_modules() {	# $1 = kernel build dir; products into $LAB/mod
	local kdir=$1 m name out
	mkdir -p "$LAB/mod"
	for m in "${MODULES[@]}"; do
		[ -d "$TOP/$m" ] || die "@module $m: no such directory"
		name=$(basename "$m")
		out=$LAB/kbuild/$name
		# Build in a copy so the source tree stays clean.
		mkdir -p "$out"
		cp -a "$TOP/$m/." "$out/"
		log "building module $m against $(basename "$kdir")"
		if ! make -s -C "$kdir" M="$out" DUNE_INCLUDE="$TOP/include" W=1 modules >"$out/build.log" 2>&1; then
			cat "$out/build.log" >&2
			die "module build failed: $m"
		fi
		if grep -q 'warning:' "$out/build.log"; then
			grep 'warning:' "$out/build.log" >&2
			log "module $m built with warnings (W=1)"
		fi
		find "$out" -maxdepth 1 -name '*.ko' -exec cp {} "$LAB/mod/" \;
	done
}

if [ $MODE = module ]; then
	kdir=${KDIR_OVERRIDE:-}
	if [ -z "$kdir" ]; then
		if [ -d "/lib/modules/$(uname -r)/build" ]; then
			kdir=/lib/modules/$(uname -r)/build
		else
			kdir=$HEADERS
			log "no headers for the running kernel $(uname -r); building for the lab kernel $KVER"
		fi
	fi
	build_modules "$kdir"
	for k in "$LAB"/mod/*.ko; do [ -e "$k" ] && log "built $k"; done
	exit 0
fi

# ------------------------------------------------------------- binaries

build_bins() {
	local b src flags out
	rm -rf "$LAB/lab-extra"	# files a @make puts here land in the guest's /
	mkdir -p "$LAB/bin" "$LAB/lab-extra"
	for b in "${BINS[@]}"; do
		IFS=$'\t' read -r src flags <<< "$b"
		[ -f "$TOP/$src" ] || die "@bin $src: no such file"
		out=$LAB/bin/$(basename "${src%.c}")
		if [ ! -f "$out" ] || [ "$TOP/$src" -nt "$out" ] || [ -n "$(find "$TOP/include" -newer "$out" -name '*.h' 2>/dev/null)" ]; then
			# shellcheck disable=SC2086
			gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -no-pie \
				-I"$TOP/include" $flags -o "$out" "$TOP/$src" ||
				die "building $src failed"
		fi
	done
	for b in "${MAKES[@]}"; do
		IFS=$'\t' read -r dir target <<< "$b"
		log "make -C $dir $target"
		make -s -C "$TOP/$dir" "$target" LAB_BINDIR="$LAB/bin" LAB_KDIR="$HEADERS" \
			LAB_MODDIR="$LAB/mod" >&2 || die "make -C $dir $target failed"
	done
}

# Copy the shared libraries a dynamic binary needs (found with ldd), its
# dynamic loader among them.
copy_libs_of() {	# $1 = initramfs root, $2 = binary
	local lib
	ldd "$2" >/dev/null 2>&1 || return 0	# static or not ELF: nothing to copy
	{ LD_LIBRARY_PATH=$BUILD/lib ldd "$2" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' || true; } | while read -r lib; do
		[ -e "$lib" ] || continue	# a deliberately broken test program's loader
		case "$lib" in
		"$BUILD"/*)	# our own libraries (libdune.so): where the loader looks
			mkdir -p "$1/usr/lib"; cp -L "$lib" "$1/usr/lib/" ;;
		*) [ -e "$1$lib" ] || { mkdir -p "$1$(dirname "$lib")"; cp -L "$lib" "$1$lib"; } ;;
		esac
	done
}

copy_libs() {	# $1 = initramfs root
	local f
	for f in "$1"/bin/* "$1"/usr/local/bin/*; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		copy_libs_of "$1" "$f"
	done
}

# @hostbin PATH...: programs (and data files or directories they need) of
# this host, copied to the same paths in the guest, a dynamic program with
# its shared libraries and its loader; symbolic links are followed.
copy_hostbins() {	# $1 = initramfs root
	local p
	for p in "${HOSTBINS[@]}"; do
		[ -e "$p" ] || die "@hostbin $p: no such file on this host (install its package: harness/deps.sh)"
		mkdir -p "$1$(dirname "$p")"
		if [ -d "$p" ]; then
			mkdir -p "$1$p" && cp -rL --preserve=timestamps "$p/." "$1$p/"
		else
			rm -f "$1$p" && cp -L --preserve=timestamps "$p" "$1$p"
			copy_libs_of "$1" "$p"
		fi
	done
}

strip_modsig() {	# remove appended signatures: insmod skips RSA (3x faster)
	python3 - "$@" <<'PY'
import struct, sys
MAGIC = b"~Module signature appended~\n"
for p in sys.argv[1:]:
    d = open(p, "rb").read()
    if d.endswith(MAGIC):
        n = len(d) - len(MAGIC) - 12 - struct.unpack(">I", d[-len(MAGIC) - 4:-len(MAGIC)])[0]
        open(p, "wb").write(d[:n])
PY
}

# ------------------------------------------------------------ initramfs

write_init() {	# $1 = path
	cat > "$1" <<'INIT'
#!/bin/busybox sh
# Lab guest /init: run /lab/tests (ID TAB TIMEOUT TAB COMMAND), print TAP,
# each line as it comes.  The time limits are the host's (lab.sh watches the
# wall clock); the guest's clock runs slow in the emulator.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/local/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
exec </dev/null
echo "@@LAB init uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"
echo "TAP version 13"
n=0
tab=$(printf '\t')
while IFS="$tab" read -r id tmo cmd; do
	[ -n "$id" ] || continue
	echo "@@LAB begin $id"
	# a test resumed in a fresh boot: the sub-tests it already ran
	skip=
	[ -f "/lab/skip/$id" ] && skip=/lab/skip/$id
	{ LAB_SKIP_FILE=$skip sh -c "$cmd" </dev/null 2>&1; rc=$?; printf '\n@@RC %d\n' $rc; } |
	awk -v id="$id" -v n="$n" '
		function emit(ok, desc) { n++; printf "%s %d - %s%s\n", ok, n, id, desc; fflush() }
		function handle(line,   ok, w) {
			if (line ~ /^[ \t]*$/) return
			if (line ~ /^# begin [^ \t]+$/) {	# a sub-test starts (dune-conform --mark-begin)
				split(line, w, " ")
				printf "@@LAB sub %s %s\n", id, w[3]; fflush(); return
			}
			if (line ~ /^[ \t]*1\.\.[0-9]+/) {
				if (!plan) { sub(/^[ \t]*1\.\./, "", line); plan = line + 0 }
				return
			}
			if (line ~ /^(not ok|ok)([ \t]|$)/) {
				ok = (line ~ /^ok/) ? "ok" : "not ok"
				sub(/^(not ok|ok)[ \t]*[0-9]*[ \t]*-?[ \t]*/, "", line)
				if (ok == "not ok" && line !~ /# *(SKIP|TODO)/) bad++
				got++
				emit(ok, line == "" ? "" : ": " line)
				return
			}
			printf "# %s| %s\n", id, line; fflush()
		}
		{
			line = $0
			if (line ~ /@@RC [0-9]+$/) {	# the command has ended
				rc = substr(line, match(line, /@@RC [0-9]+$/) + 5) + 0
				sub(/@@RC [0-9]+$/, "", line)
				handle(line)
				exit
			}
			handle(line)
		}
		END {
			if (plan && got != plan) emit("not ok", ": planned " plan " results, got " got " (exit status " rc ")")
			else if (rc != 0 && !bad) emit("not ok", ": exit status " rc)
			else if (!got) emit(rc == 0 ? "ok" : "not ok", "")
			print n > "/tmp/n"
		}'
	n=$(cat /tmp/n)
	echo "@@LAB done $id"
done < /lab/tests 2>&1
echo "1..$n"
echo "@@LAB tests-done uptime=$(cut -d' ' -f1 /proc/uptime)"
dmesg | sed 's/^/@@DMESG /'
echo "@@LAB end"
sync
/bin/bx_poweroff
poweroff -f
INIT
	chmod +x "$1"
}

# /bin/lab-put SRC NAME in the guest: send the file SRC to the host, which
# writes it to build/NAME when the lab ends (extract_files).  It travels
# base64 on the serial console between "@@FILE NAME begin" and "@@FILE NAME
# end" lines (inside a test they reach the log as "# ID| @@FILE ..."); a
# file sent twice (a test run again in a fresh boot) keeps its last copy.
write_lab_put() {	# $1 = path
	cat > "$1" <<'PUT'
#!/bin/busybox sh
[ $# = 2 ] && [ -r "$1" ] || { echo "usage: lab-put SRC NAME (SRC readable)" >&2; exit 2; }
case "$2" in /*|*..*|*[!A-Za-z0-9._/-]*) echo "lab-put: bad NAME '$2'" >&2; exit 2 ;; esac
echo "@@FILE $2 begin"
base64 "$1" | sed "s|^|@@FILE $2 |" || exit 1
echo "@@FILE $2 end"
PUT
	chmod +x "$1"
}

build_initramfs() {
	local ir=$LAB/initramfs f src
	rm -rf "$ir"
	mkdir -p "$ir"/{bin,sbin,proc,sys,dev,tmp,mod,lab,usr/bin}
	cp /bin/busybox "$ir/bin/busybox"
	cp "$LAB"/bin/* "$ir/bin/"
	copy_libs "$ir"
	copy_hostbins "$ir"
	local M=$KDIR_IMG/lib/modules/$KVER/kernel
	for f in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-intel.ko arch/x86/kvm/kvm-amd.ko; do
		src=$M/$f
		[ -f "$src" ] || src=$src.xz
		[ -f "$src" ] || die "lab kernel lacks $f"
		case "$src" in
		*.xz) xz -dc "$src" > "$ir/mod/$(basename "$f")" ;;
		*) cp "$src" "$ir/mod/" ;;
		esac
	done
	cp "$LAB"/mod/*.ko "$ir/mod/" 2>/dev/null || true
	if [ -n "${LAB_MODULE:-}" ]; then	# someone else's /dev/dune module
		cp "$LAB_MODULE" "$ir/mod/dune.ko"
	fi
	cp -a "$LAB/lab-extra/." "$ir/"
	strip_modsig "$ir"/mod/*.ko
	write_init "$ir/init"
	write_lab_put "$ir/bin/lab-put"
	pack_initramfs "${TESTS[@]}"
}

# (Re)pack the initramfs with these tests (lines of the lists) in /lab/tests
# and, for a test resumed after a hang or an oops, the sub-tests it already
# ran in /lab/skip/ID (from SUBS_RUN).
declare -A SUBS_RUN=()
pack_initramfs() {
	local ir=$LAB/initramfs t id
	: > "$ir/lab/tests"
	rm -rf "$ir/lab/skip" && mkdir -p "$ir/lab/skip"
	for t in "$@"; do
		printf '%s\n' "$t" >> "$ir/lab/tests"
		id=${t%%$'\t'*}
		[ -z "${SUBS_RUN[$id]:-}" ] || printf '%s\n' ${SUBS_RUN[$id]} > "$ir/lab/skip/$id"
	done
	(cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible 2>/dev/null |
		gzip -1 -n) > "$LAB/initrd.gz.new"
	mv "$LAB/initrd.gz.new" "$LAB/initrd.gz"
}

APPEND="console=ttyS0,115200 quiet mitigations=off tsc=reliable no_timer_check rdinit=/init panic=-1 cryptomgr.notests rodata=off"
case "$CPU" in
corei7_skylake_x) APPEND="$APPEND clearcpuid=avx512f,xsaveopt,xsavec,xsaves" ;;
ryzen) APPEND="$APPEND clearcpuid=mwaitx,xsaveopt,xsavec,xsaves" ;;
esac
# Unknown NAME=value parameters become the environment of the guest's /init
# and so of every test: the fuzz seed and scale reach the tests this way,
# and the images stay the same (an ISO only differs in its command line).
[ -n "$FUZZ_SEED" ] && APPEND="$APPEND DUNE_FUZZ_SEED=$FUZZ_SEED"
[ -n "$FUZZ_SCALE" ] && APPEND="$APPEND DUNE_FUZZ_SCALE=$FUZZ_SCALE"
APPEND="$APPEND LAB_CPUS=$CPUS"
APPEND="$APPEND $APPEND_EXTRA"

build_iso() {
	local key iso=$LAB/boot.iso
	key=$( { sha256sum "$LAB/initrd.gz" "$KDIR_IMG/boot/vmlinuz-$KVER"; echo "$APPEND"; } | sha256sum | cut -c1-16)
	if [ -f "$iso" ] && [ "$(cat "$LAB/boot.iso.key" 2>/dev/null)" = "$key" ]; then
		log "initramfs unchanged: reusing $iso"
		return 0
	fi
	local d=$LAB/iso
	rm -rf "$d" && mkdir -p "$d/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$d/isolinux/"
	cp "$KDIR_IMG/boot/vmlinuz-$KVER" "$d/vmlinuz"
	cp "$LAB/initrd.gz" "$d/initrd.gz"
	cat > "$d/isolinux/isolinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $APPEND
EOF
	genisoimage -quiet -o "$iso.new" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table -J -R "$d"
	mv "$iso.new" "$iso"
	echo "$key" > "$LAB/boot.iso.key"
}

write_bochsrc() {	# $1 = run dir
	cat > "$1/bochsrc" <<EOF
# Generated by harness/lab/lab.sh.  Debian's Bochs has no 'nogui'; rfb is
# its only display without X, and it runs in a private network namespace.
display_library: rfb, options="timeout=0"
megs: $MEGS
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=$CPU, count=$CPUS, ips=$IPS, reset_on_triple_fault=0, ignore_bad_msrs=1
clock: sync=none, time0=local
pci: enabled=1, chipset=i440fx
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$LAB/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$1/serial.txt
plugin_ctrl: speaker=0, parallel=0, gameport=0
log: $1/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
	echo c > "$1/debugger.rc"
}

# ------------------------------------------------------------------ run

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9		# concurrent labs share the cache: one fetches, the others wait
fetch_kernel
flock -u 9
if [ $REUSE = 1 ] && [ -f "$LAB/initrd.gz" ]; then
	log "--reuse: the images of the previous run in $LAB"
else
	[ $REUSE = 1 ] && log "--reuse: no previous images in $LAB: building them"
	build_modules "$HEADERS"
	build_bins
	mkdir -p "$LAB/bin"
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$LAB/bin/bx_poweroff" \
		"$TOP/harness/lab/guest/bx_poweroff.c"
	build_initramfs
fi
build_iso
RUN=$LAB/run-$CPU
rm -rf "$RUN" && mkdir -p "$RUN"
write_bochsrc "$RUN"
log "kernel $KVER, cpu $CPU x $CPUS, ${#TESTS[@]} test(s), timeout ${TIMEOUT}s"
[ -n "$FUZZ_SEED" ] && log "fuzz seed $FUZZ_SEED for every fuzz test (DUNE_FUZZ_SEED in the guest)"
[ -n "$FUZZ_SCALE" ] && log "fuzz scale $FUZZ_SCALE (DUNE_FUZZ_SCALE in the guest)"

if [ $MODE = build ]; then
	log "images ready: $LAB/boot.iso (bochsrc: $RUN/bochsrc)"
	log "boot by hand: cd $RUN && bochs -q -f bochsrc -rc debugger.rc; serial output goes to $RUN/serial.txt"
	exit 0
fi

T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
NETNS=(unshare --net --)
unshare --net true 2>/dev/null || { NETNS=(); log "warning: cannot make a network namespace; Bochs' rfb display listens on port 5900"; }

# What the kernel prints when it oopses, panics or detects a lockup: such a
# line during a test ends that test (and the boot).  KERNEL_BAD: what
# lab.host.kernel_clean looks for in the rest of the console and dmesg.
KERNEL_CRASH='Kernel panic|Oops|BUG:|kernel BUG at|general protection fault|unable to handle|invalid opcode:|soft lockup|hard LOCKUP|double fault'
KERNEL_BAD="$KERNEL_CRASH|WARNING:|Call Trace"

# Results stream in per test: the guest prints "@@LAB begin ID" before each
# test, "@@LAB sub ID SUBID" before each sub-test of one (dune-conform
# --mark-begin), TAP lines as they come and "@@LAB done ID" after it.  The
# host keeps the results as they arrive (RESULTS: TAP lines without their
# numbers) and watches the wall clock: a test (or sub-test) that gives no
# result within its TIMEOUT wall seconds has hung; a kernel oops or panic
# during it has crashed the guest.  Either way that test fails with the
# reason, and the tests not done yet run in a fresh boot; a test cut short
# in a sub-test resumes after it (the guest's LAB_SKIP_FILE lists the
# sub-tests already run).
declare -A FINISHED=() TMO=()
RESULTS=$RUN/results
: > "$RESULTS"
for t in "${TESTS[@]}"; do
	IFS=$'\t' read -r id tmo _ <<< "$t"
	TMO[$id]=$tmo
done
BOOTS=0 BOOTS_INIT=0 PLAN_BAD=() CLEAN_BAD=() LAST_CRASH=

# One boot with the tests not done yet.  Sets BOOT_END: finished (the guest
# powered off), crash, hang, timeout (overall --timeout), died (the emulator
# stopped otherwise), noprogress.
run_boot() {
	local b=$1 seen=0 total line state=booting cur='' sub='' cur_t0=0 now alive=1
	local last_beat ninit=0 nres=0 plan='' crash='' crash_line='' ser=$RUN/serial.txt left
	: > "$ser"
	left=$(( TIMEOUT - $(elapsed) ))
	"${NETNS[@]}" timeout -s KILL "$left" bochs -q -f "$RUN/bochsrc" -rc "$RUN/debugger.rc" \
		</dev/null >"$RUN/bochs-$b.stdout" 2>&1 &
	BPID=$!
	trap 'kill $BPID 2>/dev/null || true' EXIT INT TERM
	log "boot $b: ${#REMAIN[@]} test(s), ${left}s left (bochs pid $BPID, serial log $ser)"
	last_beat=$(elapsed)
	while :; do
		kill -0 $BPID 2>/dev/null || alive=0
		total=$(wc -l < "$ser")	# complete lines only
		if [ "$total" -gt "$seen" ]; then
			while IFS= read -r line; do
				line=${line%$'\r'}
				case "$line" in
				'@@DMESG '*) ;;
				'@@LAB init'*)
					ninit=$((ninit + 1))
					if [ $ninit -gt 1 ]; then	# panic=-1: the kernel rebooted
						crash="the guest rebooted" crash_line=$line
						break
					fi
					state=running BOOTS_INIT=$((BOOTS_INIT + 1))
					log "[+$(elapsed)s] /init reached (${line#@@LAB init })" ;;
				'@@LAB begin '*)
					cur=${line#@@LAB begin } sub='' cur_t0=$(elapsed)
					log "[+$(elapsed)s] $cur (${TMO[$cur]:-?}s wall)" ;;
				'@@LAB sub '*)
					line=${line#@@LAB sub }
					sub=${line#* } cur_t0=$(elapsed)
					SUBS_RUN[$cur]="${SUBS_RUN[$cur]:-} $sub"
					[ $VERBOSE = 1 ] && log "[+$(elapsed)s] $cur: $sub" ;;
				'@@LAB done '*)
					FINISHED[${line#@@LAB done }]=1 cur='' sub='' ;;
				'@@LAB tests-done'*)
					state=finished
					log "[+$(elapsed)s] tests done, powering off" ;;
				'ok '*|'not ok '*)
					printf '    %s\n' "$line" >&2
					sed -E 's/^(ok|not ok) [0-9]+ /\1 /' <<< "$line" >> "$RESULTS"
					nres=$((nres + 1))
					sub='' cur_t0=$(elapsed) ;;
				'1..'*) [ $state = running ] && plan=${line#1..} ;;
				'#'*|'@@'*) [ $VERBOSE = 1 ] && printf '    | %s\n' "$line" >&2 ;;
				*)
					if [[ "$line" =~ $KERNEL_CRASH ]]; then
						log "[+$(elapsed)s] $line"
						if [ $state != finished ]; then
							crash="kernel oops: $(sed -E 's/^\[ *[0-9.]+\] //' <<< "$line" | cut -c1-160)"
							crash_line=$line
							break
						fi
					elif [ $VERBOSE = 1 ]; then
						printf '    | %s\n' "$line" >&2
					fi ;;
				esac
			done < <(sed -n "$((seen + 1)),${total}p" "$ser")
			seen=$total
			last_beat=$(elapsed)
		fi
		[ -z "$crash" ] || break
		[ $alive = 1 ] || break
		now=$(elapsed)
		if [ -n "$cur" ] && [ $((now - cur_t0)) -ge "${TMO[$cur]}" ]; then
			crash="hang: no result after ${TMO[$cur]} s wall"
			break
		fi
		if [ $((now - last_beat)) -ge 20 ]; then
			last_beat=$now
			log "[+${now}s] still $state${cur:+ in $cur${sub:+: $sub}} ($(stat -c %s "$ser") bytes of serial output)"
		fi
		sleep 1
	done
	if [ -n "$crash" ]; then
		log "[+$(elapsed)s] boot $b: ${cur:-no test running}${sub:+: $sub}: $crash"
		sleep 3		# the rest of the oops, for the log
		kill $BPID 2>/dev/null || true
	fi
	wait $BPID 2>/dev/null && brc=0 || brc=$?
	trap - EXIT INT TERM
	mv "$ser" "$RUN/serial-$b.txt"
	echo "${crash_line:-}" > "$RUN/crash-$b.line"
	# the guest's plan of a boot that finished: its own results
	[ $state != finished ] || [ "${plan:-x}" = "$nres" ] || PLAN_BAD+=("boot $b: guest plan 1..${plan:-missing}, $nres results")
	if [ -n "$crash" ] && [ -n "$cur" ]; then
		printf 'not ok - %s%s # %s (boot %d)\n' "$cur" "${sub:+: $sub}" "$crash" "$b" >> "$RESULTS"
		printf '    %s\n' "not ok - $cur${sub:+: $sub} # $crash (boot $b)" >&2
		# cut short in a sub-test: the test resumes after it (unless it
		# ignored LAB_SKIP_FILE and ended there again); else it is done
		[ -n "$sub" ] && [ "$LAST_CRASH" != "$cur $sub" ] || FINISHED[$cur]=1
		LAST_CRASH="$cur $sub"
		BOOT_END=crash
		[ "$crash" = "${crash#hang}" ] || BOOT_END=hang
	elif [ -n "$crash" ]; then
		CLEAN_BAD+=("boot $b: $crash (no test running)")
		BOOT_END=noprogress
	elif [ $state = finished ] && grep -q '^@@LAB end' "$RUN/serial-$b.txt"; then
		BOOT_END=finished
	elif [ "$brc" = 137 ]; then
		BOOT_END=timeout
	else
		BOOT_END=died
	fi
}

REMAIN=("${TESTS[@]}")
while :; do
	BOOTS=$((BOOTS + 1))
	if [ $BOOTS -gt 1 ]; then	# a fresh boot for the tests not done yet
		pack_initramfs "${REMAIN[@]}"
		build_iso
	fi
	run_boot $BOOTS
	[ $BOOT_END = crash ] || [ $BOOT_END = hang ] || break
	REMAIN=()
	for t in "${TESTS[@]}"; do
		[ -n "${FINISHED[${t%%$'\t'*}]:-}" ] || REMAIN+=("$t")
	done
	[ ${#REMAIN[@]} -gt 0 ] || { BOOT_END=finished; break; }
	if [ $(( TIMEOUT - $(elapsed) )) -le 0 ]; then BOOT_END=timeout; break; fi
	log "[+$(elapsed)s] ${#REMAIN[@]} test(s) left: booting again"
done
WALL=$(elapsed)
log "emulator finished after ${WALL}s wall, $BOOTS boot(s) (last: $BOOT_END)"
for b in $(seq 1 $BOOTS); do
	[ $BOOTS = 1 ] || echo "@@HOST boot $b"
	cat "$RUN/serial-$b.txt"
done > "$RUN/serial.txt"

# --------------------------------------------------------------- verdict

tr -d '\r' < "$RUN/serial.txt" > "$RUN/serial.clean"
S=$RUN/serial.clean
OUT=$RUN/result.tap
cp "$RESULTS" "$OUT.body"
n=$(grep -cE '^(ok|not ok) ' "$OUT.body" || true)
host_check() {	# ok? description
	n=$((n + 1))
	if [ "$1" = 1 ]; then echo "ok - $2"; else echo "not ok - $2"; fi >> "$OUT.body"
}
ids_missing=()
for t in "${TESTS[@]}"; do
	id=${t%%$'\t'*}
	grep -qE "^(ok|not ok) - $(printf '%s' "$id" | sed 's/[.[\*^$]/\\&/g')(:| |$)" "$RESULTS" || ids_missing+=("$id")
done
host_check "$([ "$BOOTS_INIT" = "$BOOTS" ] && echo 1 || echo 0)" \
	"lab.host.boot: /init reached in $BOOTS_INIT of $BOOTS boot(s)"
if [ ${#ids_missing[@]} -eq 0 ] && [ ${#PLAN_BAD[@]} -eq 0 ]; then
	host_check 1 "lab.host.plan: all ${#TESTS[@]} declared tests reported ($BOOTS boot(s))"
else
	host_check 0 "lab.host.plan: missing tests: ${ids_missing[*]:-none}${PLAN_BAD[*]:+; ${PLAN_BAD[*]}}"
fi
# A hung-task report of a task waiting for the initramfs to be unpacked
# (its stack in async_synchronize_cookie_domain: wait_for_initramfs) is the
# emulator's speed and, on the AMD models, its fast guest clock while a
# large initramfs is decompressed at boot, not a kernel problem: left out
# (docs/lab.md, quirks).  Every other hung-task report still counts.
drop_initramfs_wait() {	# a report: its timestamped lines up to </TASK>
	awk 'function flush() {
		if (blk !~ /async_synchronize_cookie_domain/) printf "%s", blk
		inblk = 0; blk = "" }
	/INFO: task .* blocked for more than/ { if (inblk) flush(); blk = $0 "\n"; inblk = 1; nl = 0; next }
	inblk && ($0 !~ /\[ *[0-9]+\.[0-9]+\]/ || ++nl > 60) { flush() }
	inblk { blk = blk $0 "\n"; if ($0 ~ /<\/TASK>/) flush(); next }
	{ print }
	END { if (inblk) flush() }'
}
# The console and dmesg of each boot; a boot that a test's oops ended is
# looked at up to that oops (the test has failed with it already).
bad=
for b in $(seq 1 $BOOTS); do
	cl=$(cat "$RUN/crash-$b.line")
	bad+=$(tr -d '\r' < "$RUN/serial-$b.txt" | CL=$cl awk 'ENVIRON["CL"] != "" && $0 == ENVIRON["CL"] { exit } 1' |
		drop_initramfs_wait | grep -E "$KERNEL_BAD" | head -5 | sed "s/^/boot $b: /" || true)
done
if [ -n "${CLEAN_BAD[*]:-}" ]; then
	host_check 0 "lab.host.kernel_clean: ${CLEAN_BAD[0]}"
elif [ -z "$bad" ]; then
	host_check 1 "lab.host.kernel_clean: no panic/Oops/BUG/WARNING in console or dmesg (but for the failures above)"
else
	host_check 0 "lab.host.kernel_clean: $(echo "$bad" | head -1 | cut -c1-160)"
fi
# Files the guest sent with lab-put: into build/NAME (the last complete
# copy of each).  A file that began but did not end, or whose name or
# base64 is bad, fails lab.host.files.
extract_files() {
	local name f dir=$RUN/files sent=0 bad=()
	rm -rf "$dir" && mkdir -p "$dir"
	while IFS=$'\t' read -r name f; do
		case "$name" in
		/*|*..*) bad+=("bad name '$name'"); continue ;;
		esac
		sent=$((sent + 1))
		if [ "$f" = - ]; then
			bad+=("$name: no end line")
			continue
		fi
		mkdir -p "$BUILD/$(dirname "$name")"
		if base64 -d < "$f" > "$BUILD/$name.tmp"; then
			mv "$BUILD/$name.tmp" "$BUILD/$name"
			log "file from the guest: build/$name"
		else
			rm -f "$BUILD/$name.tmp"
			bad+=("$name: bad base64")
		fi
	done < <(sed -nE 's/^(# [^|]*\| )?@@FILE //p' "$S" | awk -v dir="$dir" '
		$2 == "begin" && NF == 2 { name = $1; f = dir "/" ++n ".b64"; printf "" > f; fo[name] = f; cur = name; next }
		$2 == "end" && NF == 2 && $1 == cur { done[cur] = fo[cur]; close(fo[cur]); delete fo[cur]; cur = ""; next }
		cur != "" && $1 == cur { print $2 > fo[cur] }
		END { for (k in done) print k "\t" done[k]; for (k in fo) if (!(k in done)) print k "\t-" }')
	[ "$sent" -gt 0 ] || [ ${#bad[@]} -gt 0 ] || return 0
	if [ ${#bad[@]} -eq 0 ]; then
		host_check 1 "lab.host.files: $sent file(s) from the guest written under build/"
	else
		host_check 0 "lab.host.files: ${bad[*]}"
	fi
}
extract_files
case $BOOT_END in
finished) host_check 1 "lab.host.poweroff: guest finished in ${WALL}s wall ($BOOTS boot(s))" ;;
timeout) host_check 0 "lab.host.poweroff: timed out after ${TIMEOUT}s wall" ;;
*) host_check 0 "lab.host.poweroff: emulator stopped (status $brc) before the guest finished" ;;
esac
{ echo "TAP version 13"; echo "1..$n"; grep -E '^(ok|not ok) ' "$OUT.body" | awk '{ sub(/^ok /, "ok " NR " "); sub(/^not ok /, "not ok " NR " "); print }'; } > "$OUT"
rm -f "$OUT.body"
[ -n "$TAPFILE" ] && cp "$OUT" "$TAPFILE"


fails=$(grep '^not ok' "$OUT" | grep -vcE '# *(TODO|SKIP)' || true)
passes=$(grep -c '^ok' "$OUT" || true)
if [ "$fails" -gt 0 ]; then
	log "FAILED: $fails of $n lab checks failed:"
	grep '^not ok' "$OUT" | grep -vE '# *(TODO|SKIP)' | sed 's/^/    /' >&2
	log "last 40 lines of the serial log ($RUN/serial.txt):"
	grep -v '^@@DMESG' "$S" | tail -40 | sed 's/^/    | /' >&2
	if grep -q '^@@DMESG' "$S"; then
		log "last 15 lines of the guest's dmesg:"
		grep '^@@DMESG' "$S" | tail -15 | sed 's/^@@DMESG /    | /' >&2
	fi
	exit 1
fi
log "PASSED: $passes lab checks in ${WALL}s wall"
exit 0
