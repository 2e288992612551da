// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/dune misc device: module load/unload, open,
 * release and ioctl dispatch.  The ABI is include/dune/abi.h
 * (project-dune/dune master, reproduced exactly).
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm_types.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "apic.h"
#include "dune_mod.h"
#include "vmx_caps.h"

static ushort mode = 0600;
module_param(mode, ushort, 0444);
MODULE_PARM_DESC(mode, "permission bits of /dev/dune (default 0600)");

static int dune_open(struct inode *inode, struct file *filp)
{
	struct dune_file *df;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	dune_file_init(df);
	filp->private_data = df;
	return 0;
}

static int dune_release(struct inode *inode, struct file *filp)
{
	struct dune_file *df = filp->private_data;

	/* Only this file's vCPUs go, unlike the original's global cleanup. */
	dune_trap_release(df);
	dune_file_destroy(df);
	kfree(df);
	return 0;
}

/*
 * DUNE_GET_LAYOUT: where the map and stack windows of the guest-physical
 * space point in the caller's address space (see abi.h).
 */
static long dune_get_layout(struct dune_layout __user *ulayout)
{
	struct dune_layout_ext ext;
	struct dune_layout layout;

	if (!current->mm)
		return -EINVAL;
	dune_layout_compute(current->mm, 0, &ext);
	layout.phys_limit = ext.phys_limit;
	layout.base_map = ext.base_map;
	layout.base_stack = ext.base_stack;
	if (copy_to_user(ulayout, &layout, sizeof(layout)))
		return -EFAULT;
	return 0;
}

/*
 * DUNE_LAYOUT_EXT (dunebench extension): choose the extra windows for the
 * vCPUs this file creates from now on, and report the resulting layout.
 */
static long dune_layout_ext(struct dune_file *df,
			    struct dune_layout_ext __user *uext)
{
	struct dune_layout_ext ext;
	u64 want;

	if (!current->mm)
		return -EINVAL;
	if (get_user(want, &uext->flags))
		return -EFAULT;
	if (want & ~(DUNE_LAYOUT_EXT_EXEC | DUNE_LAYOUT_EXT_VDSO))
		return -EINVAL;
	dune_layout_compute(current->mm, want, &ext);
	if (copy_to_user(uext, &ext, sizeof(ext)))
		return -EFAULT;
	mutex_lock(&df->lock);
	df->layout_ext = want;
	mutex_unlock(&df->lock);
	return 0;
}

/*
 * DUNE_GET_SYSCALL: the host's 64-bit SYSCALL entry (MSR_LSTAR), returned
 * as the ioctl's value like the original.  libdune maps its syscall
 * trampoline at this guest-virtual address.
 */
static long dune_get_syscall(void)
{
	u64 lstar;

	rdmsrl(MSR_LSTAR, lstar);
	return (long)lstar;
}

static long dune_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct dune_file *df = filp->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DUNE_ENTER:
		return dune_enter(df, uarg);
	case DUNE_GET_SYSCALL:
		return dune_get_syscall();
	case DUNE_GET_LAYOUT:
		return dune_get_layout(uarg);
	case DUNE_LAYOUT_EXT:
		return dune_layout_ext(df, uarg);
	case DUNE_TRAP_ENABLE:
		return dune_trap_enable(df, uarg);
	case DUNE_TRAP_DISABLE:
		return dune_trap_disable(df);
	case DUNE_APIC_INFO:
		return dune_apic_get_info(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dune_fops = {
	.owner		= THIS_MODULE,
	.open		= dune_open,
	.release	= dune_release,
	.unlocked_ioctl	= dune_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* Is @file an open /dev/dune? */
bool dune_file_is_dune(struct file *file)
{
	return file && file->f_op == &dune_fops;
}

static struct miscdevice dune_dev = {
	.minor	= DUNE_MINOR,
	.name	= "dune",
	.fops	= &dune_fops,
};

static int __init dune_init(void)
{
	int ret;

	ret = vmx_caps_init();
	if (ret)
		return ret;
	ret = dune_core_init();
	if (ret)
		return ret;
	dune_stats_init();
	dune_cov_init();
	dune_trap_init();
	dune_dev.mode = mode & 0777;
	ret = misc_register(&dune_dev);
	if (ret) {
		pr_err("dune: cannot register /dev/dune (minor %d): %d\n",
		       DUNE_MINOR, ret);
		goto err_stats;
	}
	pr_info("dune: /dev/dune ready (EPT A/D %s, 2M %s, 1G %s)\n",
		vmx_cap_ept_ad() ? "yes" : "no",
		vmx_cap_ept_2m() ? "yes" : "no",
		vmx_cap_ept_1g() ? "yes" : "no");
	return 0;

err_stats:
	dune_trap_exit();
	dune_cov_exit();
	dune_stats_exit();
	dune_core_exit();
	return ret;
}

static void __exit dune_exit(void)
{
	misc_deregister(&dune_dev);
	dune_trap_exit();
	dune_cov_exit();
	dune_stats_exit();
	dune_core_exit();
}

module_init(dune_init);
module_exit(dune_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION("1.0.0");
MODULE_DESCRIPTION("Dune: safe user-level access to privileged CPU features (dunebench reference module)");
MODULE_ALIAS_MISCDEV(DUNE_MINOR);
MODULE_ALIAS("devname:dune");
