#!/bin/bash
# install_check.sh MAKE DIR - `make install` into a temporary prefix, then
# build programs from the installed copy with pkg-config: a C program in
# the style of the original test/hello (static and shared), and the header
# in C++.  Prints TAP.
set -u
MAKE=${1:-make}
DIR=${2:-/tmp/libdune-install-check}
HERE=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$DIR" && mkdir -p "$DIR"
PREFIX=$DIR/prefix
n=0 fail=0
t() {	# description, command...
	local d=$1; shift
	n=$((n + 1))
	if "$@" >"$DIR/log.$n" 2>&1; then echo "ok $n - $d"
	else echo "not ok $n - $d"; sed 's/^/# /' "$DIR/log.$n"; fail=1; fi
}
echo "1..6"
t "make install PREFIX=... DESTDIR=" $MAKE -s -C "$HERE" install PREFIX="$PREFIX"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
t "pkg-config --cflags --libs libdune" pkg-config --cflags --libs libdune
cat > "$DIR/hello.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <dune/dune.h>

static void recover(void) { printf("hello: recovered\n"); exit(0); }
static void divide_by_zero_handler(struct dune_tf *tf)
{
	dune_printf("hello: caught divide by zero!\n");
	dune_dump_trap_frame(tf);
	tf->rip = (uintptr_t)&recover;
}
int main(int argc, char **argv)
{
	volatile int ret;
	(void)argv;
	if (argc > 5) {		/* never at run time here: link only */
		ret = dune_init_and_enter();
		if (ret) return ret;
		dune_register_intr_handler(T_DIVIDE, divide_by_zero_handler);
		ret = 1 / (argc - 6);
	}
	printf("%s\n", dune_backend_name() ? "?" : "linked");
	return 0;
}
C
t "build a program with pkg-config (shared)" sh -c "cc -std=gnu11 -Wall -Werror \$(pkg-config --cflags libdune) -o '$DIR/hello' '$DIR/hello.c' \$(pkg-config --libs libdune) -Wl,-rpath,'$PREFIX/lib'"
t "it runs against the installed libdune.so.1" sh -c "'$DIR/hello' | grep -qx linked && readelf -d '$DIR/hello' | grep -q 'libdune.so.1'"
t "build it statically (pkg-config --static)" sh -c "cc -std=gnu11 -Wall -Werror -static \$(pkg-config --cflags libdune) -o '$DIR/hello-static' '$DIR/hello.c' \$(pkg-config --static --libs libdune) && '$DIR/hello-static' | grep -qx linked"
printf '#include <dune/dune.h>\nint main() { struct dune_tf tf{}; return (int)sizeof(tf) - 168; }\n' > "$DIR/hdr.cc"
t "dune.h compiles as C++ (-Wall -Wextra -Werror)" sh -c "c++ -std=gnu++17 -Wall -Wextra -Werror \$(pkg-config --cflags libdune) -o '$DIR/hdr' '$DIR/hdr.cc' && '$DIR/hdr'"
exit $fail
