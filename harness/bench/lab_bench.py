"""lab_bench - `dunebench bench --lab`: the micro-benchmarks in the VMX lab.

Boots harness/lab/lab.sh with LAB_LISTS=micro/lab-bench.list (a list that
lab.sh's discovery never picks up, so `make check` does not run it), reads
the "@@BENCH {json}" / "@@BENCH-NA {json}" lines of the serial console and
writes one results file in unit "ticks" (Bochs' TSC counts emulated steps:
path lengths, never speed) as implementation "dunebench-lab", or the name
--implementation/--impl gives.

The rows that need two CPUs (libdune's exit-less system calls: a host
poller thread answers the vCPU) are declared '@cpus 2' in the list: the
one-CPU boot leaves them out and a second boot (lab.sh --cpus 2 --smp-only,
LAB_WORKDIR=<workdir>-smp) runs only them; both serial logs are read, and
those rows record lab_cpus 2 in their info.  --lab-serial F reads F and,
if it exists, F's -smp twin (<workdir>-smp/run-<cpu>/serial.clean).

The SMP table's rows (IPI round trip and one-way time between two vCPUs,
Dune over vmx and kvm, beside Linux's futex and eventfd round trips; a
one-page TLB shootdown to the other CPU, Dune and Linux) come from a boot
of their own with two CPUs (micro/lab-bench-smp.list, LAB_WORKDIR
<workdir>-smp-ipi) and go into a results file of their own,
results/vmx-lab-smp/<ts>-<impl>.json (--smp-out DIR): host "vmx-lab-smp"
(a machine with two CPUs, host.lab.table "smp"), so that the one-CPU lab
table and the paper tables never mix them in; plots/report.py renders it
as lab-smp-table.md.  --smp-only boots (or with --lab-serial F reads) only
that.  A Dune row whose backend has no APIC (dune_apic_supported() false)
is recorded unavailable, "unsupported by this backend".  With another
implementation (--module/--libdune) the SMP boot is left out (ours only).

Another implementation: --module FILE (MODULE=) is the dune.ko it loads
instead of ours; --libdune FILE (LIBDUNE=) with --dune-include DIR
(DUNE_INCLUDE=, holding DIR/dune/dune.h) is what its Dune-mode benchmarks
link (micro/Makefile lab-bins, BENCH_LIBDUNE/BENCH_DUNE_INCLUDE).  Without
--impl its name is derived from them (derive_name).  It is measured in the
same boot as ours, after it, with the same programs (a second list, written
into the work directory: its module and benchmark binary go in with
@hostbin); the serial log has a "@@BENCH-IMPL other" line where its part
begins.  Two results files come out of such a boot, ours (dunebench-lab)
and the other one, each naming the other (host.lab.same_boot): the lab
table then puts the other one in its reference column as measured in the
same boot (plots/dbplots.py).
"""
import hashlib
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

LIST = 'micro/lab-bench.list'
SMP_LIST = 'micro/lab-bench-smp.list'
SMP_WORKDIR_SUFFIX = '-smp-ipi'
SMP_HOSTNAME = 'vmx-lab-smp'
CPU = 'corei7_skylake_x'
# The path-length rows the module's issue asks for, all from one boot: each
# is recorded, as numbers or as unavailable with a reason, in every lab run.
REQUIRED = (
    ('syscall', 'dune', 'vmx'),            # VMCALL getpid round trip
    ('vmexit', 'dune', 'vmx'),             # null VMCALL exit
    ('pgfault', 'dune', 'vmx'),            # EPT fault-in of a fresh page
    ('syscall', 'linux', None),            # native getpid
    ('pgfault', 'linux', None),            # native first-touch page fault
    ('kvm-out-exit', 'linux', 'kvm_intel'),    # KVM exit to user space
    ('kvm-cpuid-exit', 'linux', 'kvm_intel'),  # KVM in-kernel exit
)
# The SMP table's rows, from their two-CPU boot (micro/lab-bench-smp.list).
SMP_REQUIRED = (
    ('ipi-rtt', 'dune', 'vmx'),            # x2APIC IPI round trip (and one way)
    ('ipi-rtt', 'dune', 'kvm'),
    ('futex-rtt', 'linux', None),          # Linux: futex wake round trip
    ('eventfd-rtt', 'linux', None),        # Linux: eventfd ping-pong
    ('shootdown', 'linux', None),          # Linux: mprotect of a page another thread reads
    ('shootdown', 'dune', 'vmx'),          # Dune: PTE + invlpg + IPI + remote invlpg
    ('shootdown', 'dune', 'kvm'),
)
LINE = re.compile(r'@@BENCH(-NA)? (\{.*\})\s*$')
# where the other implementation's part of a same-boot run begins
SECTION = re.compile(r'@@BENCH-IMPL (\S+)')
OURS = 'dunebench-lab'

INIT = re.compile(r'^@@LAB init uptime=(\S+) kernel=(\S+)')


def clean_reason(why):
    """The reason of a @@BENCH-NA line without Google Benchmark's wrapping
    ("NAME/iterations:5/manual_time   ERROR OCCURRED: 'unavailable: WHY'")."""
    if not why:
        return why
    m = re.search(r"ERROR OCCURRED: '(.*?)'?\s*$", why)
    if m:
        why = m.group(1)
    return re.sub(r'^unavailable: ', '', why).strip()


def parse_serial(text, section='ours'):
    """-> (samples {(name, mode, backend): [line dicts]}, na {key: (reason, failed)}, info)

    A @@BENCH-NA line says failed: false when the benchmark is unavailable in
    the lab (micro-bench exit 77); without the field (older logs) it counts
    as failed, as the lab test reported it not ok.  @section: 'ours' (the
    lines before any "@@BENCH-IMPL" line) or 'other' (after "@@BENCH-IMPL
    other"); info['sections'] lists those present."""
    samples, na, info = {}, {}, {'sections': ['ours']}
    cur = 'ours'
    for raw in text.splitlines():
        m = INIT.match(raw)
        if m:
            info['kernel'] = m.group(2)
            info['init_uptime_s'] = float(m.group(1))
            continue
        m = SECTION.search(raw)
        if m:
            cur = m.group(1)
            if cur not in info['sections']:
                info['sections'].append(cur)
            continue
        if cur != section:
            continue
        m = LINE.search(raw)
        if not m:
            continue
        try:
            d = json.loads(m.group(2))
        except ValueError:
            continue
        key = (d['name'], d['mode'], d.get('backend'))
        if m.group(1):
            na[key] = (clean_reason(d.get('reason')) or 'not run',
                       d.get('failed', True) is not False)
        else:
            samples.setdefault(key, []).append(d)
    return samples, na, info


def smp_twin(serial, suffix='-smp'):
    """The two-CPU boot's serial log beside a one-CPU one:
    <workdir>/run-<cpu>/serial.clean -> <workdir><suffix>/run-<cpu>/serial.clean
    (suffix -smp: the exit-less rows; SMP_WORKDIR_SUFFIX: the SMP table's)"""
    run = os.path.dirname(os.path.abspath(serial))
    work = os.path.dirname(run)
    if not os.path.basename(run).startswith('run-'):
        return None
    return os.path.join(work + suffix, os.path.basename(run), os.path.basename(serial))


def stem_of(path, suffix):
    """A name for FILE: its base name without SUFFIX (and "lib"), or its
    directory's name when that is the generic dune / lib."""
    d, b = os.path.split(os.path.abspath(path))
    b = b[:-len(suffix)] if b.endswith(suffix) else b
    if suffix == '.a' and b.startswith('lib'):
        b = b[3:]
    while b in ('dune', 'lib', 'kern', 'libdune', 'build', 'src', '') and d not in ('', '/'):
        d, b = os.path.split(d)
    return b


def derive_name(module, libdune):
    """The implementation name of a lab run: dunebench-lab for ours, else
    the module's and library's names (what --impl overrides)."""
    if not module and not libdune:
        return 'dunebench-lab'
    parts = []
    for path, suffix in ((module, '.ko'), (libdune, '.a')):
        if path:
            n = re.sub(r'[^A-Za-z0-9._+-]', '-', stem_of(path, suffix)).strip('-.') or 'other'
            if n not in parts:
                parts.append(n)
    return '+'.join(parts) + '-lab'


def target(args):
    """(module, libdune, include, name, error): what implementation the lab
    runs, from the options or MODULE=/LIBDUNE=/DUNE_INCLUDE=; error (a
    string) when one of them is wrong, before anything is built or booted."""
    module = args.module or os.environ.get('MODULE') or None
    libdune = args.libdune or os.environ.get('LIBDUNE') or None
    include = args.dune_include or os.environ.get('DUNE_INCLUDE') or None
    for what, path in (('--module/MODULE=', module), ('--libdune/LIBDUNE=', libdune)):
        if path and not os.path.isfile(path):
            return None, None, None, None, f'{what}{path}: no such file'
    if include and not os.path.isfile(os.path.join(include, 'dune', 'dune.h')):
        return None, None, None, None, (
            f'--dune-include/DUNE_INCLUDE={include}: no {os.path.join(include, "dune", "dune.h")} '
            '(the directory that holds dune/dune.h, the one given to -I)')
    if include and not libdune:
        return None, None, None, None, '--dune-include/DUNE_INCLUDE= without a library (--libdune/LIBDUNE=)'
    name = args.implementation or derive_name(module, libdune)
    if not re.match(r'^[A-Za-z0-9][A-Za-z0-9._+-]*$', name):
        return None, None, None, None, f'--impl {name!r}: letters, digits and . _ + - only'
    ab = (lambda p: p and os.path.abspath(p))
    return ab(module), ab(libdune), ab(include), name, None


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def other_bins(top, workdir, libdune, include, log):
    """The other implementation's micro-bench-dune, built on this host against
    @libdune (micro/Makefile lab-bins with BENCH_LIBDUNE), in workdir/other-bin;
    None without a library of its own (it runs ours).  Raises OSError."""
    if not libdune:
        return None
    out = os.path.join(workdir, 'other-bin')
    os.makedirs(out, exist_ok=True)
    argv = ['make', '-s', '-C', os.path.join(top, 'micro'), 'lab-bins', f'LAB_BINDIR={out}',
            f'BENCH_LIBDUNE={libdune}'] + ([f'BENCH_DUNE_INCLUDE={include}'] if include else [])
    log(f'dunebench-bench: building the benchmarks against {libdune}: {" ".join(argv[1:])}')
    if subprocess.call(argv, cwd=top) != 0:
        raise OSError(f'building micro-bench-dune against {libdune} failed')
    return os.path.join(out, 'micro-bench-dune')


def pair_list(workdir, module, bench):
    """Write the list of the other implementation's part of a same-boot run
    (after micro/lab-bench.list's, which is ours): its module (or ours),
    its benchmark binary (or ours), the Dune-mode benchmarks of
    micro/lab-bench.list.  Returns its path."""
    ko = module or '/mod/dune.ko'
    name = re.sub(r'[^A-Za-z0-9_]', '_', os.path.basename(ko)[:-3] if ko.endswith('.ko') else
                  os.path.basename(ko))
    run = f'MICRO_BENCH={bench} micro-lab-bench' if bench else 'micro-lab-bench'
    host = ' '.join(p for p in (module, bench) if p)
    lines = [
        '# written by dunebench bench --lab: the other implementation of a same-boot run',
        '# (its part of the serial log begins at "@@BENCH-IMPL other")',
        '@cpu\tintel',
        '@cpus\t1',
    ]
    if host:
        lines.append(f'@hostbin\t{host}')
    # another module may not know ours's guest_slice_us: loaded as it is
    load = (f'insmod {ko}' + ('' if module else ' guest_slice_us=200') +
            ' && { test -c /dev/dune || mknod /dev/dune c 10 233; } && test -c /dev/dune')
    lines += [
        'bench.other.begin\t10\techo "@@BENCH-IMPL other"',
        f'bench.other.vmx.load\t60\t{load}',
        f'bench.other.dune.vmx\t900\t{run} dune vmx',
        f'bench.other.dune-user.vmx\t600\t{run} dune-user vmx',
        f'bench.other.vmx.unload\t60\trmmod {name}',
    ]
    if bench:   # a library of its own: its kvm backend, if it has one (kvm.ko is loaded)
        lines += [f'bench.other.dune.kvm\t900\t{run} dune kvm',
                  f'bench.other.dune-user.kvm\t600\t{run} dune-user kvm']
    path = os.path.join(workdir, 'lab-bench-other.list')
    os.makedirs(workdir, exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def boot(top, workdir, timeout, log, extra_list=None, cpus=1, base_list=LIST):
    lists = [os.path.join(top, base_list)] + ([extra_list] if extra_list else [])
    env = dict(os.environ, LAB_WORKDIR=workdir, LAB_LISTS=' '.join(lists))
    for k in ('BENCH_LIBDUNE', 'BENCH_DUNE_INCLUDE', 'LAB_MODULE'):
        env.pop(k, None)
    argv = [os.path.join(top, 'harness', 'lab', 'lab.sh'), '--cpu', CPU, '--timeout', str(timeout),
            '--tap', os.path.join(workdir, 'bench.tap')]
    if cpus > 1:
        argv += ['--cpus', str(cpus), '--smp-only']
    log(f'dunebench-bench: booting the VMX lab: LAB_WORKDIR={workdir} LAB_LISTS='
        f'{" ".join(os.path.relpath(p, top) for p in lists)} {" ".join(argv[1:])}')
    t0 = time.monotonic()
    rc = subprocess.call(argv, env=env, cwd=top)
    return rc, time.monotonic() - t0


def read_section(serial, smp_serial, section, log):
    """(samples, na, info, smp_keys) of one implementation's part of a run:
    the one-CPU boot's serial log and the two-CPU boot's (ours only)."""
    try:
        with open(serial, errors='replace') as f:
            text = f.read()
    except OSError as e:
        log(f'dunebench-bench: no serial log: {e}')
        return None
    samples, na, info = parse_serial(text, section)
    smp_keys = set()
    if smp_serial and section == 'ours':
        try:
            with open(smp_serial, errors='replace') as f:
                s2, na2, _ = parse_serial(f.read())
        except OSError as e:
            log(f'dunebench-bench: no serial log of the two-CPU boot: {e}')
            s2, na2 = {}, {}
        for key, lines in s2.items():
            samples[key] = lines
            na.pop(key, None)
            smp_keys.add(key)
        for key, v in na2.items():
            if key not in samples:
                na[key] = v
                smp_keys.add(key)
    return samples, na, info, smp_keys


def oneway_series(bb, lines):
    """The per-repetition one-way times of a round-trip row (info.oneway_cycles
    of its @@BENCH lines, timer overhead already subtracted) as a series in
    ticks, or None when its lines have none."""
    v = [d['info']['oneway_cycles'] for d in lines
         if isinstance(d.get('info'), dict) and isinstance(d['info'].get('oneway_cycles'),
                                                           (int, float))]
    return bb.series(v, 'ticks') if v else None


def make_doc(bb, top, section, samples, na, info, smp_keys, descr, serial, smp_serial,
             lab_rc, lab_wall, impl_name, module, libdune, include, started, t0, kind='main'):
    """One implementation's results document; None when its part has no lines.
    kind 'smp': the SMP table's two-CPU boot (host vmx-lab-smp, SMP_REQUIRED)."""
    if not samples:
        bb.log(f'dunebench-bench: no @@BENCH lines for {impl_name} in {serial}')
        return None, []
    if kind == 'smp':
        required = SMP_REQUIRED
    else:
        required = REQUIRED if section == 'ours' else \
            tuple(k for k in REQUIRED if k[1] != 'linux')   # the other part: Dune modes only
    for key in required:
        if key not in samples and key not in na:
            na[key] = (f'no @@BENCH line for it in the serial log {os.path.basename(serial)} '
                       f'(its lab test did not run, or died before printing)', True)
            bb.log(f'dunebench-bench: {impl_name}: missing from the lab run: {key[0]} {key[1]}'
                   f'{"/" + key[2] if key[2] else ""}')
    results = []
    for key in sorted(set(samples) | set(na), key=lambda k: (k[0], k[1], k[2] or '')):
        name, mode, backend = key
        what, per = descr.get(name, (None, 'exit'))
        r = {'name': name, 'mode': mode, 'backend': backend, 'per': per,
             'description': what or (samples.get(key) or [{}])[0].get('what', name)}
        lines = samples.get(key)
        if not lines:
            why, failed = na[key]
            results.append(dict(r, available=False, state='failed', error=why) if failed else
                           dict(r, available=False, state='unavailable', reason=why))
            continue
        r['available'] = True
        r['state'] = 'measured'
        r.update(bb.series([d['per_op'] for d in lines], 'ticks'))
        r['iterations'] = int(lines[0].get('batches', 1))
        r['ops_per_repetition'] = float(lines[0]['ops'])
        r['timer_overhead'] = float(lines[0].get('timer_overhead', 0))
        r['info'] = {
            'batch': lines[0].get('batch'),
            'batches_per_repetition': lines[0].get('batches'),
            'baseline_ticks_per_batch_median':
                statistics.median(d['baseline_total'] / max(d.get('batches', 1), 1) for d in lines),
            'preempted_batches': sum(d.get('preempted', 0) for d in lines),
            'source': 'VMX lab serial console',
            'lab_cpus': 2 if key in smp_keys or kind == 'smp' else 1,
        }
        ow = oneway_series(bb, lines)
        if ow:
            # the round trip's first half: send to the other side's wakeup
            r['oneway'] = ow
            r['info']['oneway_timer_overhead'] = lines[0]['info'].get('oneway_overhead')
        results.append(r)

    smp = kind == 'smp'
    host = {
        'hostname': SMP_HOSTNAME if smp else 'vmx-lab',
        'cpu_model': f'Bochs 2.7 {CPU} (emulated: VMX, EPT, VPID, EPT A/D)',
        'cpu_vendor': 'GenuineIntel',
        'cpus_online': 2 if smp else 1,
        'kernel': info.get('kernel', 'unknown'),
        'virtualized': True,
        'hypervisor': 'bochs (full emulation; TSC = emulated steps)',
        'governor': None,
        'governor_reason': 'emulated CPU',
        'tsc_hz': None,
        # the lab is one emulated machine wherever it runs: no machine id
        # (the two-CPU machine is another host: its runs never merge with the one-CPU ones)
        'host_id': bb.host_ids(f'Bochs 2.7 {CPU}' + (' x 2 CPUs' if smp else ''), None,
                               info.get('kernel', 'unknown'), 'bochs', machine_id=None)[0],
        'lab': {'cpu': CPU, 'list': SMP_LIST if smp else LIST, 'cpus': 2 if smp else 1,
                'table': 'smp' if smp else 'main',
                'serial': os.path.relpath(serial, top),
                'smp_serial': smp_serial and section == 'ours' and os.path.relpath(smp_serial, top)
                or None,
                'section': section,
                'lab_exit_status': lab_rc, 'lab_wall_s': lab_wall and round(lab_wall, 1),
                'init_uptime_s': info.get('init_uptime_s'),
                'emulator_host': bb.socket.gethostname().split('.')[0]},
    }
    backends = sorted({r['backend'] for r in results if r['available'] and r['mode'] != 'linux'
                       and r['backend']})
    impl = bb.implementation_capture(impl_name, backends)
    if module:
        impl['module'] = {'name': 'dune', 'version': None, 'srcversion': None,
                          'path': module, 'sha256': sha256(module),
                          'note': 'loaded in the lab instead of ours (--module/MODULE=)'}
    else:
        impl['module'] = {'name': 'dune', 'version': None, 'srcversion': None,
                          'note': 'ref-module built for the lab kernel by ref-module/tests lab'}
    if libdune:
        impl['library'] = {'path': libdune, 'sha256': sha256(libdune), 'include': include,
                           'note': 'linked into micro-bench-dune (--libdune/LIBDUNE=)'}
        impl['library_version'] = None
    reps = max((r.get('repetitions', 1) for r in results if r['available']), default=1)
    doc = {
        'format': 'dunebench-results-v1',
        'created': started.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'host': host,
        'implementation': impl,
        'run': {
            'profile': 'custom', 'repetitions': reps, 'unit': 'ticks',
            'tool': 'dunebench-bench --lab', 'command': bb.repo_relative(sys.argv),
            'cpu': None, 'gbench_version': None,
            'wall_time_s': round(time.monotonic() - t0, 3),
            'note': 'VMX lab path lengths (Bochs ticks = emulated steps), not speed; '
                    'per op; each repetition is the median of its batches (micro/tests/'
                    'lab-bench.sh: batches of up to 20 ops, 5 per repetition); timer '
                    'overhead and ring-3 entry/exit (dune-user) subtracted' +
                    ('; two CPUs, the two threads of a row pinned one to each; oneway: per '
                     'repetition the median over its round trips of the TSC at the other '
                     'side\'s wakeup minus the TSC before the send, less two back-to-back '
                     'RDTSCs' if smp else ''),
        },
        'benchmarks': results,
    }
    note = bb.validate(doc)
    if note:
        bb.log(f'dunebench-bench: {note}')
    return doc, [r for r in results if r['state'] == 'failed']


def write_docs(bb, docs, paths, t0):
    for doc, path in zip(docs, paths):
        doc['run']['wall_time_s'] = round(time.monotonic() - t0, 3)
        with open(path + '.tmp', 'w') as f:
            json.dump(doc, f, indent=1)
            f.write('\n')
        os.replace(path + '.tmp', path)
        print()
        bb.summary(doc)
        rel = os.path.relpath(path)
        print(f'\nwrote {path if rel.startswith("..") else rel} ({doc["run"]["wall_time_s"]:.0f} s)')


def smp_run(bb, args, top, workdir, outdir, impl_name, descr, started, t0):
    """The SMP table's boot (or, with --lab-serial, its log): one results
    file in @outdir.  -> (exit status, failed rows)."""
    lab_rc, lab_wall = None, None
    if args.lab_serial:
        serial = args.lab_serial if args.smp_only else smp_twin(args.lab_serial,
                                                                 SMP_WORKDIR_SUFFIX)
        if not args.smp_only and not (serial and os.path.isfile(serial)):
            bb.log('dunebench-bench: no serial log of the SMP table\'s two-CPU boot beside '
                   f'{args.lab_serial} (<workdir>{SMP_WORKDIR_SUFFIX}/run-{CPU}/serial.clean): '
                   'no SMP results file')
            return 0, []
    else:
        smp_dir = workdir + SMP_WORKDIR_SUFFIX
        lab_rc, lab_wall = boot(top, smp_dir, args.lab_timeout, bb.log, cpus=2,
                                base_list=SMP_LIST)
        serial = os.path.join(smp_dir, f'run-{CPU}', 'serial.clean')
    try:
        with open(serial, errors='replace') as f:
            samples, na, info = parse_serial(f.read())
    except OSError as e:
        bb.log(f'dunebench-bench: no serial log of the SMP boot: {e}')
        return 1, []
    doc, failed = make_doc(bb, top, 'ours', samples, na, info, set(samples) | set(na), descr,
                           serial, None, lab_rc, lab_wall, impl_name, None, None, None,
                           started, t0, kind='smp')
    if doc is None:
        return 1, []
    path = bb.unique_path(outdir, f'{started.strftime("%Y%m%dT%H%M%SZ")}-{impl_name}')
    write_docs(bb, [doc], [path], t0)
    return (0 if lab_rc in (None, 0) else 1), failed


def main(args, bb):
    top = bb.TOP
    workdir = os.environ.get('LAB_WORKDIR') or os.path.join(bb.BUILD, 'lab-bench')
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    t0 = time.monotonic()
    lab_rc, lab_wall = None, None
    smp_only = bool(getattr(args, 'smp_only', False))
    smp_out = getattr(args, 'smp_out', None)
    if smp_only:
        if args.out and smp_out:
            bb.log('dunebench-bench: --smp-only with both --out and --smp-out: give one '
                   '(the SMP results file\'s directory); nothing was run')
            return 2
        smp_outdir = args.out or smp_out or os.path.join(top, 'results', 'vmx-lab-smp')
        outdir = None
    else:
        outdir = args.out or os.path.join(top, 'results', 'vmx-lab')
        # results/vmx-lab -> results/vmx-lab-smp; --out DIR -> DIR-smp
        smp_outdir = smp_out or os.path.normpath(outdir) + '-smp'
    module, libdune, include, impl_name, bad = target(args)
    if bad:
        bb.log(f'dunebench-bench: {bad}; nothing was run')
        return 2
    other = bool(module or libdune)
    if other and smp_only:
        bb.log('dunebench-bench: --smp-only measures ours only (the SMP table has no reference '
               'column): not with --module/--libdune; nothing was run')
        return 2
    if other and impl_name == OURS:
        bb.log(f'dunebench-bench: --impl {OURS} is the name of ours, measured in the same boot; '
               'nothing was run')
        return 2
    bb.log(f'dunebench-bench: implementation {impl_name}'
           f'{": module " + module if module else ""}{", library " + libdune if libdune else ""}'
           f'{" (in one boot with ours, " + OURS + ", the reference)" if other else ""}'
           f'{" (the SMP table only)" if smp_only else ""}')
    if args.lab_check_args:
        return 0
    # the SMP table's part runs: ours, and with --lab-serial only if its log is there
    smp_part = not other and (smp_only or not args.lab_serial or bool(
        smp_twin(args.lab_serial, SMP_WORKDIR_SUFFIX) and
        os.path.isfile(smp_twin(args.lab_serial, SMP_WORKDIR_SUFFIX))))
    for d in ([outdir] if outdir else []) + ([smp_outdir] if smp_part else []):
        why = bb.check_outdir(d)
        if why:     # before a boot of minutes, not after it
            bb.log(f'dunebench-bench: --{"smp-out" if d == smp_outdir else "out"} {d}: {why}; '
                   'nothing was run')
            return 2
    descr = {}
    micro = bb.micro_dune_path() or bb.micro_path()
    rc, out, _ = bb.run_cmd([micro, '--list-json'])
    if rc == 0:
        descr = {b['name']: (b['what'], b['per']) for b in json.loads(out)}
    if smp_only:
        rc, failed = smp_run(bb, args, top, workdir, smp_outdir, impl_name, descr, started, t0)
        for r in failed:
            bb.log(f'dunebench-bench: FAILED in the lab: {r["name"]} ({r["mode"]}'
                   f'{"/" + r["backend"] if r.get("backend") else ""}): {r["error"]}')
        return rc or (1 if failed else 0)
    smp_serial = None
    if args.lab_serial:
        serial = args.lab_serial
        twin = smp_twin(serial)
        smp_serial = twin if twin and os.path.isfile(twin) else None
    else:
        extra = None
        if other:
            try:
                bench = other_bins(top, workdir, libdune, include, bb.log)
            except OSError as e:
                bb.log(f'dunebench-bench: {e}; nothing was run')
                return 1
            extra = pair_list(workdir, module, bench)
        lab_rc, lab_wall = boot(top, workdir, args.lab_timeout, bb.log, extra)
        serial = os.path.join(workdir, f'run-{CPU}', 'serial.clean')
        # the rows declared '@cpus 2' (ours): a second boot with two CPUs
        smp_rc, smp_wall = boot(top, workdir + '-smp', args.lab_timeout, bb.log, cpus=2)
        smp_serial = os.path.join(workdir + '-smp', f'run-{CPU}', 'serial.clean')
        lab_rc = lab_rc or smp_rc
        lab_wall = lab_wall + smp_wall

    got = read_section(serial, smp_serial, 'ours', bb.log)
    if got is None:
        return 1
    parts = [('ours', OURS if other else impl_name, None, None, None)]
    if other and 'other' in got[2]['sections']:
        parts.append(('other', impl_name, module, libdune, include))
    elif other and args.lab_serial:
        # a log of a boot that measured only the other implementation
        parts = [('ours', impl_name, module, libdune, include)]
    elif other:
        bb.log(f'dunebench-bench: the serial log has no part of {impl_name} (no "@@BENCH-IMPL '
               'other" line: its tests did not run)')
        lab_rc = lab_rc or 1
    docs, failed = [], []
    for section, name, mod, lib, inc in parts:
        got = got if section == 'ours' else read_section(serial, smp_serial, section, bb.log)
        if got is None:
            return 1
        samples, na, info, smp_keys = got
        doc, f = make_doc(bb, top, section, samples, na, info, smp_keys, descr, serial, smp_serial,
                          lab_rc, lab_wall, name, mod, lib, inc, started, t0)
        if doc is None:
            return 1
        docs.append(doc)
        failed += f
    paths = [bb.unique_path(outdir, f'{started.strftime("%Y%m%dT%H%M%SZ")}-{d["implementation"]["name"]}')
             for d in docs]
    if len(docs) > 1:
        boot_id = f'{started.strftime("%Y%m%dT%H%M%SZ")}-{os.path.basename(serial)}'
        for d, p, (od, op) in zip(docs, paths, zip(docs[::-1], paths[::-1])):
            d['host']['lab']['boot'] = boot_id
            d['host']['lab']['same_boot'] = {'implementation': od['implementation']['name'],
                                             'file': os.path.basename(op),
                                             'section': od['host']['lab']['section']}
    write_docs(bb, docs, paths, t0)
    # the SMP table: a two-CPU boot of its own (ours only), a results file of its own
    smp_rc = 0
    if other:
        bb.log('dunebench-bench: the SMP table\'s boot is left out with another implementation '
               '(dunebench bench --lab --smp-only measures ours)')
    else:
        smp_rc, f = smp_run(bb, args, top, workdir, smp_outdir, impl_name, descr, started, t0)
        failed += f
    for r in failed:
        bb.log(f'dunebench-bench: FAILED in the lab: {r["name"]} ({r["mode"]}'
               f'{"/" + r["backend"] if r.get("backend") else ""}): {r["error"]}')
    if lab_rc not in (None, 0):
        bb.log(f'dunebench-bench: the lab reported failures (exit {lab_rc}); see {workdir}')
    return 0 if lab_rc in (None, 0) and not smp_rc and not failed else 1
