// SPDX-License-Identifier: MIT
/*
 * bx_poweroff - end the Bochs emulator from inside the lab guest.
 *
 * Bochs leaves its run loop when the string "Shutdown" is written, byte by
 * byte, to I/O port 0x8900.  The lab's /init calls this after the tests so
 * the emulator exits at once instead of idling until the host's timeout.
 */
#include <stdio.h>
#include <sys/io.h>

#define BX_SHUTDOWN_PORT 0x8900

int main(void)
{
	static const char cmd[] = "Shutdown";

	if (ioperm(BX_SHUTDOWN_PORT, 1, 1) < 0) {
		perror("bx_poweroff: ioperm(0x8900)");
		return 1;
	}
	for (const char *p = cmd; *p; p++)
		outb((unsigned char)*p, BX_SHUTDOWN_PORT);
	fprintf(stderr, "bx_poweroff: emulator did not stop\n");
	return 1;
}
