// SPDX-License-Identifier: MIT
/*
 * fault.c - a sandbox test program that does something Linux kills it for:
 *   segv   write to an unmapped address          (SIGSEGV)
 *   jump   jump to an unmapped address           (SIGSEGV)
 *   hlt    a privileged instruction in ring 3    (SIGSEGV)
 *   ud2    an invalid instruction                (SIGILL)
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	printf("fault: %s\n", m);
	fflush(stdout);
	if (!strcmp(m, "segv")) {
		volatile int *bad;

		__asm__ volatile("mov $0x10, %0" : "=r"(bad));	/* hidden from the compiler */
		*bad = 1;
	}
	else if (!strcmp(m, "jump"))
		((void (*)(void))0xdead0000UL)();
	else if (!strcmp(m, "hlt"))
		__asm__ volatile("hlt");
	else if (!strcmp(m, "ud2"))
		__asm__ volatile("ud2");
	printf("still here\n");
	return 0;
}
