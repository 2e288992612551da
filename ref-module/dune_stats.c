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
 *
 * debugfs failures are not fatal: the module works without its counters.
 */
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <asm/vmx.h>

#include "dune_mod.h"
#include "vmx_caps.h"

struct dune_stats dune_stats;

static struct dentry *dune_debugfs_dir;

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
}

void dune_stats_exit(void)
{
	debugfs_remove_recursive(dune_debugfs_dir);
	dune_debugfs_dir = NULL;
}
