#!/bin/sh
# lab-macro.sh BACKEND TEST - one macro smoke test in the VMX lab guest,
# printing one TAP line (and comments).  BACKEND: vmx (our dune.ko) or kvm
# (Debian's kvm with kvm_intel or kvm_amd, by CPU vendor).  TEST:
#   mcf-like, gzip, sqlite3  the workload on its small input (/macro/NAME.*,
#                 written by macro/tests/lab-prepare) natively, its output
#                 checked, then under dune-sandbox: the same stdout and status
#   lighttpd      lighttpd on 127.0.0.1 natively and under dune-sandbox, a
#                 body compared with the file and a 2 s wrk run each
#   path          ticks per getpid and per 1-byte read: Linux, a seccomp
#                 user-notification supervisor, and the Dune sandbox
backend=$1
t=$2
SB=${DUNE_SANDBOX:-/bin/dune-sandbox}
W=/tmp/macro.$$
mkdir -p $W
trap 'rm -rf $W' EXIT

case "$backend" in
vmx)
	grep -qw '^dune' /proc/modules || insmod /mod/dune.ko guest_slice_us=200 ||
		{ echo "not ok - $t: insmod /mod/dune.ko failed"; exit 1; }
	[ -c /dev/dune ] || mknod /dev/dune c 10 233 ;;
kvm)
	if ! [ -c /dev/kvm ]; then
		vendor=intel
		grep -qw svm /proc/cpuinfo && vendor=amd
		{ grep -qw '^irqbypass' /proc/modules || insmod /mod/irqbypass.ko; } &&
		{ grep -qw '^kvm' /proc/modules || insmod /mod/kvm.ko; } &&
		insmod /mod/kvm-$vendor.ko && [ -c /dev/kvm ] ||
			{ echo "not ok - $t: loading kvm-$vendor failed"; exit 1; }
	fi ;;
*)
	echo "not ok - $t: backend must be vmx or kvm, not '$backend'"; exit 1 ;;
esac
export DUNE_BACKEND=$backend

show() {	# FILE LABEL
	head -c 1500 "$1" | head -10 | sed "s/^/# $2: /"
}

# check FILE: the output check of /macro/$t.check; prints what failed
check() {
	out=$1 input=
	while read -r kind rest; do
		case "$kind" in
		input) input=$rest ;;
		esac
	done < /macro/$t.check
	while read -r kind rest; do
		case "$kind" in
		sha256)
			got=$(sha256sum < "$out" | cut -d' ' -f1)
			[ "$got" = "$rest" ] || echo "sha256 $got, recorded $rest" ;;
		line)
			grep -qxF "$rest" "$out" || echo "no line '$rest'" ;;
		roundtrip)
			# shellcheck disable=SC2086
			$rest < "$out" > $W/back 2>/dev/null && cmp -s $W/back "$input" ||
				echo "'$rest' does not give back $input" ;;
		esac
	done < /macro/$t.check
}

workload() {
	[ -f /macro/$t.argv ] || { echo "not ok - $t: no /macro/$t.argv"; return; }
	# shellcheck disable=SC2046
	set -- $(cat /macro/$t.argv)
	in=$(cat /macro/$t.stdin)
	# the native run once per boot: the other backend's test compares with it
	N=/tmp/macro-native
	mkdir -p $N
	if [ -f $N/$t.rc ]; then
		cp $N/$t.out $W/n.out; cp $N/$t.err $W/n.err; nrc=$(cat $N/$t.rc)
	else
		"$@" < "$in" > $W/n.out 2> $W/n.err; nrc=$?
	fi
	bad=$(check $W/n.out)
	[ $nrc = 0 ] && [ -z "$bad" ] && cp $W/n.out $W/n.err $N/ 2>/dev/null &&
		mv $N/n.out $N/$t.out && mv $N/n.err $N/$t.err && echo $nrc > $N/$t.rc
	if [ $nrc != 0 ] || [ -n "$bad" ]; then
		echo "not ok - $t ($backend): the native run: exit $nrc; $bad"
		show $W/n.err native.err
		return
	fi
	$SB -- "$@" < "$in" > $W/s.out 2> $W/s.err; src=$?
	why=
	cmp -s $W/n.out $W/s.out || why="$why stdout differs from native;"
	[ $nrc = $src ] || why="$why exit status $src, natively $nrc;"
	if [ -z "$why" ]; then
		echo "ok - $t ($backend): output ($(wc -c < $W/n.out) bytes) checked ($(cut -d' ' -f1 /macro/$t.check | grep -v input | tr '\n' ' ' | sed 's/ $//')), the same natively and sandboxed"
	else
		echo "not ok - $t ($backend):$why"
		show $W/s.out sandbox.out
		show $W/s.err sandbox.err
	fi
}

# serve LABEL PREFIX...: lighttpd under PREFIX on 127.0.0.1:8080; a body
# compared with the file, then wrk; prints "LABEL RPS P50" or "FAIL ..."
# (bounded: at most 30 tries to fetch, wrk by -d and --timeout; busybox wget -T
# crashes, so a server that accepts and never answers is left to the test limit)
serve() {
	label=$1; shift
	"$@" /usr/sbin/lighttpd -D -f $W/lighttpd.conf > $W/$label.log 2>&1 &
	pid=$!
	i=0
	until wget -q -O $W/body http://127.0.0.1:8080/file-1k.html 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 30 ] || ! kill -0 $pid 2>/dev/null; then
			echo "FAIL $label: lighttpd is not serving after $i tries: $(tail -c 300 $W/$label.log | tr '\n' ' ')"
			kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
			return
		fi
		sleep 1
	done
	if ! cmp -s $W/body $W/www/file-1k.html; then
		echo "FAIL $label: the body differs from the file"
	else
		wrk -t1 -c4 -d2s --timeout 5s --latency http://127.0.0.1:8080/file-1k.html > $W/wrk.out 2>&1
		rps=$(sed -n 's/^Requests\/sec: *//p' $W/wrk.out)
		p50=$(sed -n 's/^ *50% *//p' $W/wrk.out)
		if [ -n "$rps" ] && ! grep -q 'Non-2xx' $W/wrk.out; then
			echo "$label $rps $p50"
		else
			echo "FAIL $label: wrk: $(tail -3 $W/wrk.out | tr '\n' ' ')"
		fi
	fi
	kill $pid 2>/dev/null
	sleep 1
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
}

# On the Intel boot (Bochs' corei7_skylake_x) with the TSC as the guest's
# clocksource, a wrk run against lighttpd crawls: the guest's clock advances
# a fraction of a second in minutes of emulation, so neither wrk's 2 s nor
# any timeout ends.  With the HPET as clocksource it runs as on the AMD
# boot.  The test switches to the HPET for its run and back after.
CS=/sys/devices/system/clocksource/clocksource0
cs_old=
clocksource_for_wrk() {
	grep -qw svm /proc/cpuinfo && return
	cur=$(cat $CS/current_clocksource 2>/dev/null)
	[ "$cur" = hpet ] && return
	grep -qw hpet $CS/available_clocksource 2>/dev/null || return
	echo hpet > $CS/current_clocksource && cs_old=$cur &&
		echo "# clocksource $cur -> hpet for wrk (the TSC clocksource stalls this boot's wrk runs)"
}
clocksource_back() {
	[ -z "$cs_old" ] || echo "$cs_old" > $CS/current_clocksource
}

lighttpd_test() {
	clocksource_for_wrk
	ip link set lo up 2>/dev/null
	ifconfig lo 127.0.0.1 up 2>/dev/null
	mkdir -p $W/www
	yes 'dunebench lighttpd 1 KB static file.' | head -c 1023 > $W/www/file-1k.html
	echo >> $W/www/file-1k.html
	cat > $W/lighttpd.conf <<CONF
server.document-root = "$W/www"
server.bind = "127.0.0.1"
server.port = 8080
server.max-worker = 0
server.errorlog = "$W/error.log"
server.upload-dirs = ( "$W" )
server.max-keep-alive-requests = 1000000
mimetype.assign = (".html" => "text/html")
CONF
	n=$(serve native)
	echo "# native: $n"
	s=$(serve sandbox $SB --)
	echo "# sandbox: $s"
	case "$n$s" in
	*FAIL*)
		echo "not ok - lighttpd ($backend): $n; $s"
		[ -f $W/error.log ] && show $W/error.log error.log ;;
	*)
		set -- $n $s
		echo "ok - lighttpd ($backend): 1 KB body as the file, natively $2 requests/s (p50 $3), sandboxed $5 requests/s (p50 $6) (2 s wrk, 4 connections; emulated: not speed)" ;;
	esac
	clocksource_back
}

path_test() {
	syscall-path plain > $W/linux.txt 2>&1 &&
	syscall-path seccomp > $W/seccomp.txt 2>&1 &&
	$SB -- /bin/syscall-path plain > $W/sandbox.txt 2>&1
	rc=$?
	for f in linux seccomp sandbox; do
		[ -f $W/$f.txt ] && sed "s/^/# $f: /" $W/$f.txt
	done
	if [ $rc = 0 ]; then
		g() { awk -v k="$1" '$1 == k { print $3 }' $W/$2.txt; }
		echo "ok - path ($backend): ticks per getpid: Linux $(g getpid linux), seccomp-notify $(g getpid seccomp), Dune sandbox $(g getpid sandbox); per 1-byte read: Linux $(g read1 linux), seccomp-notify $(g read1 seccomp), Dune sandbox $(g read1 sandbox)"
	else
		echo "not ok - path ($backend): exit status $rc"
	fi
}

case "$t" in
mcf-like|gzip|sqlite3) workload ;;
lighttpd) lighttpd_test ;;
path) path_test ;;
*) echo "not ok - $t: unknown test" ;;
esac
