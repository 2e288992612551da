// SPDX-License-Identifier: GPL-2.0
/*
 * Coverage of dune.ko by itself (built only with DUNE_COVERAGE=1, see
 * Kbuild): every other file of the module is compiled with
 * -fsanitize-coverage=trace-pc, so the compiler puts a call to
 * __sanitizer_cov_trace_pc() at the start of each basic block.  The
 * callback below records the block's return address (the instruction after
 * that call) in a set of program counters, which debugfs shows:
 *
 *   /sys/kernel/debug/dune_coverage/pcs    one hex address a line, each
 *                                          program counter reached since
 *                                          load or the last reset; writing
 *                                          anything to it resets the set
 *   /sys/kernel/debug/dune_coverage/lost   PCs not recorded (set full)
 *   /sys/kernel/debug/dune_coverage/count  PCs reached since load, never
 *                                          reset (a second set): a fuzzer
 *                                          reads it after each input to
 *                                          see whether it reached new code
 *
 * The host maps the addresses to source lines with the module's debug
 * information and its section addresses (/sys/module/dune/sections/);
 * see harness/coverage/.
 *
 * The callback runs in every instrumented function, also with interrupts
 * off and between a VM exit and the next entry: it takes no lock, never
 * sleeps, calls nothing and is not instrumented itself (this file is
 * compiled without the coverage flag, and notrace keeps ftrace out).  The
 * set is open addressing over a fixed array, filled with cmpxchg; a slot,
 * once set, keeps its value until a reset.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "dune_mod.h"

#define COV_SLOTS_SHIFT	14
#define COV_SLOTS	(1UL << COV_SLOTS_SHIFT)
#define COV_PROBES	64

static unsigned long cov_pcs[COV_SLOTS];	/* reset by a write to pcs */
static unsigned long cov_all[COV_SLOTS];	/* never reset */
static atomic_t cov_lost = ATOMIC_INIT(0);
static atomic_t cov_count = ATOMIC_INIT(0);
static struct dentry *cov_dir;

/* Put @pc in @set; true if it was not there.  Lock-free (cmpxchg). */
static __always_inline bool cov_insert(unsigned long *set, unsigned long pc)
{
	unsigned long i = (pc * 0x9e3779b97f4a7c15UL) >> (64 - COV_SLOTS_SHIFT);
	unsigned long old;
	int n;

	for (n = 0; n < COV_PROBES; n++) {
		old = READ_ONCE(set[i]);
		if (old == pc)
			return false;
		if (!old) {
			old = arch_cmpxchg(&set[i], 0UL, pc);
			if (!old)
				return true;
			if (old == pc)
				return false;
		}
		i = (i + 1) & (COV_SLOTS - 1);
	}
	arch_atomic_inc(&cov_lost);
	return false;
}

void notrace __sanitizer_cov_trace_pc(void);

void notrace __sanitizer_cov_trace_pc(void)
{
	unsigned long pc = (unsigned long)__builtin_return_address(0);

	cov_insert(cov_pcs, pc);
	if (cov_insert(cov_all, pc))
		arch_atomic_inc(&cov_count);
}

static void *pcs_start(struct seq_file *m, loff_t *pos)
{
	return *pos < COV_SLOTS ? pos : NULL;
}

static void *pcs_next(struct seq_file *m, void *p, loff_t *pos)
{
	++*pos;
	return pcs_start(m, pos);
}

static void pcs_stop(struct seq_file *m, void *p)
{
}

static int pcs_show(struct seq_file *m, void *p)
{
	unsigned long pc = READ_ONCE(cov_pcs[*(loff_t *)p]);

	if (pc)
		seq_printf(m, "%lx\n", pc);
	return 0;
}

static const struct seq_operations pcs_seq_ops = {
	.start	= pcs_start,
	.next	= pcs_next,
	.stop	= pcs_stop,
	.show	= pcs_show,
};

static int pcs_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &pcs_seq_ops);
}

static ssize_t pcs_write(struct file *file, const char __user *buf,
			 size_t len, loff_t *ppos)
{
	unsigned long i;

	for (i = 0; i < COV_SLOTS; i++)
		WRITE_ONCE(cov_pcs[i], 0UL);
	atomic_set(&cov_lost, 0);
	return len;
}

/*
 * count: a seekable file (pread at 0 reads the current value), unlike
 * debugfs_create_atomic_t's, so a fuzzer opens it once, as root, and keeps
 * reading it after dropping root.
 */
static ssize_t count_read(struct file *file, char __user *buf, size_t len,
			  loff_t *ppos)
{
	char tmp[16];
	int n = scnprintf(tmp, sizeof(tmp), "%d\n", atomic_read(&cov_count));

	return simple_read_from_buffer(buf, len, ppos, tmp, n);
}

static const struct file_operations count_fops = {
	.owner		= THIS_MODULE,
	.open		= simple_open,
	.read		= count_read,
	.llseek		= default_llseek,
};

static const struct file_operations pcs_fops = {
	.owner		= THIS_MODULE,
	.open		= pcs_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release,
	.write		= pcs_write,
};

void dune_cov_init(void)
{
	cov_dir = debugfs_create_dir("dune_coverage", NULL);
	debugfs_create_file("pcs", 0600, cov_dir, NULL, &pcs_fops);
	debugfs_create_atomic_t("lost", 0400, cov_dir, &cov_lost);
	debugfs_create_file("count", 0400, cov_dir, NULL, &count_fops);
}

void dune_cov_exit(void)
{
	debugfs_remove_recursive(cov_dir);
	cov_dir = NULL;
}
