/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the files of dune.ko.
 */
#ifndef DUNE_MOD_H
#define DUNE_MOD_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <asm/vmx.h>

#include <dune/abi.h>

/* ---- vcpu.c: vCPUs of one open file of /dev/dune ---- */

/*
 * struct dune_file - per open file: the vCPUs created through it.
 * Handles in struct dune_config.vcpu name entries of @vcpus.
 */
struct dune_file {
	struct mutex lock;		/* protects @vcpus and @next_handle */
	struct list_head vcpus;
	u64 next_handle;
	u64 layout_ext;			/* DUNE_LAYOUT_EXT_* for new vCPUs */
	struct list_head traps;		/* trap.c: armed traps, under @lock */
	u64 id;				/* unique per open, names debugfs views */
	struct list_head all;		/* vcpu.c: every open file */
};

void dune_file_init(struct dune_file *df);
void dune_file_destroy(struct dune_file *df);
long dune_enter(struct dune_file *df, struct dune_config __user *uconf);
struct file;
bool dune_file_is_dune(struct file *file);
int dune_core_init(void);
void dune_core_exit(void);

/* ---- trap.c: DUNE_TRAP_ENABLE / DUNE_TRAP_DISABLE ---- */

long dune_trap_enable(struct dune_file *df,
		      const struct dune_trap_config __user *uconf);
long dune_trap_disable(struct dune_file *df);
void dune_trap_release(struct dune_file *df);
void dune_trap_init(void);
void dune_trap_exit(void);

/* ---- layout.c: the guest-physical windows of a process ---- */

struct mm_struct;
void dune_layout_compute(struct mm_struct *mm, u64 want,
			 struct dune_layout_ext *l);

/* ---- dune_stats.c: counters under /sys/kernel/debug/dune/ ---- */

#define DUNE_EXIT_REASON_MAX	80	/* basic exit reasons are < 80 */

struct dune_stats {
	atomic_t vcpus_live;
	atomic_t vcpus_created;
	atomic_t ept_faults;		/* EPT violations resolved */
	atomic_t ept_maps_4k;		/* 4 KiB EPT leaves installed */
	atomic_t ept_maps_2m;		/* 2 MiB EPT leaves installed */
	atomic_t ept_zaps;		/* invalidations that removed leaves */
	atomic_t vcpu_migrations;	/* vCPUs moved to another CPU */
};

extern struct dune_stats dune_stats;

void dune_stats_init(void);
void dune_stats_exit(void);

/* vmx.c: VM exits by basic reason; DUNE_EXIT_REASON_MAX = failed entries */
u64 dune_vmx_exit_count(unsigned int reason);

/* ---- dune_cov.c: the coverage build's PC set (Kbuild DUNE_COVERAGE) ---- */

#ifdef DUNE_COVERAGE
void dune_cov_init(void);
void dune_cov_exit(void);
#else
static inline void dune_cov_init(void) {}
static inline void dune_cov_exit(void) {}
#endif

#endif /* DUNE_MOD_H */
