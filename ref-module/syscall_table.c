// SPDX-License-Identifier: GPL-2.0
/*
 * Finding the host system call table.
 *
 * Why this file exists: the ABI (docs/abi.md section 4) says the module
 * itself runs the system call a guest asks for with VMCALL.  Linux 6.1
 * gives a module no way to do that: sys_call_table is not exported,
 * kallsyms_lookup_name() has not been exported since 5.7, and the
 * x64_sys_call() dispatcher only appeared in 6.9 (and is not exported
 * either).  The original Dune read the table's address from System.map
 * at build time, which breaks under KASLR and when System.map is not
 * readable.
 *
 * Kprobes still resolve symbol names for their users: registering a
 * kprobe with .symbol_name fills in .addr.  We use that once, at module
 * load, to learn where kallsyms_lookup_name() is, ask it for
 * sys_call_table, check the answer against a second symbol, and
 * unregister the probe.  Nothing else in the module looks symbols up.
 * Without kprobes, or if the check fails, hypercalls return -ENOSYS.
 *
 * Since 4.17 the table's entries take a struct pt_regs (the x86-64
 * syscall wrappers), which hypercall.c builds from the guest registers.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/nospec.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "vmx.h"

const sys_call_ptr_t *dune_sys_call_table __read_mostly;

#ifdef CONFIG_KPROBES
typedef unsigned long (*kallsyms_lookup_name_t)(const char *name);

static kallsyms_lookup_name_t find_kallsyms_lookup_name(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	void *addr;

	/* register_kprobe() resolves .addr before its other checks */
	if (register_kprobe(&kp) == 0)
		unregister_kprobe(&kp);
	addr = kp.addr;
	return (kallsyms_lookup_name_t)addr;
}

int dune_syscall_table_init(void)
{
	kallsyms_lookup_name_t lookup = find_kallsyms_lookup_name();
	const sys_call_ptr_t *table;
	unsigned long getpid;

	if (!lookup) {
		pr_warn("dune: cannot resolve kallsyms_lookup_name through kprobes; hypercalls return -ENOSYS\n");
		return -ENOENT;
	}
	table = (const sys_call_ptr_t *)lookup("sys_call_table");
	getpid = lookup("__x64_sys_getpid");
	if (!table || !getpid || (unsigned long)table[__NR_getpid] != getpid) {
		pr_warn("dune: sys_call_table not found or not as expected; hypercalls return -ENOSYS\n");
		return -ENOENT;
	}
	dune_sys_call_table = table;
	return 0;
}
#else
int dune_syscall_table_init(void)
{
	pr_warn("dune: kernel without kprobes, cannot find sys_call_table; hypercalls return -ENOSYS\n");
	return -ENOENT;
}
#endif

bool dune_syscall_available(void)
{
	return dune_sys_call_table;
}
