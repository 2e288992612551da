/* SPDX-License-Identifier: MIT */
/*
 * vmcs_tables.h - what dunebench vmcs knows about VMCS fields: names and
 * one-line meanings of the fields (by encoding, Intel SDM Vol. 3D,
 * Appendix B) and of the bits of the fields decoded bit by bit (control
 * fields, exception bitmap, CR0/CR4, EFER).  Our own table, written from
 * the SDM's definitions.
 */
#ifndef DUNEBENCH_VMCS_TABLES_H
#define DUNEBENCH_VMCS_TABLES_H

#include <stdint.h>

/* how a field's value is shown and compared */
enum vmcs_decode {
	DEC_PLAIN = 0,
	DEC_BITS,		/* bit by bit with struct vmcs_bit names */
	DEC_EPTP,		/* memory type, walk length, A/D, PML4 address */
	DEC_EXIT_REASON,	/* basic reason by name, plus flags */
	DEC_INTR_INFO,		/* vector, type, error code, valid */
	DEC_AR,			/* segment access rights */
	DEC_ACTIVITY,		/* activity state by name */
};

struct vmcs_bit {
	unsigned bit;
	const char *name;
	const char *meaning;
};

struct vmcs_bitset {
	const struct vmcs_bit *bits;
	uint32_t default1;	/* reserved bits that must be 1 ("default1" class) */
};

struct vmcs_field {
	uint32_t enc;
	const char *name;
	const char *meaning;
	enum vmcs_decode decode;
	const struct vmcs_bitset *bits;
};

/* ---- control bits (SDM Vol. 3C, 25.6 and 25.7-25.8) ---- */

static const struct vmcs_bit pin_bits[] = {
	{ 0, "External-interrupt exiting", "external interrupts cause VM exits (the host handles them)" },
	{ 3, "NMI exiting", "NMIs cause VM exits" },
	{ 5, "Virtual NMIs", "NMI blocking is tracked for the guest (virtual-NMI blocking)" },
	{ 6, "Activate VMX-preemption timer", "a countdown timer forces a VM exit after a bounded guest run" },
	{ 7, "Process posted interrupts", "interrupts posted by other CPUs are delivered without a VM exit" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset pin_set = { pin_bits, 0x16 };

static const struct vmcs_bit proc_bits[] = {
	{ 2, "Interrupt-window exiting", "VM exit as soon as the guest can take an interrupt (injection pending)" },
	{ 3, "Use TSC offsetting", "guest RDTSC returns the TSC plus the TSC-offset field" },
	{ 7, "HLT exiting", "HLT causes a VM exit" },
	{ 9, "INVLPG exiting", "INVLPG causes a VM exit" },
	{ 10, "MWAIT exiting", "MWAIT causes a VM exit" },
	{ 11, "RDPMC exiting", "RDPMC causes a VM exit" },
	{ 12, "RDTSC exiting", "RDTSC and RDTSCP cause VM exits" },
	{ 15, "CR3-load exiting", "MOV to CR3 causes a VM exit (unless the value is a CR3 target)" },
	{ 16, "CR3-store exiting", "MOV from CR3 causes a VM exit" },
	{ 17, "Activate tertiary controls", "the tertiary processor-based controls are used" },
	{ 19, "CR8-load exiting", "MOV to CR8 (the task priority) causes a VM exit" },
	{ 20, "CR8-store exiting", "MOV from CR8 causes a VM exit" },
	{ 21, "Use TPR shadow", "CR8/TPR accesses go to the virtual-APIC page" },
	{ 22, "NMI-window exiting", "VM exit as soon as the guest can take an NMI" },
	{ 23, "MOV-DR exiting", "MOV to or from a debug register causes a VM exit" },
	{ 24, "Unconditional I/O exiting", "every IN/OUT/INS/OUTS causes a VM exit" },
	{ 25, "Use I/O bitmaps", "the I/O bitmaps choose which ports exit" },
	{ 27, "Monitor trap flag", "VM exit after each guest instruction (single-step)" },
	{ 28, "Use MSR bitmaps", "the MSR bitmap chooses which RDMSR/WRMSR exit (else all do)" },
	{ 29, "MONITOR exiting", "MONITOR causes a VM exit" },
	{ 30, "PAUSE exiting", "PAUSE causes a VM exit" },
	{ 31, "Activate secondary controls", "the secondary processor-based controls are used" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset proc_set = { proc_bits, 0x0401e172 };

static const struct vmcs_bit proc2_bits[] = {
	{ 0, "Virtualize APIC accesses", "accesses to the APIC-access page are virtualized" },
	{ 1, "Enable EPT", "guest-physical addresses go through extended page tables" },
	{ 2, "Descriptor-table exiting", "LGDT/LIDT/LLDT/LTR/SGDT/SIDT/SLDT/STR cause VM exits" },
	{ 3, "Enable RDTSCP", "RDTSCP is available to the guest (else #UD)" },
	{ 4, "Virtualize x2APIC mode", "x2APIC MSR accesses are virtualized" },
	{ 5, "Enable VPID", "guest TLB entries are tagged with the VPID (no flush at entry/exit)" },
	{ 6, "WBINVD exiting", "WBINVD causes a VM exit" },
	{ 7, "Unrestricted guest", "the guest may run in real mode or without paging" },
	{ 8, "APIC-register virtualization", "APIC register reads are served from the virtual-APIC page" },
	{ 9, "Virtual-interrupt delivery", "virtual interrupts are evaluated and delivered without VM exits" },
	{ 10, "PAUSE-loop exiting", "a spinning PAUSE loop causes a VM exit (PLE gap/window)" },
	{ 11, "RDRAND exiting", "RDRAND causes a VM exit" },
	{ 12, "Enable INVPCID", "INVPCID is available to the guest (else #UD)" },
	{ 13, "Enable VM functions", "VMFUNC is available (e.g. EPTP switching)" },
	{ 14, "VMCS shadowing", "guest VMREAD/VMWRITE use a shadow VMCS" },
	{ 15, "Enable ENCLS exiting", "ENCLS leaves in the ENCLS-exiting bitmap cause VM exits" },
	{ 16, "RDSEED exiting", "RDSEED causes a VM exit" },
	{ 17, "Enable PML", "EPT dirty pages are logged in the page-modification log" },
	{ 18, "EPT-violation #VE", "some EPT violations become #VE in the guest" },
	{ 19, "Conceal VMX from PT", "Intel PT does not trace VMX transitions" },
	{ 20, "Enable XSAVES/XRSTORS", "XSAVES/XRSTORS are available to the guest (else #UD)" },
	{ 22, "Mode-based execute control for EPT", "EPT execute permission differs for user and supervisor" },
	{ 23, "Sub-page write permissions for EPT", "EPT write permission per 128-byte sub-page" },
	{ 24, "Intel PT uses guest physical addresses", "PT output addresses are guest-physical" },
	{ 25, "Use TSC scaling", "guest RDTSC is multiplied by the TSC multiplier" },
	{ 26, "Enable user wait and pause", "TPAUSE/UMONITOR/UMWAIT are available to the guest" },
	{ 27, "Enable PCONFIG", "PCONFIG is available to the guest" },
	{ 28, "Enable ENCLV exiting", "ENCLV leaves in the ENCLV-exiting bitmap cause VM exits" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset proc2_set = { proc2_bits, 0 };

static const struct vmcs_bit exit_bits[] = {
	{ 2, "Save debug controls", "DR7 and IA32_DEBUGCTL are saved into the guest state at exit" },
	{ 9, "Host address-space size", "the host runs in 64-bit mode after the exit" },
	{ 12, "Load IA32_PERF_GLOBAL_CTRL", "the host's IA32_PERF_GLOBAL_CTRL is loaded at exit" },
	{ 15, "Acknowledge interrupt on exit", "an external interrupt is acknowledged and its vector saved at exit" },
	{ 18, "Save IA32_PAT", "the guest's IA32_PAT is saved at exit" },
	{ 19, "Load IA32_PAT", "the host's IA32_PAT is loaded at exit" },
	{ 20, "Save IA32_EFER", "the guest's IA32_EFER is saved at exit" },
	{ 21, "Load IA32_EFER", "the host's IA32_EFER is loaded at exit" },
	{ 22, "Save VMX-preemption timer value", "the timer's remaining count is saved at exit (else it restarts)" },
	{ 23, "Clear IA32_BNDCFGS", "MPX configuration is cleared at exit" },
	{ 24, "Conceal VMX from PT", "Intel PT does not record the VM exit" },
	{ 25, "Clear IA32_RTIT_CTL", "Intel PT is turned off at exit" },
	{ 26, "Clear IA32_LBR_CTL", "LBR recording is turned off at exit" },
	{ 28, "Load CET state", "the host's CET state is loaded at exit" },
	{ 29, "Load PKRS", "the host's IA32_PKRS is loaded at exit" },
	{ 30, "Save IA32_PERF_GLOBAL_CTL", "the guest's IA32_PERF_GLOBAL_CTL is saved at exit" },
	{ 31, "Activate secondary controls", "the secondary VM-exit controls are used" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset exit_set = { exit_bits, 0x00036dff };

static const struct vmcs_bit entry_bits[] = {
	{ 2, "Load debug controls", "DR7 and IA32_DEBUGCTL are loaded from the guest state at entry" },
	{ 9, "IA-32e mode guest", "the guest runs in IA-32e (64-bit) mode after entry" },
	{ 10, "Entry to SMM", "the entry is into system-management mode" },
	{ 11, "Deactivate dual-monitor treatment", "the dual-monitor treatment of SMIs ends" },
	{ 13, "Load IA32_PERF_GLOBAL_CTRL", "the guest's IA32_PERF_GLOBAL_CTRL is loaded at entry" },
	{ 14, "Load IA32_PAT", "the guest's IA32_PAT is loaded at entry" },
	{ 15, "Load IA32_EFER", "the guest's IA32_EFER is loaded at entry" },
	{ 16, "Load IA32_BNDCFGS", "the guest's MPX configuration is loaded at entry" },
	{ 17, "Conceal VMX from PT", "Intel PT does not record the VM entry" },
	{ 18, "Load IA32_RTIT_CTL", "the guest's IA32_RTIT_CTL is loaded at entry" },
	{ 20, "Load CET state", "the guest's CET state is loaded at entry" },
	{ 21, "Load guest IA32_LBR_CTL", "the guest's IA32_LBR_CTL is loaded at entry" },
	{ 22, "Load PKRS", "the guest's IA32_PKRS is loaded at entry" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset entry_set = { entry_bits, 0x000011ff };

/* the exception bitmap: bit = vector */
static const struct vmcs_bit exc_bits[] = {
	{ 0, "#DE", "divide error exits" },
	{ 1, "#DB", "debug exceptions exit" },
	{ 2, "NMI", "vector 2 (NMI) exits" },
	{ 3, "#BP", "breakpoints (int3) exit" },
	{ 4, "#OF", "overflow (into) exits" },
	{ 5, "#BR", "BOUND range exceeded exits" },
	{ 6, "#UD", "invalid opcodes exit" },
	{ 7, "#NM", "device-not-available exits" },
	{ 8, "#DF", "double faults exit" },
	{ 10, "#TS", "invalid-TSS faults exit" },
	{ 11, "#NP", "segment-not-present faults exit" },
	{ 12, "#SS", "stack faults exit" },
	{ 13, "#GP", "general-protection faults exit" },
	{ 14, "#PF", "page faults exit (as the PFEC mask/match select)" },
	{ 16, "#MF", "x87 floating-point errors exit" },
	{ 17, "#AC", "alignment checks exit" },
	{ 18, "#MC", "machine checks exit" },
	{ 19, "#XM", "SIMD floating-point exceptions exit" },
	{ 20, "#VE", "virtualization exceptions exit" },
	{ 21, "#CP", "control-protection exceptions exit" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset exc_set = { exc_bits, 0 };

static const struct vmcs_bit cr0_bits[] = {
	{ 0, "PE", "protection enabled" },
	{ 1, "MP", "monitor coprocessor" },
	{ 2, "EM", "x87 emulation" },
	{ 3, "TS", "task switched (lazy FPU)" },
	{ 4, "ET", "extension type" },
	{ 5, "NE", "native x87 error reporting" },
	{ 16, "WP", "supervisor writes honour read-only pages" },
	{ 18, "AM", "alignment mask" },
	{ 29, "NW", "not write-through" },
	{ 30, "CD", "cache disable" },
	{ 31, "PG", "paging" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset cr0_set = { cr0_bits, 0 };

static const struct vmcs_bit cr4_bits[] = {
	{ 0, "VME", "virtual-8086 mode extensions" },
	{ 1, "PVI", "protected-mode virtual interrupts" },
	{ 2, "TSD", "RDTSC only in ring 0" },
	{ 3, "DE", "debugging extensions" },
	{ 4, "PSE", "page size extensions" },
	{ 5, "PAE", "physical address extension" },
	{ 6, "MCE", "machine-check enable" },
	{ 7, "PGE", "global pages" },
	{ 8, "PCE", "RDPMC in any ring" },
	{ 9, "OSFXSR", "FXSAVE/FXRSTOR and SSE" },
	{ 10, "OSXMMEXCPT", "unmasked SIMD exceptions" },
	{ 11, "UMIP", "SGDT/SIDT/SLDT/SMSW/STR only in ring 0" },
	{ 12, "LA57", "5-level paging" },
	{ 13, "VMXE", "VMX enable" },
	{ 14, "SMXE", "SMX enable" },
	{ 16, "FSGSBASE", "RDFSBASE/WRFSBASE/RDGSBASE/WRGSBASE" },
	{ 17, "PCIDE", "process-context identifiers" },
	{ 18, "OSXSAVE", "XSAVE and extended states" },
	{ 19, "KL", "Key Locker" },
	{ 20, "SMEP", "supervisor-mode execution prevention" },
	{ 21, "SMAP", "supervisor-mode access prevention" },
	{ 22, "PKE", "protection keys for user pages" },
	{ 23, "CET", "control-flow enforcement" },
	{ 24, "PKS", "protection keys for supervisor pages" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset cr4_set = { cr4_bits, 0 };

static const struct vmcs_bit efer_bits[] = {
	{ 0, "SCE", "SYSCALL/SYSRET" },
	{ 8, "LME", "long mode enable" },
	{ 10, "LMA", "long mode active" },
	{ 11, "NXE", "no-execute pages" },
	{ 12, "SVME", "SVM enable (AMD)" },
	{ 14, "FFXSR", "fast FXSAVE/FXRSTOR (AMD)" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset efer_set = { efer_bits, 0 };

static const struct vmcs_bit intrbl_bits[] = {
	{ 0, "Blocking by STI", "interrupts blocked for one instruction after STI" },
	{ 1, "Blocking by MOV SS", "events blocked for one instruction after MOV SS/POP SS" },
	{ 2, "Blocking by SMI", "SMIs blocked" },
	{ 3, "Blocking by NMI", "NMIs blocked (an NMI handler runs)" },
	{ 4, "Enclave interruption", "the exit interrupted an enclave" },
	{ 0, NULL, NULL }
};
static const struct vmcs_bitset intrbl_set = { intrbl_bits, 0 };

/* ---- the fields (SDM Vol. 3D, Appendix B) ---- */

#define F(e, n, m)		{ e, n, m, DEC_PLAIN, 0 }
#define FB(e, n, m, s)		{ e, n, m, DEC_BITS, &s }
#define FD(e, n, m, d)		{ e, n, m, d, 0 }

/*
 * The guest's eight segment registers in encoding order: X(i, name) for
 * each; a field of theirs is at its group's first encoding + 2 * i.
 */
#define GUEST_SEGS(X)							\
	X(0, "ES") X(1, "CS") X(2, "SS") X(3, "DS")			\
	X(4, "FS") X(5, "GS") X(6, "LDTR") X(7, "TR")
/* the host's: no LDTR */
#define HOST_SEGS(X)							\
	X(0, "ES") X(1, "CS") X(2, "SS") X(3, "DS")			\
	X(4, "FS") X(5, "GS") X(6, "TR")
#define GUEST_SEL(i, s)		F(0x0800 + 2 * (i), "Guest " s " selector", "guest " s),
#define GUEST_LIMIT(i, s)	F(0x4800 + 2 * (i), "Guest " s " limit", "guest " s " limit"),
#define HOST_SEL(i, s)		F(0x0c00 + 2 * (i), "Host " s " selector", s " loaded at VM exit"),

static const struct vmcs_field vmcs_fields[] = {
	/* 16-bit control */
	F(0x0000, "Virtual-processor identifier (VPID)", "tag of the guest's TLB entries"),
	F(0x0002, "Posted-interrupt notification vector", "vector that signals posted interrupts"),
	F(0x0004, "EPTP index", "index of the current EPTP in the EPTP list"),
	F(0x0006, "HLAT prefix size", "HLAT prefix size"),
	F(0x0008, "Last PID-pointer index", "last index of the PID-pointer table"),
	/* 16-bit guest state */
	GUEST_SEGS(GUEST_SEL)			/* 0x0800 - 0x080e */
	F(0x0810, "Guest interrupt status", "RVI/SVI of virtual-interrupt delivery"),
	F(0x0812, "PML index", "next free entry of the page-modification log"),
	F(0x0814, "Guest UINV", "guest user-interrupt notification vector"),
	/* 16-bit host state */
	HOST_SEGS(HOST_SEL)			/* 0x0c00 - 0x0c0c */
	/* 64-bit control */
	F(0x2000, "Address of I/O bitmap A", "ports 0-0x7fff that exit"),
	F(0x2002, "Address of I/O bitmap B", "ports 0x8000-0xffff that exit"),
	F(0x2004, "Address of MSR bitmaps", "the page that selects which MSR accesses exit"),
	F(0x2006, "VM-exit MSR-store address", "where guest MSRs are saved at exit"),
	F(0x2008, "VM-exit MSR-load address", "host MSRs loaded at exit"),
	F(0x200a, "VM-entry MSR-load address", "guest MSRs loaded at entry"),
	F(0x200c, "Executive-VMCS pointer", "SMM monitor's executive VMCS"),
	F(0x200e, "PML address", "the page-modification log"),
	F(0x2010, "TSC offset", "added to the TSC the guest reads"),
	F(0x2012, "Virtual-APIC address", "the virtual-APIC page (TPR shadow, APICv)"),
	F(0x2014, "APIC-access address", "the page whose accesses are APIC accesses"),
	F(0x2016, "Posted-interrupt descriptor address", "descriptor of posted interrupts"),
	F(0x2018, "VM-function controls", "which VM functions VMFUNC may call"),
	FD(0x201a, "EPT pointer (EPTP)", "root of the EPT and how it is walked", DEC_EPTP),
	F(0x201c, "EOI-exit bitmap 0", "vectors 0-63 whose EOI exits"),
	F(0x201e, "EOI-exit bitmap 1", "vectors 64-127 whose EOI exits"),
	F(0x2020, "EOI-exit bitmap 2", "vectors 128-191 whose EOI exits"),
	F(0x2022, "EOI-exit bitmap 3", "vectors 192-255 whose EOI exits"),
	F(0x2024, "EPTP-list address", "EPTPs that VMFUNC 0 may switch to"),
	F(0x2026, "VMREAD-bitmap address", "shadow-VMCS fields a guest VMREAD reads"),
	F(0x2028, "VMWRITE-bitmap address", "shadow-VMCS fields a guest VMWRITE writes"),
	F(0x202a, "Virtualization-exception information address", "where #VE information goes"),
	F(0x202c, "XSS-exiting bitmap", "IA32_XSS bits whose XSAVES/XRSTORS exit"),
	F(0x202e, "ENCLS-exiting bitmap", "ENCLS leaves that exit"),
	F(0x2030, "Sub-page-permission-table pointer", "sub-page write permissions"),
	F(0x2032, "TSC multiplier", "scales the TSC the guest reads"),
	F(0x2034, "Tertiary processor-based VM-execution controls", "third set of execution controls"),
	F(0x2036, "ENCLV-exiting bitmap", "ENCLV leaves that exit"),
	F(0x2040, "HLATP", "hypervisor-managed linear-address translation root"),
	F(0x2044, "Secondary VM-exit controls", "second set of VM-exit controls"),
	/* 64-bit read-only data */
	F(0x2400, "Guest-physical address", "the GPA of an EPT violation or misconfiguration"),
	/* 64-bit guest state */
	F(0x2800, "VMCS link pointer", "shadow VMCS (all ones: none)"),
	F(0x2802, "Guest IA32_DEBUGCTL", "guest debug control MSR"),
	F(0x2804, "Guest IA32_PAT", "guest page-attribute table"),
	FB(0x2806, "Guest IA32_EFER", "guest EFER", efer_set),
	F(0x2808, "Guest IA32_PERF_GLOBAL_CTRL", "guest performance counters enabled"),
	F(0x280a, "Guest PDPTE0", "PAE page-directory pointer 0"),
	F(0x280c, "Guest PDPTE1", "PAE page-directory pointer 1"),
	F(0x280e, "Guest PDPTE2", "PAE page-directory pointer 2"),
	F(0x2810, "Guest PDPTE3", "PAE page-directory pointer 3"),
	F(0x2812, "Guest IA32_BNDCFGS", "guest MPX configuration"),
	F(0x2814, "Guest IA32_RTIT_CTL", "guest Intel PT control"),
	F(0x2816, "Guest IA32_LBR_CTL", "guest LBR control"),
	F(0x2818, "Guest IA32_PKRS", "guest supervisor protection keys"),
	/* 64-bit host state */
	F(0x2c00, "Host IA32_PAT", "PAT loaded at VM exit"),
	FB(0x2c02, "Host IA32_EFER", "EFER loaded at VM exit", efer_set),
	F(0x2c04, "Host IA32_PERF_GLOBAL_CTRL", "perf global control loaded at VM exit"),
	F(0x2c06, "Host IA32_PKRS", "PKRS loaded at VM exit"),
	/* 32-bit control */
	FB(0x4000, "Pin-based VM-execution controls", "asynchronous events: interrupts, NMIs, timer", pin_set),
	FB(0x4002, "Primary processor-based VM-execution controls", "which instructions exit", proc_set),
	FB(0x4004, "Exception bitmap", "guest exceptions that cause VM exits, by vector", exc_set),
	F(0x4006, "Page-fault error-code mask", "with the match: which #PF exit"),
	F(0x4008, "Page-fault error-code match", "with the mask: which #PF exit"),
	F(0x400a, "CR3-target count", "how many CR3-target values may be loaded without exit"),
	FB(0x400c, "Primary VM-exit controls", "what VM exit saves and loads", exit_set),
	F(0x400e, "VM-exit MSR-store count", "guest MSRs saved at exit"),
	F(0x4010, "VM-exit MSR-load count", "host MSRs loaded at exit"),
	FB(0x4012, "VM-entry controls", "what VM entry loads, the guest's mode", entry_set),
	F(0x4014, "VM-entry MSR-load count", "guest MSRs loaded at entry"),
	FD(0x4016, "VM-entry interruption-information field", "event to inject at the next entry", DEC_INTR_INFO),
	F(0x4018, "VM-entry exception error code", "error code of the injected exception"),
	F(0x401a, "VM-entry instruction length", "length for injected software events"),
	F(0x401c, "TPR threshold", "TPR value below which a VM exit occurs"),
	FB(0x401e, "Secondary processor-based VM-execution controls", "EPT, VPID and other extended controls", proc2_set),
	F(0x4020, "PLE_Gap", "PAUSE-loop exiting: gap between PAUSEs of one loop"),
	F(0x4022, "PLE_Window", "PAUSE-loop exiting: loop length that exits"),
	F(0x4024, "Instruction-timeout control", "instruction timeout"),
	/* 32-bit read-only data */
	F(0x4400, "VM-instruction error", "why the last VMX instruction failed"),
	FD(0x4402, "Exit reason", "why the last VM exit happened", DEC_EXIT_REASON),
	FD(0x4404, "VM-exit interruption information", "the event that caused the exit", DEC_INTR_INFO),
	F(0x4406, "VM-exit interruption error code", "its error code"),
	FD(0x4408, "IDT-vectoring information field", "the event being delivered when the exit happened", DEC_INTR_INFO),
	F(0x440a, "IDT-vectoring error code", "its error code"),
	F(0x440c, "VM-exit instruction length", "length of the instruction that exited"),
	F(0x440e, "VM-exit instruction information", "operands of the instruction that exited"),
	/* 32-bit guest state */
	GUEST_SEGS(GUEST_LIMIT)			/* 0x4800 - 0x480e */
	F(0x4810, "Guest GDTR limit", "guest GDT size"),
	F(0x4812, "Guest IDTR limit", "guest IDT size"),
	FD(0x4814, "Guest ES access rights", "guest ES type, DPL, present", DEC_AR),
	FD(0x4816, "Guest CS access rights", "guest CS type, DPL, L/D bits", DEC_AR),
	FD(0x4818, "Guest SS access rights", "guest SS (its DPL is the CPL)", DEC_AR),
	FD(0x481a, "Guest DS access rights", "guest DS", DEC_AR),
	FD(0x481c, "Guest FS access rights", "guest FS", DEC_AR),
	FD(0x481e, "Guest GS access rights", "guest GS", DEC_AR),
	FD(0x4820, "Guest LDTR access rights", "guest LDTR", DEC_AR),
	FD(0x4822, "Guest TR access rights", "guest TR", DEC_AR),
	FB(0x4824, "Guest interruptibility state", "event blocking at the exit", intrbl_set),
	FD(0x4826, "Guest activity state", "active, HLT, shutdown or wait-for-SIPI", DEC_ACTIVITY),
	F(0x4828, "Guest SMBASE", "guest SMRAM base"),
	F(0x482a, "Guest IA32_SYSENTER_CS", "guest SYSENTER code segment"),
	F(0x482e, "VMX-preemption timer value", "the timer's count (at entry, or saved at exit)"),
	/* 32-bit host state */
	F(0x4c00, "Host IA32_SYSENTER_CS", "SYSENTER_CS loaded at VM exit"),
	/* natural-width control */
	FB(0x6000, "CR0 guest/host mask", "CR0 bits the host owns: guest writes to them exit, reads see the shadow", cr0_set),
	FB(0x6002, "CR4 guest/host mask", "CR4 bits the host owns: guest writes to them exit, reads see the shadow", cr4_set),
	FB(0x6004, "CR0 read shadow", "what the guest reads for host-owned CR0 bits", cr0_set),
	FB(0x6006, "CR4 read shadow", "what the guest reads for host-owned CR4 bits", cr4_set),
	F(0x6008, "CR3-target value 0", "a CR3 value loadable without exit"),
	F(0x600a, "CR3-target value 1", "a CR3 value loadable without exit"),
	F(0x600c, "CR3-target value 2", "a CR3 value loadable without exit"),
	F(0x600e, "CR3-target value 3", "a CR3 value loadable without exit"),
	/* natural-width read-only data */
	F(0x6400, "Exit qualification", "details of the exit (depends on the reason)"),
	F(0x6402, "I/O RCX", "RCX of an SMI after an I/O instruction"),
	F(0x6404, "I/O RSI", "RSI of an SMI after an I/O instruction"),
	F(0x6406, "I/O RDI", "RDI of an SMI after an I/O instruction"),
	F(0x6408, "I/O RIP", "RIP of an SMI after an I/O instruction"),
	F(0x640a, "Guest-linear address", "linear address of the access that exited"),
	/* natural-width guest state */
	FB(0x6800, "Guest CR0", "guest CR0", cr0_set),
	F(0x6802, "Guest CR3", "guest page-table root"),
	FB(0x6804, "Guest CR4", "guest CR4", cr4_set),
	F(0x6806, "Guest ES base", "guest ES base"),
	F(0x6808, "Guest CS base", "guest CS base"),
	F(0x680a, "Guest SS base", "guest SS base"),
	F(0x680c, "Guest DS base", "guest DS base"),
	F(0x680e, "Guest FS base", "guest FS base (thread pointer)"),
	F(0x6810, "Guest GS base", "guest GS base"),
	F(0x6812, "Guest LDTR base", "guest LDT base"),
	F(0x6814, "Guest TR base", "guest TSS base"),
	F(0x6816, "Guest GDTR base", "guest GDT base"),
	F(0x6818, "Guest IDTR base", "guest IDT base"),
	F(0x681a, "Guest DR7", "guest debug control register"),
	F(0x681c, "Guest RSP", "guest stack pointer"),
	F(0x681e, "Guest RIP", "guest instruction pointer"),
	F(0x6820, "Guest RFLAGS", "guest flags"),
	F(0x6822, "Guest pending debug exceptions", "#DB conditions pending at the exit"),
	F(0x6824, "Guest IA32_SYSENTER_ESP", "guest SYSENTER stack"),
	F(0x6826, "Guest IA32_SYSENTER_EIP", "guest SYSENTER entry point"),
	F(0x6828, "Guest IA32_S_CET", "guest supervisor CET"),
	F(0x682a, "Guest SSP", "guest shadow-stack pointer"),
	F(0x682c, "Guest IA32_INTERRUPT_SSP_TABLE_ADDR", "guest interrupt SSP table"),
	/* natural-width host state */
	FB(0x6c00, "Host CR0", "CR0 loaded at VM exit", cr0_set),
	F(0x6c02, "Host CR3", "page-table root loaded at VM exit"),
	FB(0x6c04, "Host CR4", "CR4 loaded at VM exit", cr4_set),
	F(0x6c06, "Host FS base", "FS base loaded at VM exit"),
	F(0x6c08, "Host GS base", "GS base loaded at VM exit (the kernel's per-CPU area)"),
	F(0x6c0a, "Host TR base", "TSS of the host CPU"),
	F(0x6c0c, "Host GDTR base", "GDT of the host CPU"),
	F(0x6c0e, "Host IDTR base", "IDT of the host"),
	F(0x6c10, "Host IA32_SYSENTER_ESP", "SYSENTER_ESP loaded at VM exit"),
	F(0x6c12, "Host IA32_SYSENTER_EIP", "SYSENTER_EIP loaded at VM exit"),
	F(0x6c14, "Host RSP", "host stack at VM exit"),
	F(0x6c16, "Host RIP", "where the host resumes at VM exit"),
	F(0x6c18, "Host IA32_S_CET", "S_CET loaded at VM exit"),
	F(0x6c1a, "Host SSP", "shadow-stack pointer loaded at VM exit"),
	F(0x6c1c, "Host IA32_INTERRUPT_SSP_TABLE_ADDR", "interrupt SSP table loaded at VM exit"),
	{ 0, NULL, NULL, DEC_PLAIN, 0 }
};

#undef F
#undef FB
#undef FD
#undef GUEST_SEGS
#undef GUEST_SEL
#undef GUEST_LIMIT
#undef HOST_SEGS
#undef HOST_SEL

/* basic exit reasons (SDM Vol. 3D, Appendix C) */
static const char *const exit_reason_names[] = {
	[0] = "Exception or NMI", [1] = "External interrupt", [2] = "Triple fault",
	[3] = "INIT signal", [4] = "SIPI", [5] = "I/O SMI", [6] = "Other SMI",
	[7] = "Interrupt window", [8] = "NMI window", [9] = "Task switch",
	[10] = "CPUID", [11] = "GETSEC", [12] = "HLT", [13] = "INVD",
	[14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC", [17] = "RSM",
	[18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD",
	[22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE",
	[26] = "VMXOFF", [27] = "VMXON", [28] = "Control-register access",
	[29] = "MOV DR", [30] = "I/O instruction", [31] = "RDMSR", [32] = "WRMSR",
	[33] = "VM-entry failure: invalid guest state",
	[34] = "VM-entry failure: MSR loading", [36] = "MWAIT",
	[37] = "Monitor trap flag", [39] = "MONITOR", [40] = "PAUSE",
	[41] = "VM-entry failure: machine-check event", [43] = "TPR below threshold",
	[44] = "APIC access", [45] = "Virtualized EOI", [46] = "GDTR or IDTR access",
	[47] = "LDTR or TR access", [48] = "EPT violation", [49] = "EPT misconfiguration",
	[50] = "INVEPT", [51] = "RDTSCP", [52] = "VMX-preemption timer expired",
	[53] = "INVVPID", [54] = "WBINVD", [55] = "XSETBV", [56] = "APIC write",
	[57] = "RDRAND", [58] = "INVPCID", [59] = "VMFUNC", [60] = "ENCLS",
	[61] = "RDSEED", [62] = "Page-modification log full", [63] = "XSAVES",
	[64] = "XRSTORS", [66] = "SPP-related event", [67] = "UMWAIT", [68] = "TPAUSE",
};

/* names of well-known MSRs, for the MSR-bitmap summary */
struct msr_name {
	uint32_t msr;
	const char *name;
};

static const struct msr_name msr_names[] = {
	{ 0x10, "IA32_TIME_STAMP_COUNTER" }, { 0x1b, "IA32_APIC_BASE" },
	{ 0x3a, "IA32_FEATURE_CONTROL" }, { 0x48, "IA32_SPEC_CTRL" },
	{ 0x49, "IA32_PRED_CMD" }, { 0x8b, "IA32_BIOS_SIGN_ID" },
	{ 0xe7, "IA32_MPERF" }, { 0xe8, "IA32_APERF" },
	{ 0x10b, "IA32_FLUSH_CMD" }, { 0x174, "IA32_SYSENTER_CS" },
	{ 0x175, "IA32_SYSENTER_ESP" }, { 0x176, "IA32_SYSENTER_EIP" },
	{ 0x1d9, "IA32_DEBUGCTL" }, { 0x277, "IA32_PAT" },
	{ 0x3f8, "MSR_PKG_C3_RESIDENCY" }, { 0x3f9, "MSR_PKG_C6_RESIDENCY" },
	{ 0x3fa, "MSR_PKG_C7_RESIDENCY" }, { 0x3fc, "MSR_CORE_C3_RESIDENCY" },
	{ 0x3fd, "MSR_CORE_C6_RESIDENCY" }, { 0x3fe, "MSR_CORE_C7_RESIDENCY" },
	{ 0x606, "MSR_RAPL_POWER_UNIT" }, { 0x611, "MSR_PKG_ENERGY_STATUS" },
	{ 0x6e0, "IA32_TSC_DEADLINE" }, { 0x6e1, "IA32_PKRS" },
	{ 0x802, "x2APIC ID" }, { 0x808, "x2APIC TPR" }, { 0x80b, "x2APIC EOI" },
	{ 0x830, "x2APIC ICR" }, { 0x83f, "x2APIC SELF_IPI" },
	{ 0xc0000080, "IA32_EFER" }, { 0xc0000081, "IA32_STAR" },
	{ 0xc0000082, "IA32_LSTAR" }, { 0xc0000083, "IA32_CSTAR" },
	{ 0xc0000084, "IA32_FMASK" }, { 0xc0000100, "IA32_FS_BASE" },
	{ 0xc0000101, "IA32_GS_BASE" }, { 0xc0000102, "IA32_KERNEL_GS_BASE" },
	{ 0xc0000103, "IA32_TSC_AUX" },
	{ 0, NULL }
};

/* the capability MSRs a snapshot records */
static const struct msr_name cap_names[] = {
	{ 0x480, "IA32_VMX_BASIC" }, { 0x481, "IA32_VMX_PINBASED_CTLS" },
	{ 0x482, "IA32_VMX_PROCBASED_CTLS" }, { 0x483, "IA32_VMX_EXIT_CTLS" },
	{ 0x484, "IA32_VMX_ENTRY_CTLS" }, { 0x485, "IA32_VMX_MISC" },
	{ 0x486, "IA32_VMX_CR0_FIXED0" }, { 0x487, "IA32_VMX_CR0_FIXED1" },
	{ 0x488, "IA32_VMX_CR4_FIXED0" }, { 0x489, "IA32_VMX_CR4_FIXED1" },
	{ 0x48a, "IA32_VMX_VMCS_ENUM" }, { 0x48b, "IA32_VMX_PROCBASED_CTLS2" },
	{ 0x48c, "IA32_VMX_EPT_VPID_CAP" }, { 0x48d, "IA32_VMX_TRUE_PINBASED_CTLS" },
	{ 0x48e, "IA32_VMX_TRUE_PROCBASED_CTLS" }, { 0x48f, "IA32_VMX_TRUE_EXIT_CTLS" },
	{ 0x490, "IA32_VMX_TRUE_ENTRY_CTLS" }, { 0x491, "IA32_VMX_VMFUNC" },
	{ 0x492, "IA32_VMX_PROCBASED_CTLS3" },
	{ 0, NULL }
};

#endif /* DUNEBENCH_VMCS_TABLES_H */
