// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_vmcs_snap.ko - for the VMX lab only: a snapshot of KVM's VMCS for one
 * vCPU, taken at its next VM exit, in dune.ko's format (vmcs_snap.h), so
 * that `dunebench vmcs-diff` can compare the VMCS KVM runs a Dune process
 * with (libdune's kvm backend) with the one dune.ko runs it with.
 *
 *   /sys/kernel/debug/kvm_vmcs_snap/request   write "<pid> <vcpu id> [reason]":
 *                                             take a snapshot at the next VM
 *                                             exit of that process's vCPU (of
 *                                             that basic exit reason)
 *   /sys/kernel/debug/kvm_vmcs_snap/snapshot  read: the last one (ENODATA
 *                                             before the first)
 *
 * How: a kprobe on kvm_intel's vmx_handle_exit_irqoff(), which KVM calls
 * after every VM exit (vcpu_enter_guest() in arch/x86/kvm/x86.c) with
 * interrupts off and the vCPU's VMCS current on this CPU, so VMREAD there
 * reads that vCPU's VMCS.  The probe does nothing but compare a flag when
 * no snapshot is requested.  kvm_intel must be loaded first (the symbol is
 * looked up when this module loads).
 */
#include <linux/debugfs.h>
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "vmcs_snap.h"

static DEFINE_SPINLOCK(snap_lock);	/* protects everything below */
static bool armed;
static pid_t want_tgid;
static int want_vcpu;
static int want_reason;		/* -1: any */
static bool taken;
static pid_t snap_tgid, snap_tid;
static int snap_vcpu;
static struct vmcs_snap *snap;

static struct dentry *dir;

static int exit_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	unsigned long flags;

	if (!READ_ONCE(armed))
		return 0;
	if (task_tgid_nr(current) != READ_ONCE(want_tgid) ||
	    vcpu->vcpu_id != READ_ONCE(want_vcpu))
		return 0;
	if (READ_ONCE(want_reason) >= 0) {
		u64 reason;

		if (!vmcs_snap_vmread(VM_EXIT_REASON, &reason) ||
		    (u16)reason != READ_ONCE(want_reason))
			return 0;
	}
	spin_lock_irqsave(&snap_lock, flags);
	if (armed) {
		vmcs_snap_take(snap);
		snap_tgid = task_tgid_nr(current);
		snap_tid = task_pid_nr(current);
		snap_vcpu = vcpu->vcpu_id;
		taken = true;
		WRITE_ONCE(armed, false);
	}
	spin_unlock_irqrestore(&snap_lock, flags);
	return 0;
}

static struct kprobe exit_probe = {
	.symbol_name = "vmx_handle_exit_irqoff",
	.pre_handler = exit_pre,
};

static int snapshot_show(struct seq_file *m, void *unused)
{
	struct vmcs_snap *s;
	pid_t tgid, tid;
	int vcpu, r = 0;

	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	spin_lock_irq(&snap_lock);
	if (taken)
		memcpy(s, snap, sizeof(*s));
	else
		r = -ENODATA;
	tgid = snap_tgid;
	tid = snap_tid;
	vcpu = snap_vcpu;
	spin_unlock_irq(&snap_lock);
	if (!r) {
		vmcs_snap_show_head(m, s, "kvm", tgid, tid, vcpu);
		vmcs_snap_show_body(m, s);
	}
	kfree(s);
	return r;
}

static int snapshot_open(struct inode *inode, struct file *file)
{
	return single_open_size(file, snapshot_show, NULL, 64 << 10);
}

static const struct file_operations snapshot_fops = {
	.owner = THIS_MODULE,
	.open = snapshot_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

static ssize_t request_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[48];
	int n, tgid, vcpu, reason = -1;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	n = sscanf(buf, "%d %d %d", &tgid, &vcpu, &reason);
	if (n < 2 || tgid <= 0 || vcpu < 0 || (n == 3 && (reason < 0 || reason > 0xffff)))
		return -EINVAL;
	spin_lock_irq(&snap_lock);
	want_tgid = tgid;
	want_vcpu = vcpu;
	want_reason = reason;
	WRITE_ONCE(armed, true);
	spin_unlock_irq(&snap_lock);
	return len;
}

static const struct file_operations request_fops = {
	.owner = THIS_MODULE,
	.write = request_write,
	.llseek = noop_llseek,
};

static int __init kvm_vmcs_snap_init(void)
{
	int r;

	snap = kzalloc(sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	r = register_kprobe(&exit_probe);
	if (r) {
		pr_err("kvm_vmcs_snap: cannot probe %s (is kvm_intel loaded?): %d\n",
		       exit_probe.symbol_name, r);
		kfree(snap);
		return r;
	}
	dir = debugfs_create_dir("kvm_vmcs_snap", NULL);
	debugfs_create_file("request", 0200, dir, NULL, &request_fops);
	debugfs_create_file("snapshot", 0400, dir, NULL, &snapshot_fops);
	return 0;
}

static void __exit kvm_vmcs_snap_exit(void)
{
	debugfs_remove_recursive(dir);
	unregister_kprobe(&exit_probe);
	kfree(snap);
}

module_init(kvm_vmcs_snap_init);
module_exit(kvm_vmcs_snap_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VMX lab: snapshots of KVM's VMCS in dune.ko's format");
