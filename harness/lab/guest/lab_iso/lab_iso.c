// SPDX-License-Identifier: GPL-2.0
/*
 * lab_iso.c - break the VMX lab's kernel on purpose, for the self-test of
 * the lab's isolation of tests (harness/lab/selftest-iso.list): a test that
 * oopses or hangs the kernel must fail alone, and the tests after it must
 * still run, in a fresh boot.
 *
 *   insmod lab_iso.ko mode=bug    BUG() while loading: a kernel oops
 *   insmod lab_iso.ko mode=spin   spin forever with interrupts off: the
 *                                 (single-CPU) guest hangs, silently
 *
 * Never load it anywhere but in the lab.
 */
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

static char *mode = "";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "bug: BUG() at load; spin: hang the CPU with interrupts off");

static int __init lab_iso_init(void)
{
	if (!strcmp(mode, "bug")) {
		pr_info("lab_iso: BUG() on purpose\n");
		BUG();
	}
	if (!strcmp(mode, "spin")) {
		pr_info("lab_iso: hanging this CPU on purpose\n");
		local_irq_disable();
		for (;;)
			cpu_relax();
	}
	pr_err("lab_iso: mode must be bug or spin, not '%s'\n", mode);
	return -EINVAL;
}
module_init(lab_iso_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Breaks the lab kernel on purpose (lab self-test)");
