// SPDX-License-Identifier: MIT
/*
 * bx_poweroff - end the Bochs emulator from inside the lab guest.
 *
 * Bochs leaves its run loop when the string "Shutdown" is written, byte by
 * byte, to I/O port 0x8900.  The lab's /init calls this after the tests so
 * the emulator exits at once instead of idling until the host's timeout.
 * It first waits for the console to drain: what /init wrote last (the
 * dmesg dump, "@@LAB end") may still be queued for the emulated UART, and
 * an emulator stopped before it is sent loses it (the host then takes the
 * boot for one that died before it finished).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#define BX_SHUTDOWN_PORT 0x8900

int main(void)
{
	static const char cmd[] = "Shutdown";
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);

	if (fd >= 0) {
		tcdrain(fd);
		close(fd);
	}
	tcdrain(STDOUT_FILENO);		/* fails harmlessly if not a tty */
	if (ioperm(BX_SHUTDOWN_PORT, 1, 1) < 0) {
		perror("bx_poweroff: ioperm(0x8900)");
		return 1;
	}
	for (const char *p = cmd; *p; p++)
		outb((unsigned char)*p, BX_SHUTDOWN_PORT);
	fprintf(stderr, "bx_poweroff: emulator did not stop\n");
	return 1;
}
