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
#   --timeout SEC     hard wall-clock limit for the emulator (LAB_TIMEOUT, 900;
#                     make check gives its Intel boot CHECK_LAB_TIMEOUT=1800)
#   --cpu MODEL       Bochs CPU model (LAB_CPU, corei7_skylake_x); AMD models
#                     (trinity_apu: SVM + nested paging; ryzen) run the tests
#                     declared '@cpu amd' or '@cpu any'
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
#                     (plus the round's --fuzz-scale if not 1)
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
# conformance/lab-tests.list and conformance/selftest/lab-tests.list in the
# tree (sorted), or the files named in LAB_LISTS.  Format: see tests.list.
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
		args=(--cpu "$CPU" --timeout "$TIMEOUT" --seed "$seed" --fuzz-scale "$scale" --tap "$rtap")
		[ $r -gt 1 ] && args+=(--reuse)
		[ $VERBOSE = 1 ] && args+=(-v)
		for g in "${TEST_GLOBS[@]}"; do args+=(--tests "$g"); done
		rc=0
		LAB_LISTS=$TOP/conformance/lab/soak.list LAB_WORKDIR=$LAB LAB_SOAK_MINUTES= LAB_FUZZ_SEED= \
			LAB_TESTS= LAB_TAG="${LAB_TAG:-soak} round $r" "$0" "${args[@]}" || rc=$?
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
		-o -path "$TOP/conformance/selftest/lab-tests.list" \) \
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
BINS=() MODULES=() MAKES=() TESTS=()
parse_lists() {
	local f line kind a b c want lazy ntests
	local -a bins mods makes
	while read -r f; do
		want=intel	# the VMX lab: tests are Intel-only unless declared
		lazy=0 ntests=0 bins=() mods=() makes=()
		while IFS= read -r line || [ -n "$line" ]; do
			case "$line" in ''|'#'*) continue ;; esac
			IFS=$'\t' read -r kind a b c <<< "$line"
			case "$kind" in
			@bin) bins+=("$a${b:+	$b}") ;;
			@module) mods+=("$a") ;;
			@make) makes+=("$a	$b") ;;
			@lazy) lazy=1 ;;
			@cpu)
				case "$a" in intel|amd|any) want=$a ;;
				*) die "$f: @cpu wants intel, amd or any, not '$a'" ;; esac ;;
			@*) die "$f: unknown directive '$kind'" ;;
			*)
				[ -n "$a" ] && [ -n "$b" ] || die "$f: test line needs ID<TAB>TIMEOUT<TAB>COMMAND: $line"
				[[ "$a" =~ ^[0-9]+$ ]] || die "$f: timeout of $kind is not a number: '$a'"
				[ "$want" = any ] || [ "$want" = "$VENDOR" ] || continue
				if selected "$kind"; then
					TESTS+=("$kind	$a	$b${c:+	$c}")
					ntests=$((ntests + 1))
				fi
				;;
			esac
		done < "$f"
		# @lazy: the list's builds serve only its own tests
		[ "$lazy" = 1 ] && [ "$ntests" = 0 ] && continue
		BINS+=("${bins[@]}") MODULES+=("${mods[@]}") MAKES+=("${makes[@]}")
	done < <(list_files)
	if [ "$INJECT_FAIL" = 1 ]; then
		TESTS+=("lab.injected_failure	10	echo 'not ok 1 - deliberately injected failure (LAB_INJECT_FAIL=1)'")
	fi
	return 0
}
parse_lists

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

# Copy the shared libraries a dynamic binary needs (found with ldd).
copy_libs() {	# $1 = initramfs root
	local f lib
	for f in "$1"/bin/* "$1"/usr/local/bin/*; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		ldd "$f" >/dev/null 2>&1 || continue	# static: nothing to copy
		{ LD_LIBRARY_PATH=$BUILD/lib ldd "$f" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' || true; } | while read -r lib; do
			case "$lib" in
			"$BUILD"/*)	# our own libraries (libdune.so): where the loader looks
				mkdir -p "$1/usr/lib"; cp -L "$lib" "$1/usr/lib/" ;;
			*) [ -e "$1$lib" ] || { mkdir -p "$1$(dirname "$lib")"; cp -L "$lib" "$1$lib"; } ;;
			esac
		done
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
# Lab guest /init: run /lab/tests (ID TAB TIMEOUT TAB COMMAND), print TAP.
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
	timeout "$tmo" sh -c "$cmd" >/tmp/out 2>&1 </dev/null
	rc=$?
	n=$(awk -v id="$id" -v n="$n" -v rc="$rc" -v tmo="$tmo" '
		function emit(ok, desc) { n++; printf "%s %d - %s%s\n", ok, n, id, desc }
		/^[ \t]*1\.\.[0-9]+/ { if (!plan) { sub(/^[ \t]*1\.\./, ""); plan = $0 + 0 }; next }
		/^(not ok|ok)([ \t]|$)/ {
			ok = ($1 == "ok") ? "ok" : "not ok"
			line = $0
			sub(/^(not ok|ok)[ \t]*[0-9]*[ \t]*-?[ \t]*/, "", line)
			if (ok == "not ok" && line !~ /# *(SKIP|TODO)/) bad++
			got++
			emit(ok, line == "" ? "" : ": " line)
			next
		}
		{ printf "# %s| %s\n", id, $0 }
		END {
			if (rc == 124 || rc == 143 || rc == 137) emit("not ok", ": timed out after " tmo " s")
			else if (plan && got != plan) emit("not ok", ": planned " plan " results, got " got " (exit status " rc ")")
			else if (rc != 0 && !bad) emit("not ok", ": exit status " rc)
			else if (!got) emit(rc == 0 ? "ok" : "not ok", "")
			print n > "/tmp/n"
		}' /tmp/out >&2; cat /tmp/n)
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

build_initramfs() {
	local ir=$LAB/initramfs f src
	rm -rf "$ir"
	mkdir -p "$ir"/{bin,sbin,proc,sys,dev,tmp,mod,lab,usr/bin}
	cp /bin/busybox "$ir/bin/busybox"
	cp "$LAB"/bin/* "$ir/bin/"
	copy_libs "$ir"
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
	: > "$ir/lab/tests"
	for t in "${TESTS[@]}"; do printf '%s\n' "$t" >> "$ir/lab/tests"; done
	write_init "$ir/init"
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
cpu: model=$CPU, count=1, ips=$IPS, reset_on_triple_fault=0, ignore_bad_msrs=1
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
log "kernel $KVER, cpu $CPU, ${#TESTS[@]} test(s), timeout ${TIMEOUT}s"
[ -n "$FUZZ_SEED" ] && log "fuzz seed $FUZZ_SEED for every fuzz test (DUNE_FUZZ_SEED in the guest)"
[ -n "$FUZZ_SCALE" ] && log "fuzz scale $FUZZ_SCALE (DUNE_FUZZ_SCALE in the guest)"

if [ $MODE = build ]; then
	log "images ready: $LAB/boot.iso (bochsrc: $RUN/bochsrc)"
	log "boot by hand: cd $RUN && bochs -q -f bochsrc -rc debugger.rc; serial output goes to $RUN/serial.txt"
	exit 0
fi

: > "$RUN/serial.txt"
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
NETNS=(unshare --net --)
unshare --net true 2>/dev/null || { NETNS=(); log "warning: cannot make a network namespace; Bochs' rfb display listens on port 5900"; }
"${NETNS[@]}" timeout -s KILL "$TIMEOUT" bochs -q -f "$RUN/bochsrc" -rc "$RUN/debugger.rc" \
	</dev/null >"$RUN/bochs.stdout" 2>&1 &
BPID=$!
trap 'kill $BPID 2>/dev/null || true' EXIT INT TERM
log "booting (bochs pid $BPID, serial log $RUN/serial.txt)"

seen=0 last_beat=0 state=booting
while :; do
	alive=1
	kill -0 $BPID 2>/dev/null || alive=0
	# New complete serial lines since last look.
	total=$(wc -l < "$RUN/serial.txt")	# complete lines only
	if [ "$total" -gt "$seen" ]; then
		while IFS= read -r line; do
			line=${line%$'\r'}
			case "$line" in
			'@@LAB init'*) state=running; log "[+$(elapsed)s] /init reached (${line#@@LAB init })" ;;
			'@@LAB begin '*) log "[+$(elapsed)s] ${line#@@LAB begin }" ;;
			'@@LAB tests-done'*) state=done; log "[+$(elapsed)s] tests done, powering off" ;;
			'ok '*|'not ok '*) printf '    %s\n' "$line" >&2 ;;
			*'Kernel panic'*|*'BUG:'*|*'Oops'*) log "[+$(elapsed)s] $line" ;;
			*) [ $VERBOSE = 1 ] && printf '    | %s\n' "$line" >&2 ;;
			esac
		done < <(sed -n "$((seen + 1)),${total}p" "$RUN/serial.txt")
		seen=$total
		last_beat=$(elapsed)
	fi
	[ $alive = 1 ] || break
	if [ $(( $(elapsed) - last_beat )) -ge 20 ]; then
		last_beat=$(elapsed)
		log "[+$(elapsed)s] still $state ($(stat -c %s "$RUN/serial.txt") bytes of serial output)"
	fi
	sleep 1
done
wait $BPID 2>/dev/null && brc=0 || brc=$?
trap - EXIT INT TERM
WALL=$(elapsed)
log "emulator finished after ${WALL}s wall (status $brc)"

# --------------------------------------------------------------- verdict

tr -d '\r' < "$RUN/serial.txt" > "$RUN/serial.clean"
S=$RUN/serial.clean
OUT=$RUN/result.tap
{
	echo "TAP version 13"
	grep -E '^(ok|not ok) [0-9]+ ' "$S" || true
} > "$OUT.body"
n=$(grep -cE '^(ok|not ok) ' "$OUT.body" || true)
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$S" | tail -1)
host_check() {	# ok? description
	n=$((n + 1))
	if [ "$1" = 1 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi >> "$OUT.body"
}
ids_missing=()
for t in "${TESTS[@]}"; do
	id=${t%%$'\t'*}
	grep -qE "^(ok|not ok) [0-9]+ - $(printf '%s' "$id" | sed 's/[.[\*^$]/\\&/g')(:|$)" "$S" || ids_missing+=("$id")
done
ok_init=0; grep -q '^@@LAB init' "$S" && ok_init=1
ok_end=0; grep -q '^@@LAB end' "$S" && ok_end=1
host_check $ok_init "lab.host.boot: /init reached"
if [ -n "$plan" ] && [ "$plan" = "$(grep -cE '^(ok|not ok) [0-9]+ ' "$S")" ] && [ ${#ids_missing[@]} -eq 0 ]; then
	host_check 1 "lab.host.plan: guest plan 1..$plan complete, all ${#TESTS[@]} declared tests reported"
else
	host_check 0 "lab.host.plan: guest plan '${plan:-missing}', missing tests: ${ids_missing[*]:-none}"
fi
bad=$(grep -E 'Kernel panic|Oops|BUG:|WARNING:|general protection fault|unable to handle|soft lockup|hard LOCKUP|Call Trace' "$S" | head -5 || true)
if [ -z "$bad" ]; then
	host_check 1 "lab.host.kernel_clean: no panic/Oops/BUG/WARNING in console or dmesg"
else
	host_check 0 "lab.host.kernel_clean: $(echo "$bad" | head -1 | cut -c1-160)"
fi
if [ $ok_end = 1 ]; then
	host_check 1 "lab.host.poweroff: guest finished in ${WALL}s wall"
elif [ "$brc" = 137 ]; then
	host_check 0 "lab.host.poweroff: timed out after ${TIMEOUT}s wall"
else
	host_check 0 "lab.host.poweroff: emulator stopped (status $brc) before the guest finished"
fi
{ echo "TAP version 13"; echo "1..$n"; grep -E '^(ok|not ok) ' "$OUT.body"; } > "$OUT"
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
