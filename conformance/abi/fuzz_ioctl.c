// SPDX-License-Identifier: MIT
/*
 * fuzz_ioctl.c - random ioctl numbers and arguments on /dev/dune
 * (abi.fuzz.ioctl): near misses of the real numbers (direction, size,
 * number or type changed), other numbers of type 0xE9, any number, the
 * real ones with NULL, kernel, non-canonical, unmapped, PROT_NONE,
 * read-only and page-straddling pointers, random structures.
 *
 * The kernel takes the command as an unsigned int: what is expected follows
 * from the low 32 bits.  Numbers the VFS answers itself for every file
 * (FIOCLEX, FIONBIO, FIFREEZE, FS_IOC_*, ...) are left out; every other
 * number the ABI does not define must fail with ENOTTY.  After an error
 * the argument memory must be as it was.
 */
#include "fuzz.h"
#include "abi_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE	4096UL

enum {
	I_ENOTTY, I_EFAULT, I_EINVAL, I_OK, I_SYSCALL, I_TRAP_ARMED, I_NR
};
static const char *const ioctl_outcomes[I_NR] = {
	[I_ENOTTY] = "ENOTTY", [I_EFAULT] = "EFAULT", [I_EINVAL] = "EINVAL", [I_OK] = "0",
	[I_SYSCALL] = "GET_SYSCALL value", [I_TRAP_ARMED] = "trap armed+disarmed",
};

static const uint32_t real_cmds[] = {
	DUNE_ENTER, DUNE_GET_SYSCALL, DUNE_GET_LAYOUT, DUNE_TRAP_ENABLE, DUNE_TRAP_DISABLE,
	DUNE_LAYOUT_EXT,
};

/* answered by the VFS for any file (fs/ioctl.c), or by types it owns */
static bool vfs_cmd(uint32_t cmd)
{
	uint32_t type = (cmd >> 8) & 0xff, nr = cmd & 0xff;

	return type == 0x54 /* 'T': FIOCLEX, FIONBIO, FIOASYNC, FIOQSIZE, FIONREAD */ ||
	       type == 0x58 /* 'X': FIFREEZE, FITHAW, FS_IOC_FS[GS]ETXATTR */ ||
	       type == 0x66 /* 'f': FS_IOC_* */ || type == 0x94 /* FICLONE, FIDEDUPERANGE */ ||
	       type == 0x15 /* FS_IOC_GETFSUUID and friends */ ||
	       (type == 0 && nr <= 2) /* FIBMAP, FIGETBSZ */;
}

/* a command: a near miss of a real one, another 0xE9 number, or any */
static uint64_t pick_cmd(struct fuzz_rng *r)
{
	uint32_t cmd;
	uint64_t high = 0;

	do {
		switch (fuzz_below(r, 10)) {
		case 0:
		case 1:
			cmd = FUZZ_PICK(r, real_cmds);
			break;
		case 2:
		case 3:
		case 4: {
			cmd = FUZZ_PICK(r, real_cmds);
			switch (fuzz_below(r, 5)) {
			case 0:	/* direction */
				cmd ^= (uint32_t)(1 + fuzz_below(r, 3)) << 30;
				break;
			case 1: {	/* size: off by a little, or anything */
				uint32_t size = (cmd >> 16) & 0x3fff;

				if (fuzz_chance(r, 1, 4))
					size = (uint32_t)fuzz_next(r);
				else if (fuzz_chance(r, 1, 2))
					size += 1 + (uint32_t)fuzz_below(r, 8);
				else
					size -= 1 + (uint32_t)fuzz_below(r, 8);
				cmd = (cmd & ~(0x3fffU << 16)) | (size & 0x3fff) << 16;
				break;
			}
			case 2:	/* number */
				cmd = (cmd & ~0xffU) | ((cmd + (uint32_t)fuzz_below(r, 5) - 2) & 0xff);
				break;
			case 3:	/* type */
				cmd = (cmd & ~0xff00U) | (((cmd >> 8) + (uint32_t)fuzz_below(r, 5) - 2) & 0xff) << 8;
				break;
			default:
				cmd ^= 1U << fuzz_below(r, 32);
				break;
			}
			break;
		}
		case 5:
		case 6:
			cmd = 0xe900 | (uint32_t)fuzz_below(r, 256) | ((uint32_t)fuzz_below(r, 4) << 30) |
			      ((uint32_t)fuzz_below(r, 0x4000) << 16);
			break;
		default:
			cmd = (uint32_t)fuzz_next(r);
			break;
		}
	} while (vfs_cmd(cmd));
	if (fuzz_chance(r, 1, 5))
		high = fuzz_next(r) << 32;	/* ignored by the kernel */
	return high | cmd;
}

struct bufs {
	uint8_t *rw;		/* 2 pages read-write */
	uint8_t *ro;		/* 1 page read-only */
	uint8_t *none;		/* PROT_NONE */
	uint8_t *edge;		/* a read-write page followed by a PROT_NONE one */
	uint8_t *hole;		/* unmapped */
};

enum arg_kind { A_GOOD, A_RO, A_BAD, A_EDGE, A_NR };

struct arg {
	enum arg_kind kind;
	uint64_t p;
	size_t room;		/* readable/writable bytes from p (A_EDGE) */
};

static struct arg pick_arg(struct fuzz_rng *r, const struct bufs *b)
{
	static const uint64_t kern[] = {
		0, 1, 8, 0xfff, 0xffffffff81000000ULL, 0xffff888000000000ULL,
		0x0000800000000000ULL, 0xdead000000000000ULL, ~0ULL - 7,
	};
	struct arg a = { A_GOOD, 0, 0 };

	switch (fuzz_below(r, 8)) {
	case 0:
	case 1:
	case 2:
		a.p = (uintptr_t)b->rw + 8 * fuzz_below(r, 64);
		break;
	case 3:
		a.kind = A_RO;
		a.p = (uintptr_t)b->ro + 8 * fuzz_below(r, 64);
		break;
	case 4:
		a.kind = A_BAD;
		a.p = FUZZ_PICK(r, kern);
		break;
	case 5:
		a.kind = A_BAD;
		a.p = (uintptr_t)(fuzz_chance(r, 1, 2) ? b->none : b->hole) + fuzz_below(r, PAGE);
		break;
	default:
		a.kind = A_EDGE;
		a.room = 1 + fuzz_below(r, 180);
		a.p = (uintptr_t)b->edge + PAGE - a.room;
		break;
	}
	return a;
}

static long sys_ioctl(int fd, uint64_t cmd, uint64_t arg)
{
	long r = syscall(SYS_ioctl, fd, cmd, arg);

	return r == -1 ? -errno : r;
}

/* Is [p, p + n) fully accessible for the ioctl? (for reading: @ro ok) */
static bool fits(const struct arg *a, size_t n, bool write)
{
	switch (a->kind) {
	case A_GOOD:
		return true;
	case A_RO:
		return !write;
	case A_EDGE:
		return a->room >= n;
	default:
		return false;
	}
}

struct ictx {
	int fd;
	struct dune_layout layout;
	long lstar;
	struct bufs b;
	uint8_t snap[3 * PAGE];
	bool layout_ext;	/* the module has DUNE_LAYOUT_EXT (extension) */
};

static void snapshot(struct ictx *x)
{
	memcpy(x->snap, x->b.rw, 2 * PAGE);
	memcpy(x->snap + 2 * PAGE, x->b.edge, PAGE);
}

static bool unchanged(const struct ictx *x)
{
	return !memcmp(x->snap, x->b.rw, 2 * PAGE) && !memcmp(x->snap + 2 * PAGE, x->b.edge, PAGE);
}

static void ioctl_worker(struct fuzz *f, uint64_t first, uint64_t end, void *arg)
{
	struct ictx x;
	uint8_t *p;

	(void)arg;
	memset(&x, 0, sizeof(x));
	x.fd = abi_open();
	if (x.fd < 0)
		fuzz_fail(f, first, "open %s: %s", abi_dev_path(), strerror(errno));
	if (sys_ioctl(x.fd, DUNE_GET_LAYOUT, (uintptr_t)&x.layout))
		fuzz_fail(f, first, "DUNE_GET_LAYOUT: %s", strerror(errno));
	x.lstar = sys_ioctl(x.fd, DUNE_GET_SYSCALL, 0);
	{
		/* DUNE_LAYOUT_EXT is dunebench's extension: a module without
		 * it answers ENOTTY, as for any number the ABI does not define */
		struct dune_layout_ext e;

		memset(&e, 0, sizeof(e));
		x.layout_ext = sys_ioctl(x.fd, DUNE_LAYOUT_EXT, (uintptr_t)&e) != -ENOTTY;
	}
	x.b.rw = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	x.b.ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	x.b.none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	x.b.hole = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x.b.rw == MAP_FAILED || x.b.ro == MAP_FAILED || x.b.none == MAP_FAILED ||
	    p == MAP_FAILED || x.b.hole == MAP_FAILED)
		fuzz_fail(f, first, "mmap: %s", strerror(errno));
	munmap(x.b.hole, PAGE);
	mprotect(p + PAGE, PAGE, PROT_NONE);
	x.b.edge = p;
	fuzz_drop_root();

	for (uint64_t it = first; it < end; it++) {
		struct fuzz_rng r;
		uint64_t cmd64;
		uint32_t cmd;
		struct arg a;
		long got, want = -ENOTTY;
		unsigned int o;
		bool check_unchanged = true;

		fuzz_rng_init(&r, f, it);
		/* random contents everywhere we may point */
		for (size_t i = 0; i < 2 * PAGE; i += 8) {
			uint64_t v = fuzz_next(&r);

			memcpy(x.b.rw + i, &v, 8);
		}
		for (size_t i = 0; i < PAGE; i += 8) {
			uint64_t v = fuzz_value(&r);

			memcpy(x.b.edge + i, &v, 8);
		}
		mprotect(x.b.ro, PAGE, PROT_READ | PROT_WRITE);
		memset(x.b.ro, (int)fuzz_below(&r, 256), PAGE);
		cmd64 = pick_cmd(&r);
		cmd = (uint32_t)cmd64;
		a = pick_arg(&r, &x.b);

		/* shape the structure the argument points at, when it is readable */
		if (cmd == DUNE_ENTER && (a.kind == A_GOOD || a.kind == A_RO || a.kind == A_EDGE)) {
			/* a handle this file never gave out (it has no vCPUs): never a run */
			uint64_t h = fuzz_value(&r) | 1;
			uint8_t *q = (uint8_t *)(uintptr_t)a.p;

			/* (a partial structure: the copy faults first) */
			if (a.kind != A_EDGE || a.room >= DUNE_CFG_VCPU + 8)
				memcpy(q + DUNE_CFG_VCPU, &h, 8);
		}
		if (cmd == DUNE_TRAP_ENABLE && fits(&a, sizeof(struct dune_trap_config), false)) {
			struct dune_trap_config tc;
			static const uint64_t never[] = {
				0, 0xffffffff81000000ULL, 0x0000800000000000ULL, ~0ULL,
			};
			struct arg ra = pick_arg(&r, &x.b);

			tc.trigger_rip = FUZZ_PICK(&r, never);	/* never a user RIP: never fires */
			tc.notify_func = (dune_trap_notify_func)(uintptr_t)fuzz_value(&r);
			tc.regs = (struct dune_trap_regs *)(uintptr_t)ra.p;
			tc.regs_size = fuzz_chance(&r, 2, 3) ? sizeof(struct dune_trap_regs) : fuzz_value(&r);
			tc.priv = (void *)(uintptr_t)fuzz_value(&r);
			tc.delay = (uint8_t)fuzz_next(&r);
			memcpy((void *)(uintptr_t)a.p, &tc, sizeof(tc));
			if (tc.regs_size != sizeof(struct dune_trap_regs))
				want = 0;
			else if (ra.kind == A_GOOD && ra.p + sizeof(struct dune_trap_regs) <= (uintptr_t)x.b.rw + 2 * PAGE)
				want = 0;
			else if (ra.kind == A_EDGE && ra.room >= sizeof(struct dune_trap_regs))
				want = 0;
			else
				want = -EFAULT;
			fuzz_note(f, it, "cmd %#llx (%#x) arg %#llx (kind %d room %zu), trap: trigger %#llx regs %#llx (kind %d room %zu) size %llu",
				  (unsigned long long)cmd64, cmd, (unsigned long long)a.p, a.kind, a.room,
				  (unsigned long long)tc.trigger_rip, (unsigned long long)ra.p, ra.kind,
				  ra.room, (unsigned long long)tc.regs_size);
		} else {
			fuzz_note(f, it, "cmd %#llx (%#x) arg %#llx (kind %d room %zu)",
				  (unsigned long long)cmd64, cmd, (unsigned long long)a.p, a.kind, a.room);
		}
		mprotect(x.b.ro, PAGE, PROT_READ);

		switch (cmd) {
		case DUNE_ENTER:
			want = fits(&a, DUNE_CFG_SIZE, false) ? -EINVAL : -EFAULT;
			break;
		case DUNE_GET_SYSCALL:
			want = x.lstar;
			check_unchanged = true;
			break;
		case DUNE_GET_LAYOUT:
			want = fits(&a, sizeof(struct dune_layout), true) ? 0 : -EFAULT;
			check_unchanged = want != 0;
			break;
		case DUNE_LAYOUT_EXT: {
			uint64_t flags = 0;

			if (!x.layout_ext) {
				want = -ENOTTY;
				break;
			}
			if (!fits(&a, 8, false)) {
				want = -EFAULT;
				break;
			}
			memcpy(&flags, (void *)(uintptr_t)a.p, 8);
			if (flags & ~(uint64_t)(DUNE_LAYOUT_EXT_EXEC | DUNE_LAYOUT_EXT_VDSO))
				want = -EINVAL;
			else if (!fits(&a, sizeof(struct dune_layout_ext), true))
				want = -EFAULT;
			else
				want = 0;
			check_unchanged = want == -EINVAL;
			break;
		}
		case DUNE_TRAP_ENABLE:
			if (!fits(&a, sizeof(struct dune_trap_config), false))
				want = -EFAULT;
			break;
		case DUNE_TRAP_DISABLE:
			want = 0;
			break;
		default:
			want = -ENOTTY;
			break;
		}
		if (check_unchanged)
			snapshot(&x);
		got = sys_ioctl(x.fd, cmd64, a.p);
		if (got != want)
			fuzz_fail(f, it, "ioctl %#llx (the kernel sees %#x) returned %ld (%s), want %ld (%s)",
				  (unsigned long long)cmd64, cmd, got, got < 0 && got > -4096 ? strerror((int)-got) : "value",
				  want, want < 0 && want > -4096 ? strerror((int)-want) : "value");
		if (check_unchanged && cmd != DUNE_GET_LAYOUT && (cmd != DUNE_LAYOUT_EXT || !x.layout_ext) &&
		    !unchanged(&x))
			fuzz_fail(f, it, "ioctl %#x failed (%ld) but changed the argument memory", cmd, got);
		if (cmd == DUNE_GET_LAYOUT && got == 0 &&
		    memcmp((void *)(uintptr_t)a.p, &x.layout, sizeof(x.layout)))
			fuzz_fail(f, it, "DUNE_GET_LAYOUT wrote a different layout");
		if (cmd == DUNE_LAYOUT_EXT && got == 0) {
			struct dune_layout_ext e;

			memcpy(&e, (void *)(uintptr_t)a.p, sizeof(e));
			if (e.phys_limit != x.layout.phys_limit || e.base_map != x.layout.base_map ||
			    e.base_stack != x.layout.base_stack)
				fuzz_fail(f, it, "DUNE_LAYOUT_EXT reported phys_limit %#llx base_map %#llx base_stack %#llx, DUNE_GET_LAYOUT says %#llx %#llx %#llx",
					  (unsigned long long)e.phys_limit, (unsigned long long)e.base_map,
					  (unsigned long long)e.base_stack,
					  (unsigned long long)x.layout.phys_limit,
					  (unsigned long long)x.layout.base_map,
					  (unsigned long long)x.layout.base_stack);
		}
		if (cmd == DUNE_TRAP_ENABLE && got == 0) {
			long d = sys_ioctl(x.fd, DUNE_TRAP_DISABLE, 0);

			if (d != 0)
				fuzz_fail(f, it, "DUNE_TRAP_DISABLE after an armed trap returned %ld", d);
		}
		o = cmd == DUNE_GET_SYSCALL ? I_SYSCALL :
		    cmd == DUNE_TRAP_ENABLE && got == 0 ? I_TRAP_ARMED :
		    got == -ENOTTY ? I_ENOTTY : got == -EFAULT ? I_EFAULT : got == -EINVAL ? I_EINVAL : I_OK;
		fuzz_done(f, it, o);
	}
	close(x.fd);
}

CTEST(fuzz_ioctl,
      .id = "abi.fuzz.ioctl",
      .profile = "robustness",
      .what = "random ioctl numbers (near misses of the real ones with another direction, size, number or type; other 0xE9 numbers; any number; high bits the kernel ignores) and arguments (NULL, kernel, non-canonical, unmapped, PROT_NONE, read-only and page-straddling pointers; random structures, random DUNE_ENTER handles and trap configurations) give exactly ENOTTY, EFAULT, EINVAL or the defined result (DUNE_LAYOUT_EXT, an extension, is ENOTTY on a module without it), and leave the argument memory alone on error",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 30)
{
	struct fuzz f;

	for (unsigned int s = 0; fuzz_begin(&f, s, "abi.fuzz.ioctl", 3000, 12, ioctl_outcomes, I_NR); s++) {
		fuzz_run(&f, 500, ioctl_worker, NULL, NULL);
		fuzz_end(&f);
	}
	fuzz_check_module();
}
