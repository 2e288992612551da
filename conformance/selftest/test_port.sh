#!/bin/bash
# SPDX-License-Identifier: MIT
# test_port.sh LIBDUNE.A DUNE-CONFORM - testing another implementation, without a lab
# boot: the suite's build against a library that is not position-
# independent (linked -no-pie, and says so) or that has a real link error
# (still an error); DUNE_INCLUDE's layout; `dunebench conform --lab`'s
# arguments (refused or carried into the guest, never dropped); the suite
# against LIBDUNE.A with its extensions hidden and an original-API-only
# header, compared with DUNE-CONFORM (the suite against LIBDUNE.A).  TAP.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ $# = 2 ] && [ -f "$1" ] && [ -x "$2" ] || { echo "Bail out! usage: test_port.sh LIBDUNE.A DUNE-CONFORM (both built)"; exit 1; }
LIB=$(readlink -f "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
conform() { BUILD=$T/build "$TOP/harness/dunebench-conform" "$@"; }
# fixture library: LIB merged into one object with OBJECT (so dune_init
# pulls it in); its KVM probe local, as the runner has its own copy
fixture() {	# NAME OBJECT
	mkdir -p "$T/$1"
	ld -r -o "$T/$1/all.o" --whole-archive "$LIB" "$2" &&
		objcopy --wildcard --localize-symbol='dune_kvm_*' "$T/$1/all.o" &&
		ar rcs "$T/$1/libdune.a" "$T/$1/all.o"
}
echo "1..14"

cc -c -o "$T/nopic.o" "$TOP/conformance/selftest/fixtures/nopic.S" &&
	cc -std=gnu11 -Wall -Wextra -Werror -c -o "$T/undef.o" "$TOP/conformance/selftest/fixtures/undef.c" &&
	fixture nopic "$T/nopic.o" && fixture undef "$T/undef.o" || { echo "Bail out! fixtures not built"; exit 1; }

# 1-3: a non-PIC library: built -no-pie in its own directory, saying so
sha=$(sha256sum "$T/nopic/libdune.a" | cut -c1-16)
bin=$T/build/conformance/libdune-$sha/dune-conform
make -s -C "$TOP/conformance" BUILD="$T/build" LIBDUNE="$T/nopic/libdune.a" "$bin" > "$T/nopic.log" 2>&1
rc=$?
if [ $rc = 0 ] && [ -x "$bin" ]; then ok "a library that is not position-independent: the suite builds"
else nok "a library that is not position-independent: the suite builds (make: $rc)" "$(tail -3 "$T/nopic.log")"; fi
if grep -q "is not position-independent: .*-fno-pie -no-pie in $T/build/conformance/libdune-$sha" "$T/nopic.log"; then
	ok "and the build says it linked the suite -no-pie, in that library's directory"
else nok "and the build says it linked the suite -no-pie" "$(tail -3 "$T/nopic.log")"; fi
type=$(readelf -h "$bin" 2>/dev/null | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')
if [ "$type" = EXEC ] && "$bin" --list > "$T/list" 2>&1 && grep -q '^api\.' "$T/list"; then
	ok "that suite is a non-PIE executable and lists its api tests"
else nok "that suite is a non-PIE executable that runs (ELF type '$type')" "$(head -2 "$T/list" 2>/dev/null)"; fi

# 4: another link error stays one
sha=$(sha256sum "$T/undef/libdune.a" | cut -c1-16)
make -s -C "$TOP/conformance" BUILD="$T/build" LIBDUNE="$T/undef/libdune.a" \
	"$T/build/conformance/libdune-$sha/dune-conform" > "$T/undef.log" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q conform_fixture_nowhere "$T/undef.log" && ! grep -q -- '-no-pie' "$T/undef.log"; then
	ok "a library with an undefined reference: the build fails naming it, no -no-pie retry"
else nok "a library with an undefined reference fails to build (make: $rc)" "$(tail -3 "$T/undef.log")"; fi

# 5-6: DUNE_INCLUDE must hold dune/dune.h
mkdir -p "$T/inc-flat" && cp "$TOP/include/dune/dune.h" "$T/inc-flat/"
out=$(make -s -C "$TOP/conformance" BUILD="$T/build" DUNE_INCLUDE="$T/inc-flat" all 2>&1); rc=$?
if [ $rc != 0 ] && [[ $out == *"no $T/inc-flat/dune/dune.h"* ]]; then
	ok "make: DUNE_INCLUDE without dune/dune.h is refused, naming the file it wants"
else nok "make: DUNE_INCLUDE without dune/dune.h is refused (make: $rc)" "$out"; fi
out=$(DUNE_INCLUDE=$T/inc-flat conform --lab -n 2>&1); rc=$?
if [ $rc = 2 ] && [[ $out == *"no $T/inc-flat/dune/dune.h"* ]]; then
	ok "dunebench conform: the same, before any build or boot"
else nok "dunebench conform: DUNE_INCLUDE without dune/dune.h is refused (exit $rc)" "$out"; fi

# 7-9: --lab refuses what it cannot carry; bad arguments before any work
out=$(conform --lab -n -p vm 2>&1); rc=$?
if [ $rc = 2 ] && [[ $out == *"-p is not supported with --lab"* ]]; then ok "--lab refuses a runner option it cannot carry (-p)"
else nok "--lab refuses -p (exit $rc)" "$out"; fi
out=$(conform --lab -n -d "$T/none.txt" 2>&1); rc=$?
if [ $rc = 2 ] && [[ $out == *"-d $T/none.txt: no such readable file"* ]]; then ok "-d of a missing file is refused"
else nok "-d of a missing file is refused (exit $rc)" "$out"; fi
out=$(conform --lab -n -b xen 2>&1); rc=$?
if [ $rc = 2 ] && [[ $out == *"-b xen"* ]]; then ok "-b of an unknown backend is refused"
else nok "-b xen is refused (exit $rc)" "$out"; fi

# 10-11: -b, -d, -x, -t, MODULE and LIBDUNE reach the lab
printf 'abi.exit.hlt\tdoes not intercept HLT\n' > "$T/mine.txt"
: > "$T/other.ko"
out=$(MODULE=$T/other.ko LIBDUNE=$T/nopic/libdune.a DUNE_INCLUDE=$TOP/include \
	conform --lab -n -b vmx -d "$T/mine.txt" -x 'abi.fuzz.*' 'api.init.*' 2>&1); rc=$?
ex=$T/build/lab-conform-extra
want=$(printf -- '-d\n/lab/departures/user-1-mine.txt\n-x\nabi.fuzz.*\n-t\napi.init.*')
if [ $rc = 0 ] && [[ $out == *"lab.sh --tests conformance.vmx --module $T/other.ko "* ]] &&
	[ "$(cat "$ex/lab/conform-args" 2>/dev/null)" = "$want" ] &&
	cmp -s "$T/mine.txt" "$ex/lab/departures/user-1-mine.txt" && [ "$(cat "$ex/lab/conform-impl")" = user ]; then
	ok "--lab -b vmx -d FILE -x GLOB ID-GLOB with MODULE=: one backend, the module, and the runner arguments and departures file for the guest"
else nok "--lab carries -b/-d/-x/ID-GLOB and MODULE= (exit $rc)" "$out" "args: $(tr '\n' ' ' < "$ex/lab/conform-args" 2>/dev/null)"; fi
out=$(conform --lab -n -b kvm 2>&1); rc=$?
if [ $rc = 0 ] && [[ $out == *"--tests conformance.kvm* "* ]] && [ ! -s "$ex/lab/conform-args" ] && [ ! -e "$ex/lab/conform-impl" ]; then
	ok "--lab -b kvm: the kvm entries only, no extra runner arguments, dunebench's own departures"
else nok "--lab -b kvm (exit $rc)" "$out"; fi
# 12-14: the original API only, natively: our library with its extensions
# hidden and its own original-API-only header (make origapi-lib, the same
# as the lab's origapi.libdune); here every test SKIPs (no Dune on a build
# host), so the lab test compares the verdicts that run; this checks the
# build, the weak references and the SKIP reasons' names.
ext_syms="dune_alloc_percpu dune_apic_send_ipi_checked dune_apic_supported dune_backend_name dune_has_pcid dune_is_in_guest dune_syscall_batch dune_syscall_exitless dune_syscall_mode dune_vm_insert_page dune_vm_lookup_page"
oa=$T/origapi
make -s -C "$TOP/conformance" ORIGAPI="$oa" LIBDUNE="$LIB" origapi-lib > "$T/oa.log" 2>&1
sha=$(sha256sum "$oa/libdune.a" 2>/dev/null | cut -c1-16)
obin=$T/build/conformance/libdune-$sha/dune-conform
make -s -C "$TOP/conformance" BUILD="$T/build" LIBDUNE="$oa/libdune.a" DUNE_INCLUDE="$oa/include" "$obin" >> "$T/oa.log" 2>&1
rc=$?
if [ $rc = 0 ] && ! grep -qE 'dune_(backend_name|is_in_guest|apic_supported|has_pcid|alloc_percpu|exec_base|page_base)' \
	"$oa/include/dune/dune.h" && [ -x "$obin" ]; then
	ok "the suite builds against an original-API-only header and library (the extensions hidden)"
else nok "the suite builds against the original API only (make: $rc)" "$(tail -3 "$T/oa.log")"; fi
weak=$(nm "$obin" 2>/dev/null | awk '$1 == "w" && $2 ~ /^dune_/ { print $2 }' | sort | tr '\n' ' ')
if [ "$weak" = "$ext_syms " ]; then ok "exactly the extensions are weak references there, left undefined: $weak"
else nok "the extensions are weak undefined references" "got: $weak" "want: $ext_syms"; fi
full=$2
"$obin" > "$T/oa.tap" 2>/dev/null
"$full" > "$T/full.tap" 2>/dev/null
# the extension tests (selftest/lab-origapi.sh's list) SKIP naming one of
# the hidden functions; every other test's verdict is the full library's
ext_tests=$(sed -n 's/^EXT_TESTS="\(.*\)"$/\1/p' "$TOP/conformance/selftest/lab-origapi.sh")
outcomes() { sed -E -n 's/^ok [0-9]+ - ([^ ]+).*# SKIP the library under test does not define (dune_[a-z_]+).*/\1 skip-ext \2/p; t
	s/^ok [0-9]+ - ([^ ]+).*# SKIP.*/\1 skip/p; t
	s/^((not )?ok) [0-9]+ - ([^ ]+).*/\3 \1/p' "$1" | sort -u; }
outcomes "$T/oa.tap" > "$T/o-oa"
outcomes "$T/full.tap" > "$T/o-full"
bad=$(awk -v ext="$ext_tests" -v syms="$ext_syms" '
	BEGIN { n = split(ext, e, " "); for (i = 1; i <= n; i++) x[e[i]] = 1
		n = split(syms, s, " "); for (i = 1; i <= n; i++) y[s[i]] = 1 }
	NR == FNR { full[$1] = $2; next }
	{ seen[$1] = 1 }
	$2 == "skip-ext" { if (!($1 in x) || !($3 in y)) print "not an extension test or symbol: " $0; next }
	!($1 in full) { print "only with the original API: " $0; next }
	full[$1] != $2 { print $1 ": " full[$1] " with the full library, " $2 " with the original API" }
	END { for (id in full) if (!(id in seen)) print "missing with the original API: " id }' "$T/o-full" "$T/o-oa")
next=$(grep -c ' skip-ext ' "$T/o-oa")
if [ -s "$T/o-full" ] && [ -z "$bad" ] && [ "$next" -ge 1 ]; then
	ok "natively the full library's verdicts ($(wc -l < "$T/o-full") tests) but for $next extension tests, which SKIP naming the missing function"
else nok "natively the full library's verdicts but for the extension tests" $(echo "$bad" | head -5) "extension SKIPs: $next"; fi
exit $((fails > 0))
