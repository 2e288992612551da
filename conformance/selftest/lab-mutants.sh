#!/bin/sh
# SPDX-License-Identifier: MIT
# lab-mutants.sh fast|smp|full - the mutation self-test, inside the VMX lab guest
# (busybox sh).  For each mutant of /lab/mutants.list in the set, runs its
# catching tests against the defective module (/mod/mutants/NAME.ko) or
# library (/bin/dune-conform-NAME) and prints TAP: "ok" when at least one
# of them failed on every backend listed (the defect was caught).  First,
# per backend, a control run: the same tests against our normal module and
# library must all pass, so that a failure under a mutant is the mutant's.
set=${1:-fast}
list=/lab/mutants.list
n=0
rc=0
case "$set" in fast|smp|full) ;; *) echo "Bail out! lab-mutants.sh: the set is fast, smp or full, not '$set'"; exit 1 ;; esac
# the smp mutants' tests need 2 CPUs (the lab's SMP boot runs them)
ncpus=$(grep -c '^processor' /proc/cpuinfo)
tap() {	# ok|notok DESCRIPTION [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		rc=1
		echo "not ok $n - $2${3:+ # $3}"
	fi
}

# selected lines: NAME KIND BACKENDS SCALE TESTS... (tabs become spaces)
sel() {
	sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$list" | tr '\t' ' ' |
		while read -r name kind s be scale tests; do
			[ "$set" = full ] || [ "$s" = "$set" ] || continue
			[ "$s" != smp ] || [ "$ncpus" -ge 2 ] || continue
			echo "$name $kind $be $scale $tests"
		done
}

# failed_ids FILE: the IDs of the runner's "not ok N - ID" lines that are
# not known departures ("# TODO")
failed_ids() {
	grep -E '^not ok [0-9]+ - ' "$1" | grep -v '# TODO' |
		sed -E 's/^not ok [0-9]+ - ([^ ]+).*/\1/' | tr '\n' ' '
}

ran_ids() {
	grep -cE '^(not )?ok [0-9]+ - ' "$1"
}

unload_dune() {
	grep -qw '^dune' /proc/modules || return 0
	rmmod dune 2>/dev/null && return 0
	sleep 2
	rmmod dune
}

[ -r "$list" ] || { echo "Bail out! no $list"; exit 1; }
if [ "$ncpus" -lt 2 ] && [ "$set" != fast ] && awk -F'\t' '$3 == "smp"' "$list" | grep -q .; then
	echo "# the mutants of set smp are left out: their tests need 2 CPUs, this machine has $ncpus (the lab's SMP boot runs them)"
fi
total=$(sel | wc -l)
backends=$(sel | awk '{ n = split($3, b, ","); for (i = 1; i <= n; i++) print b[i] }' | sort -u)
nb=$(echo "$backends" | grep -c .)
echo "1..$((total + nb))"
unload_dune || { echo "Bail out! cannot unload the dune module before the self-test"; exit 1; }
out=/tmp/mutant.out

# control: per backend, every catching test passes on the normal build
for be in $backends; do
	ids=$(sel | awk -v be="$be" '"," $3 "," ~ "," be "," { for (i = 5; i <= NF; i++) print $i }' | sort -u)
	scale=$(sel | awk -v be="$be" '"," $3 "," ~ "," be "," { print $4 }' | sort -n | head -1)
	args=
	for id in $ids; do args="$args -t $id"; done
	lab-conform.sh "$be" -T "$scale" $args > $out 2>&1
	bad=$(failed_ids $out)
	if [ -z "$bad" ] && [ "$(ran_ids $out)" -gt 0 ] && ! grep -q '^Bail out!' $out; then
		tap ok "mutant.control.$be: the $(ran_ids $out) catching tests pass on the normal build (-T $scale)"
	else
		tap notok "mutant.control.$be: catching tests fail on the normal build" \
			"failed: ${bad:-none}; $(grep -m1 '^Bail out!' $out)"
		sed 's/^/#   /' $out | tail -20
	fi
	unload_dune
done

sel | while read -r name kind be scale tests; do
	args=
	for id in $tests; do args="$args -t $id"; done
	caught_all=1
	why=
	summary=
	for b in $(echo "$be" | tr ',' ' '); do
		case "$kind" in
		module)
			DUNE_KO=/mod/mutants/$name.ko lab-conform.sh "$b" -T "$scale" $args > $out 2>&1 ;;
		lib)
			DUNE_CONFORM=/bin/dune-conform-$name lab-conform.sh "$b" -T "$scale" $args > $out 2>&1 ;;
		*)
			echo "Bail out! $list: $name has kind '$kind'" > $out ;;
		esac
		if grep -q '^Bail out!' $out; then
			caught_all=0
			why="$why $b: $(grep -m1 '^Bail out!' $out)"
			continue
		fi
		bad=$(failed_ids $out)
		if [ -n "$bad" ]; then
			summary="$summary $b: caught by $bad"
		else
			caught_all=0
			why="$why $b: all $(ran_ids $out) of its tests passed ($tests)"
		fi
		if ! unload_dune; then
			why="$why (the mutant module would not unload)"
			caught_all=0
		fi
	done
	if [ $caught_all = 1 ]; then
		echo "ok - mutant.$name:$summary"
	else
		echo "not ok - mutant.$name # not caught:$why"
	fi
done > /tmp/mutant.tap
# renumber (the loop above ran in a subshell)
while read -r line; do
	case "$line" in
	"ok - "*) tap ok "${line#ok - }" ;;
	"not ok - "*) d=${line#not ok - }; tap notok "${d%% # *}" "${d#* # }" ;;
	esac
done < /tmp/mutant.tap
exit $rc
