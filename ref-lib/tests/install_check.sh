#!/bin/bash
# install_check.sh MAKE DIR - `make install` into a temporary prefix, then
# build programs from the installed copy with pkg-config: a C program in
# the style of the original test/hello (static and shared), the headers in
# C and C++ with -pedantic, and tests/compat_original.c, a program written
# for the original's include paths ("libdune/dune.h", ...), unchanged.
# Prints TAP.
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
echo "1..13"
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

# -pedantic, strict ISO modes: the headers use only what they must of GNU C
# (asm, attributes), spelled so that -pedantic accepts it.
PED="-Wall -Wextra -Werror -pedantic"
printf '#include <dune/dune.h>\nint main(void) { return (int)sizeof(struct dune_tf) - 168; }\n' > "$DIR/ped.c"
cp "$DIR/ped.c" "$DIR/ped.cc"
t "dune/dune.h: $PED, C11 and C++11/17" sh -c "cc -std=c11 $PED \$(pkg-config --cflags libdune) -c -o /dev/null '$DIR/ped.c' && c++ -std=c++11 $PED \$(pkg-config --cflags libdune) -c -o /dev/null '$DIR/ped.cc' && c++ -std=c++17 $PED \$(pkg-config --cflags libdune) -c -o /dev/null '$DIR/ped.cc'"

# The original's include paths (the compatibility tree include/libdune/).
printf '#include "libdune/dune.h"\n#include "libdune/cpu-x86.h"\n#include "libdune/mmu-x86.h"\n#include "libdune/local.h"\n#include "libdune/mmu.h"\n#include "libdune/types.h"\n#include "libdune/fpu.h"\n#include "libdune/elf.h"\nint main(void) { return (int)(FL_IF + PGMASK + sizeof(bool_t)) - 0x200 - 0xfff - 4; }\n' > "$DIR/compat-hdr.c"
cp "$DIR/compat-hdr.c" "$DIR/compat-hdr.cc"
t "libdune/*.h (the original's paths) are installed" sh -c "cd '$PREFIX/include/libdune' && ls dune.h cpu-x86.h mmu-x86.h local.h mmu.h types.h fpu.h elf.h"
t "libdune/*.h: $PED, C11 (gnu11 and c11) and C++11/17" sh -c "for s in gnu11 c11; do cc -std=\$s $PED \$(pkg-config --cflags libdune) -c -o /dev/null '$DIR/compat-hdr.c' || exit 1; done; for s in c++11 gnu++17; do c++ -std=\$s $PED \$(pkg-config --cflags libdune) -c -o /dev/null '$DIR/compat-hdr.cc' || exit 1; done"
# A program written for the original, built unchanged from a copy outside
# the source tree (so only the installed headers can be found).
cp "$HERE/tests/compat_original.c" "$DIR/compat_original.c"
t "a program for the original's headers compiles unchanged (pkg-config only, $PED)" sh -c "cc -std=gnu11 $PED \$(pkg-config --cflags libdune) -o '$DIR/compat' '$DIR/compat_original.c' \$(pkg-config --libs libdune) -Wl,-rpath,'$PREFIX/lib'"
t "it runs natively: every name has the architectural value; procmap and ELF calls work" sh -c "'$DIR/compat'"
t "the same program statically (pkg-config --static)" sh -c "cc -std=gnu11 $PED -static \$(pkg-config --cflags libdune) -o '$DIR/compat-static' '$DIR/compat_original.c' \$(pkg-config --static --libs libdune) && '$DIR/compat-static'"
t "make install DESTDIR=... PREFIX=/usr/local stages both trees and a libdune.pc for /usr/local" sh -c "$MAKE -s -C '$HERE' install PREFIX=/usr/local DESTDIR='$DIR/stage' && test -f '$DIR/stage/usr/local/include/libdune/dune.h' && test -f '$DIR/stage/usr/local/include/dune/dune.h' && grep -qx 'prefix=/usr/local' '$DIR/stage/usr/local/lib/pkgconfig/libdune.pc'"
exit $fail
