// SPDX-License-Identifier: GPL-2.0
/*
 * VMCS snapshots of a vCPU, under /sys/kernel/debug/dune/vcpus/<vcpu>/vmcs
 * (next to exits and last_exit, see dune_stats.c):
 *
 *   write "next"   take a snapshot at the vCPU's next VM exit
 *   write "every"  take one at every VM exit (the file shows the last)
 *   write "next N", "every N"  the same, at exits of basic reason N only
 *                  (e.g. 18: VMCALL), so that a snapshot is taken at a
 *                  defined point rather than at whatever exit comes first
 *   write "off"    stop taking them
 *   read           the last snapshot, in the format of vmcs_snap.h
 *                  (ENODATA until one was taken)
 *
 * A snapshot holds every field VMREAD accepts on this CPU, the VMX
 * capability MSRs, the control values the module configured (config
 * lines) and the MSR bitmap's pass-through MSRs.  dunebench vmcs decodes
 * it (docs/vmcs.md).
 *
 * Cost when nobody asked: the exit path (run_once() in vmx.c) tests one
 * byte of the vCPU, v->vmcs_snap_req, finds 0 and goes on (a load, a test
 * and a branch not taken); the snapshot code itself is out of line.  The buffer is allocated by the
 * first request (process context), never in the exit path.
 */
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "vmcs_snap.h"
#include "vmx.h"

struct dune_vmcs_snap {
	spinlock_t lock;		/* protects @snap and @taken */
	bool taken;
	int reason;			/* only exits of this basic reason, or -1 */
	struct vmcs_snap snap;
};

/*
 * dune_vmcs_snap_exit - the exit-path hook: v->vmcs_snap_req was set.
 * Interrupts off, the vCPU's VMCS current.
 */
void dune_vmcs_snap_exit(struct dune_vcpu *v)
{
	struct dune_vmcs_snap *ds;

	smp_rmb();	/* the request before the buffer, see vmcs_write() */
	ds = READ_ONCE(v->vmcs_snap);
	if (!ds)
		return;
	if (READ_ONCE(ds->reason) >= 0 &&
	    READ_ONCE(ds->reason) != (u16)v->exit.reason)
		return;
	spin_lock(&ds->lock);
	vmcs_snap_take(&ds->snap);
	ds->taken = true;
	spin_unlock(&ds->lock);
	if (v->vmcs_snap_req == DUNE_VMCS_SNAP_NEXT)
		WRITE_ONCE(v->vmcs_snap_req, DUNE_VMCS_SNAP_OFF);
}

static int vmcs_show(struct seq_file *m, void *unused)
{
	struct dune_vcpu *v = m->private;
	struct dune_vmcs_snap *ds = READ_ONCE(v->vmcs_snap);
	struct vmcs_snap *s;
	int r = 0;

	if (!ds)
		return -ENODATA;
	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	spin_lock_irq(&ds->lock);
	if (ds->taken)
		memcpy(s, &ds->snap, sizeof(*s));
	else
		r = -ENODATA;
	spin_unlock_irq(&ds->lock);
	if (!r) {
		vmcs_snap_show_head(m, s, "dune", task_tgid_nr(v->task),
				    task_pid_nr(v->task), v->handle);
		dune_vmx_show_config(m);
		vmcs_snap_show_body(m, s);
	}
	kfree(s);
	return r;
}

static int vmcs_open(struct inode *inode, struct file *file)
{
	/* a snapshot with its MSR list can be long: size the buffer once */
	return single_open_size(file, vmcs_show, inode->i_private, 64 << 10);
}

static ssize_t vmcs_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	struct dune_vcpu *v = ((struct seq_file *)file->private_data)->private;
	struct dune_vmcs_snap *ds;
	char buf[24], word[8];
	int n, reason = -1;
	u8 req;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	n = sscanf(buf, "%7s %d", word, &reason);
	if (n < 1 || (n == 2 && (reason < 0 || reason >= DUNE_EXIT_REASON_MAX)))
		return -EINVAL;
	if (!strcmp(word, "next"))
		req = DUNE_VMCS_SNAP_NEXT;
	else if (!strcmp(word, "every"))
		req = DUNE_VMCS_SNAP_EVERY;
	else if (!strcmp(word, "off") && n == 1)
		req = DUNE_VMCS_SNAP_OFF;
	else
		return -EINVAL;

	if (req != DUNE_VMCS_SNAP_OFF && !READ_ONCE(v->vmcs_snap)) {
		ds = kzalloc(sizeof(*ds), GFP_KERNEL);
		if (!ds)
			return -ENOMEM;
		spin_lock_init(&ds->lock);
		/* published before the request that makes the exit use it */
		if (cmpxchg_release(&v->vmcs_snap, NULL, ds))
			kfree(ds);
	}
	if (req != DUNE_VMCS_SNAP_OFF)
		WRITE_ONCE(v->vmcs_snap->reason, reason);
	/* the buffer before the request: pairs with dune_vmcs_snap_exit() */
	smp_wmb();
	WRITE_ONCE(v->vmcs_snap_req, req);
	return len;
}

static const struct file_operations vmcs_fops = {
	.owner = THIS_MODULE,
	.open = vmcs_open,
	.read = seq_read,
	.write = vmcs_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* Called by dune_stats_vcpu_add() once @v has its debugfs directory. */
void dune_vmcs_snap_add(struct dune_vcpu *v)
{
	debugfs_create_file("vmcs", 0600, v->dbg, v, &vmcs_fops);
}

/* After the debugfs directory is gone and the vCPU no longer runs. */
void dune_vmcs_snap_free(struct dune_vcpu *v)
{
	kfree(v->vmcs_snap);
	v->vmcs_snap = NULL;
	v->vmcs_snap_req = DUNE_VMCS_SNAP_OFF;
}
