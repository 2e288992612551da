#!/bin/sh
# lab-sandbox.sh BACKEND TEST - one dune-sandbox test in the VMX lab guest,
# printing one TAP line.  BACKEND is vmx (loads /mod/dune.ko) or kvm (loads
# Debian's kvm modules).  Most tests run a program natively and under
# dune-sandbox and compare stdout, stderr and the exit status byte for byte.
backend=$1
t=$2
SB=${DUNE_SANDBOX:-/bin/dune-sandbox}
W=/tmp/sbt.$$
mkdir -p $W
trap 'rm -rf $W' EXIT

expect() {	# NAME CONDITION-DESCRIPTION: judged on $? of the previous command
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "not ok - $1"; fi
}

# The modules are loaded by the first test that needs them and unloaded by
# the 'unload' step if a sandbox test loaded them (the lab's other tests
# expect to load them themselves).
vendor=intel
grep -qw svm /proc/cpuinfo && vendor=amd
if [ "$t" = unload ]; then
	if [ "$backend" = vmx ] && [ -f /tmp/sandbox-loaded-dune ]; then
		rmmod dune && rm -f /tmp/sandbox-loaded-dune
	elif [ "$backend" = kvm ] && [ -f /tmp/sandbox-loaded-kvm ]; then
		rmmod kvm_$vendor && rmmod kvm && rmmod irqbypass && rm -f /tmp/sandbox-loaded-kvm
	fi
	expect "$t: the modules the sandbox tests loaded are unloaded" $?
	exit 0
fi
case "$backend" in
vmx)
	if ! grep -qw '^dune' /proc/modules; then
		insmod /mod/dune.ko guest_slice_us=200 ||
			{ echo "not ok - $t: insmod /mod/dune.ko failed"; exit 1; }
		touch /tmp/sandbox-loaded-dune
	fi
	[ -c /dev/dune ] || mknod /dev/dune c 10 233 ;;
kvm)
	if ! grep -q '^kvm_intel \|^kvm_amd ' /proc/modules; then
		/bin/lab-kvm-up || { echo "not ok - $t: loading kvm failed"; exit 1; }
		touch /tmp/sandbox-loaded-kvm
	fi ;;
*)
	echo "not ok - $t: backend must be vmx or kvm, not '$backend'"; exit 1 ;;
esac
if [ "$t" = load ]; then
	echo "ok - $t: $backend ready"
	exit 0
fi
export DUNE_BACKEND=$backend

show() {	# FILE LABEL: the first lines of a file as TAP comments
	head -c 2000 "$1" | head -15 | sed "s/^/# $2: /"
}

# same NAME [-i INPUT] [-o SBOPTS] -- CMD...: native and sandboxed runs agree
same() {
	name=$1; shift
	in=/dev/null opts=
	while [ "$1" != -- ]; do
		case "$1" in
		-i) in=$2; shift 2 ;;
		-o) opts=$2; shift 2 ;;
		*) echo "not ok - $name: bad test '$1'"; return ;;
		esac
	done
	shift
	"$@" < "$in" > $W/n.out 2> $W/n.err; nrc=$?
	# shellcheck disable=SC2086
	$SB $opts -- "$@" < "$in" > $W/s.out 2> $W/s.err; src=$?
	why=
	cmp -s $W/n.out $W/s.out || why="$why stdout differs;"
	cmp -s $W/n.err $W/s.err || why="$why stderr differs;"
	[ $nrc = $src ] || why="$why exit status $src, natively $nrc;"
	if [ -z "$why" ]; then
		echo "ok - $name: stdout ($(wc -c < $W/n.out) bytes), stderr and exit status $nrc as native"
	else
		echo "not ok - $name:$why"
		show $W/n.out native.out; show $W/s.out sandbox.out
		show $W/n.err native.err; show $W/s.err sandbox.err
		# shellcheck disable=SC2086
		$SB --trace-file $W/trace $opts -- "$@" < "$in" > /dev/null 2>&1
		tail -20 $W/trace | sed 's/^/# trace: /'
	fi
}

# The kernel's report of a native program killed by a #GP ("traps: ...
# general protection fault ...") reads like an oops to the lab's checks:
# the fault tests turn it off (debug.exception-trace) while they run.
quiet_traps() {
	if [ -w /proc/sys/debug/exception-trace ]; then
		old_trace=$(cat /proc/sys/debug/exception-trace)
		echo 0 > /proc/sys/debug/exception-trace
	fi
}
loud_traps() {
	[ -z "${old_trace:-}" ] || echo "$old_trace" > /proc/sys/debug/exception-trace
}

# killed NAME CMD...: the program dies; the exit status is the native one,
# stdout the same, and stderr one line from dune-sandbox before the native one
killed() {
	name=$1; shift
	quiet_traps
	"$@" > $W/n.out 2> $W/n.err; nrc=$?
	$SB -- "$@" > $W/s.out 2> $W/s.err; src=$?
	loud_traps
	why=
	cmp -s $W/n.out $W/s.out || why="$why stdout differs;"
	[ $nrc = $src ] || why="$why exit status $src, natively $nrc;"
	# the shell's own report ("Segmentation fault") follows in both
	head -1 $W/s.err | grep -q '^dune-sandbox: .*killed by SIG' && tail -n +2 $W/s.err | cmp -s - $W/n.err ||
		why="$why stderr is not a 'dune-sandbox: ... killed by SIG...' line and the native stderr;"
	if [ -z "$why" ]; then
		echo "ok - $name: exit status $nrc as native; $(head -1 $W/s.err)"
	else
		echo "not ok - $name:$why"
		show $W/s.out sandbox.out; show $W/s.err sandbox.err
	fi
}

# refused NAME WORDS -- CMD...: dune-sandbox refuses, with a non-zero exit status
# and one line on stderr containing WORDS
refused() {
	name=$1 words=$2; shift 3
	$SB -- "$@" > $W/s.out 2> $W/s.err; src=$?
	why=
	[ $src != 0 ] || why="$why exit status 0;"
	[ ! -s $W/s.out ] || why="$why output on stdout;"
	[ "$(wc -l < $W/s.err)" = 1 ] && grep -q "^dune-sandbox: .*$words" $W/s.err ||
		why="$why stderr is not one 'dune-sandbox: ...$words...' line;"
	if [ -z "$why" ]; then
		echo "ok - $name: exit status $src; $(cat $W/s.err)"
	else
		echo "not ok - $name:$why"
		show $W/s.out sandbox.out; show $W/s.err sandbox.err
	fi
}


export SBT_VAR=value
case "$t" in
static_hello) same "$t" -- /bin/sbt-hello-static a 'b c' ;;
static_pie) same "$t" -- /bin/sbt-hello-spie a 'b c' ;;
dynamic_hello) same "$t" -- /bin/sbt-hello-dyn a 'b c' ;;
pie) same "$t" -- /bin/sbt-hello-pie a 'b c' ;;
memory) same "$t" -- /bin/sbt-mem ;;
memory_pie) same "$t" -- /bin/sbt-mem-pie ;;
big_pages) same "$t" -o --big-pages -- /bin/sbt-mem ;;
busybox) same "$t" -- /bin/busybox ls /lab ;;
debian_true) same "$t" -- /bin/true ;;
debian_echo) same "$t" -- /bin/echo hello from Debian ;;
debian_gzip)
	# 64 KiB: the emulated machine is slow
	head -c 65536 /bin/busybox > $W/in
	same "$t" -- /usr/bin/gzip -c -n -6 $W/in
	/usr/bin/gzip -c -n $W/in > $W/in.gz
	same "${t}_decompress" -i $W/in.gz -- /usr/bin/gzip -dc ;;
python3) same "$t" -- /usr/bin/python3 -c 'print(1)' ;;
fork_exec) same "$t" -- /bin/sbt-forkexec ;;
threads) same "$t" -- /bin/sbt-threads ;;
threads_static) same "$t" -- /bin/sbt-threads-static ;;
signals) same "$t" -- /bin/sbt-signals ;;
sigpipe) same "$t" -- /bin/sbt-signals sigpipe ;;
signals_other) same "$t" -- /bin/sbt-signals other ;;
signals_abort) same "$t" -- /bin/sbt-signals abort ;;
fault_segv) killed "$t" /bin/sbt-fault segv ;;
fault_jump) killed "$t" /bin/sbt-fault jump ;;
fault_hlt) killed "$t" /bin/sbt-fault hlt ;;
fault_ud2) killed "$t" /bin/sbt-fault ud2 ;;
bad_truncated) refused "$t" 'truncated' -- /bin/sbt-bad-truncated ;;
bad_arch) refused "$t" 'wrong architecture' -- /bin/sbt-bad-arch ;;
bad_huge) refused "$t" 'fit' -- /bin/sbt-bad-huge ;;
bad_interp) refused "$t" 'interpreter' -- /bin/sbt-bad-interp ;;
bad_missing) refused "$t" 'No such file' -- /bin/sbt-does-not-exist ;;
trace)
	/bin/sbt-hello-static > $W/n.out 2>/dev/null
	$SB --trace -- /bin/sbt-hello-static > $W/s.out 2> $W/s.err; rc=$?
	why=
	cmp -s $W/n.out $W/s.out || why="$why stdout differs;"
	[ $rc = 3 ] || why="$why exit status $rc;"
	grep -q '^write(1, "hello from /bin/sbt-hello-[a-z]*"\.\.\., [0-9]*) = [0-9]*$' $W/s.err ||
		why="$why no write(1, \"hello...\") line;"
	grep -q '^exit_group(3) = ?$' $W/s.err || why="$why no exit_group(3) line;"
	grep -q '^write(2, "to stderr\\n", 10) = 10$' $W/s.err || why="$why no write(2, ...) line;"
	if [ -z "$why" ]; then echo "ok - $t: $(wc -l < $W/s.err) lines of trace"
	else echo "not ok - $t:$why"; show $W/s.err trace; fi ;;
trace_file)
	$SB --trace-file $W/trace -- /bin/echo hi > $W/s.out 2> $W/s.err; rc=$?
	why=
	[ "$(cat $W/s.out)" = hi ] && [ ! -s $W/s.err ] && [ $rc = 0 ] || why="$why output or status differ;"
	grep -q '^openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libc.so.6", 0x80000, 0) = [0-9]*$' $W/trace ||
		why="$why no openat of libc in the trace;"
	grep -q '^dune-sandbox: rseq: not supported by dune-sandbox: ENOSYS$' $W/trace ||
		why="$why no note for the unsupported rseq;"
	if [ -z "$why" ]; then echo "ok - $t: $(wc -l < $W/trace) lines in the file"
	else echo "not ok - $t:$why"; show $W/trace trace; fi ;;
policy_deny)
	printf '# no /etc\npath deny /etc\n' > $W/p
	$SB --policy $W/p -- /bin/busybox cat /etc/passwd > $W/s.out 2> $W/s.err; rc=$?
	[ $rc = 1 ] && [ "$(cat $W/s.err)" = "cat: can't open '/etc/passwd': Operation not permitted" ]
	expect "$t: path deny gives EPERM (exit $rc: $(cat $W/s.err))" $? ;;
policy_kill)
	printf 'allow write\nkill uname\n' > $W/p
	$SB --policy $W/p -- /bin/busybox uname > $W/s.out 2> $W/s.err; rc=$?
	[ $rc = 159 ] && grep -q '^dune-sandbox: .*uname not allowed: killed$' $W/s.err
	expect "$t: kill rule ends the program with SIGSYS (exit $rc: $(cat $W/s.err))" $? ;;
policy_error)
	printf 'allow write\n\nfrobnicate x\n' > $W/p
	$SB --policy $W/p -- /bin/true > $W/s.out 2> $W/s.err; rc=$?
	[ $rc = 2 ] && [ "$(cat $W/s.err)" = "dune-sandbox: $W/p:3: expected allow, deny, kill, default, path or network, got 'frobnicate'" ]
	expect "$t: parse error names file and line (exit $rc: $(cat $W/s.err))" $? ;;
*) echo "not ok - $t: no such sandbox test" ;;
esac
