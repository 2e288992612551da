// SPDX-License-Identifier: GPL-2.0
/*
 * Counters that tests can read, under /sys/kernel/debug/dune/:
 *
 *   vcpus_live     vCPUs that exist now
 *   vcpus_created  vCPUs created since the module was loaded
 *   exits          one line per VM-exit reason seen: "<number> <NAME> <count>",
 *                  plus "failed_entry <count>" (VM entries that failed)
 *   caps           the VMX capabilities the module found: "<name> <value>"
 *   ept_faults     EPT violations resolved by faulting the page in
 *   ept_maps_4k    4 KiB EPT leaves installed
 *   ept_maps_2m    2 MiB EPT leaves installed (host THP / hugetlb)
 *   ept_zaps       MMU-notifier invalidations that removed EPT leaves
 *   vcpu_migrations  vCPUs moved to another CPU (VMCLEAR there, VMPTRLD here)
 *   vcpus/<tgid>.<tid>.<file>.<handle>/   one directory per live vCPU
 *                  (<file>: a number unique to each open of /dev/dune):
 *       exits      as the global one, for this vCPU only, plus "runs <n>"
 *                  (DUNE_ENTER calls)
 *       last_exit  the last VM exit: "<field> <value>" lines (reason,
 *                  qualification, GPA/GLA, interruption info, the
 *                  VM-instruction error of a failed entry, guest control
 *                  registers, RIP/RSP as last read, ret/status)
 *       vmcs       VMCS snapshots on request (vmcs_dump.c)
 *
 * debugfs failures are not fatal: the module works without its counters.
 */
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <asm/vmx.h>

#include "dune_mod.h"
#include "vmx.h"
#include "vmx_caps.h"

struct dune_stats dune_stats;

static struct dentry *dune_debugfs_dir;
static struct dentry *dune_debugfs_vcpus;

struct exit_reason_name {
	u32 reason;
	const char *name;
};

static const struct exit_reason_name exit_reason_names[] = {
	VMX_EXIT_REASONS
};

static const char *exit_reason_name(u32 reason)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(exit_reason_names); i++)
		if (exit_reason_names[i].reason == reason)
			return exit_reason_names[i].name;
	return "UNKNOWN";
}

static int exits_show(struct seq_file *m, void *unused)
{
	u32 reason;
	s64 n;

	for (reason = 0; reason < DUNE_EXIT_REASON_MAX; reason++) {
		n = dune_vmx_exit_count(reason);
		if (n)
			seq_printf(m, "%u %s %lld\n", reason,
				   exit_reason_name(reason), n);
	}
	seq_printf(m, "failed_entry %lld\n",
		   (s64)dune_vmx_exit_count(DUNE_EXIT_REASON_MAX));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(exits);

static int caps_show(struct seq_file *m, void *unused)
{
	vmx_caps_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(caps);

static int vcpu_exits_show(struct seq_file *m, void *unused)
{
	const struct dune_vcpu *v = m->private;
	u32 reason;
	u64 n;

	for (reason = 0; reason < DUNE_EXIT_REASON_MAX; reason++) {
		n = READ_ONCE(v->exit_counts[reason]);
		if (n)
			seq_printf(m, "%u %s %llu\n", reason,
				   exit_reason_name(reason), n);
	}
	seq_printf(m, "failed_entry %llu\n",
		   READ_ONCE(v->exit_counts[DUNE_EXIT_REASON_MAX]));
	seq_printf(m, "runs %llu\n", READ_ONCE(v->runs));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vcpu_exits);

/*
 * Read without stopping the vCPU: while it runs the values may be from
 * two different exits.  Meant for a look after a run stopped.
 */
static int vcpu_last_exit_show(struct seq_file *m, void *unused)
{
	const struct dune_vcpu *v = m->private;
	const struct dune_exit_info *e = &v->exit;
	u32 reason = READ_ONCE(e->reason);

	seq_printf(m, "reason %u\n", (u16)reason);
	seq_printf(m, "reason_name %s\n", exit_reason_name((u16)reason));
	seq_printf(m, "failed_entry %u\n",
		   !!(reason & VMX_EXIT_REASONS_FAILED_VMENTRY));
	seq_printf(m, "insn_error %u\n", e->insn_error);
	seq_printf(m, "qualification 0x%llx\n", e->qual);
	seq_printf(m, "intr_info 0x%x\n", e->intr_info);
	seq_printf(m, "insn_len %u\n", e->insn_len);
	seq_printf(m, "gpa 0x%llx\n", e->gpa);
	seq_printf(m, "gla 0x%llx\n", e->gla);
	seq_printf(m, "cr0 0x%llx\ncr3 0x%llx\ncr4 0x%llx\nefer 0x%llx\n",
		   e->cr0, e->cr3, e->cr4, e->efer);
	seq_printf(m, "interruptibility 0x%x\nactivity %u\n",
		   e->interruptibility, e->activity);
	seq_printf(m, "rip 0x%lx\nrsp 0x%lx\n", v->regs.ip, v->regs.sp);
	seq_printf(m, "ret %lld\nstatus %lld\n", v->ret, v->status);
	seq_printf(m, "cpu %d\n", READ_ONCE(v->cpu));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vcpu_last_exit);

/* Called once @v has its handle; failures only lose the view. */
void dune_stats_vcpu_add(struct dune_vcpu *v)
{
	char name[48];

	if (IS_ERR_OR_NULL(dune_debugfs_vcpus))
		return;
	snprintf(name, sizeof(name), "%d.%d.%llu.%llu", task_tgid_nr(v->task),
		 task_pid_nr(v->task), v->file_id, v->handle);
	v->dbg = debugfs_create_dir(name, dune_debugfs_vcpus);
	debugfs_create_file("exits", 0444, v->dbg, v, &vcpu_exits_fops);
	debugfs_create_file("last_exit", 0444, v->dbg, v,
			    &vcpu_last_exit_fops);
	dune_vmcs_snap_add(v);
}

/* Waits for readers of the files to finish (debugfs removal). */
void dune_stats_vcpu_remove(struct dune_vcpu *v)
{
	debugfs_remove_recursive(v->dbg);
	v->dbg = NULL;
	dune_vmcs_snap_free(v);
}

void dune_stats_init(void)
{
	dune_debugfs_dir = debugfs_create_dir("dune", NULL);
	debugfs_create_atomic_t("vcpus_live", 0444, dune_debugfs_dir,
				&dune_stats.vcpus_live);
	debugfs_create_atomic_t("vcpus_created", 0444, dune_debugfs_dir,
				&dune_stats.vcpus_created);
	debugfs_create_atomic_t("ept_faults", 0444, dune_debugfs_dir,
				&dune_stats.ept_faults);
	debugfs_create_atomic_t("ept_maps_4k", 0444, dune_debugfs_dir,
				&dune_stats.ept_maps_4k);
	debugfs_create_atomic_t("ept_maps_2m", 0444, dune_debugfs_dir,
				&dune_stats.ept_maps_2m);
	debugfs_create_atomic_t("ept_zaps", 0444, dune_debugfs_dir,
				&dune_stats.ept_zaps);
	debugfs_create_atomic_t("vcpu_migrations", 0444, dune_debugfs_dir,
				&dune_stats.vcpu_migrations);
	debugfs_create_file("exits", 0444, dune_debugfs_dir, NULL,
			    &exits_fops);
	debugfs_create_file("caps", 0444, dune_debugfs_dir, NULL,
			    &caps_fops);
	dune_debugfs_vcpus = debugfs_create_dir("vcpus", dune_debugfs_dir);
}

void dune_stats_exit(void)
{
	debugfs_remove_recursive(dune_debugfs_dir);
	dune_debugfs_dir = NULL;
	dune_debugfs_vcpus = NULL;
}
