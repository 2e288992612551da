"""dbplots - read dunebench results files and turn them into tables and charts.

Shared by plots/report.py and plots/compare.py.  Reads only results files
(results/schema/results-v1.json) and plots/paper_numbers.json.

Units are never mixed: every table holds one unit and every chart axis one
unit.  "cycles" (TSC cycles on a real or virtual CPU) and "ticks" (emulated
steps in the VMX lab: path lengths, not speed) get separate tables and
charts, each titled with its unit.
"""
import glob
import html
import json
import math
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SCHEMA = os.path.join(TOP, 'results', 'schema', 'results-v1.json')
PAPER = os.path.join(HERE, 'paper_numbers.json')

NA_HOST = 'n/a on this host'
FAILED = 'FAILED'
NOT_RUN = '—'
UNIT_LABEL = {
    'cycles': 'cycles',
    'ticks': 'ticks (VMX lab path length, not speed)',
}


def warn(msg):
    print(f'plots: {msg}', file=sys.stderr)


# ---------------------------------------------------------------- loading

def _validator():
    try:
        import jsonschema
    except ImportError:
        warn('python3-jsonschema missing: results files are not validated')
        return None
    with open(SCHEMA) as f:
        schema = json.load(f)
    return jsonschema.validators.validator_for(schema)(schema)


def find_files(paths):
    """Results files under paths (files or directories, recursively)."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for f in sorted(glob.glob(os.path.join(p, '**', '*.json'), recursive=True)):
                parts = os.path.relpath(f, p).split(os.sep)
                if 'schema' in parts or 'tests' in parts:
                    continue  # the schema and test fixtures are not results
                out.append(f)
        else:
            out.append(p)
    return out


def load(paths):
    """[(path, doc)] of the valid results files; invalid ones are skipped loudly."""
    v = _validator()
    docs = []
    for f in find_files(paths):
        try:
            with open(f) as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as e:
            warn(f'{f}: skipped: {e}')
            continue
        if v is not None:
            errs = list(v.iter_errors(doc))
            if errs:
                warn(f'{f}: skipped: not a results-v1 file ({errs[0].message[:120]})')
                continue
        docs.append((f, doc))
    return docs


def host_key(d):
    """Which machine: host_id when the file has one (two hosts may share a name)."""
    return d['host'].get('host_id') or d['host']['hostname']


def is_partial(d):
    return bool(d.get('run', {}).get('partial'))


def latest(docs):
    """Per (host, implementation, unit): each benchmark's newest complete result.

    A run of a few benchmarks (--only) does not hide the others' results of
    an earlier run, and an interrupted (partial) run is left out.  The doc
    returned is the newest run's with its benchmarks replaced; each entry
    carries '_run' (the file it comes from) and the doc '_runs' (every file
    used, newest first)."""
    groups = {}
    for f, d in docs:
        if is_partial(d):
            warn(f'{f}: a partial run (interrupted): left out of the tables and charts')
            continue
        key = (host_key(d), d['implementation']['name'], doc_unit(d))
        groups.setdefault(key, []).append((f, d))
    out = []
    for runs in groups.values():
        runs.sort(key=lambda x: (x[1]['created'], x[0]), reverse=True)
        chosen = {}

        def rank(r):  # measured beats failed beats unavailable; then newest
            return {'measured': 2, 'failed': 1}.get(state(r), 0)
        for f, d in runs:
            for r in d['benchmarks']:
                k = (r['name'], r['mode'], r.get('backend'))
                if k not in chosen or rank(r) > rank(chosen[k][1]):
                    chosen[k] = (f, r)
        f0, d0 = runs[0]
        merged = dict(d0)
        order = []
        for f, d in runs:
            for r in d['benchmarks']:
                k = (r['name'], r['mode'], r.get('backend'))
                if k not in order:
                    order.append(k)
        merged['benchmarks'] = [dict(chosen[k][1], _run=chosen[k][0]) for k in order]
        merged['_runs'] = [f for f, _ in runs if any(chosen[k][0] == f for k in chosen)]
        out.append((f0, merged))
    return sorted(out, key=lambda x: (x[1]['host']['hostname'],
                                      x[1]['implementation']['name']))


def sources_note(d, label):
    """Which run each entry of a (merged) doc comes from, for a table's notes."""
    runs = d.get('_runs')
    if not runs:
        return None
    if len(runs) == 1:
        return f'{label}: from {os.path.basename(runs[0])} ({d["created"]}).'
    parts = []
    for f in runs:
        names = sorted({r['name'] for r in d['benchmarks'] if r.get('_run') == f})
        parts.append(f'{os.path.basename(f)}: {", ".join(names)}')
    return f'{label}: each benchmark\'s newest complete result — ' + '; '.join(parts) + '.'


def doc_unit(d):
    units = [r['unit'] for r in d['benchmarks'] if r.get('available')]
    if units:
        return statistics.mode(units)
    return d.get('run', {}).get('unit', 'cycles')


def paper():
    with open(PAPER) as f:
        return json.load(f)


# ---------------------------------------------------------------- values

def state(r):
    """measured, unavailable or failed (files without 'state': from 'available')."""
    return r.get('state') or ('measured' if r.get('available') else 'unavailable')


def why_text(r):
    """Why an entry has no numbers: 'FAILED: <error>' or the unavailable reason."""
    if state(r) == 'failed':
        return f'{FAILED}: {r.get("error", "")}'
    return r.get('reason', '')


def entry(d, bench, mode, backend=Ellipsis):
    """The results entry for bench/mode (and backend if given), or None."""
    for r in d['benchmarks']:
        if r['name'] == bench and r['mode'] == mode and \
                (backend is Ellipsis or r.get('backend') == backend):
            return r
    return None


BACKEND_ORDER = ('vmx', 'kvm')


def dune_backends(d):
    """Backends the file has dune-mode entries for (available or not): vmx, kvm, others."""
    seen = []
    for r in d['benchmarks']:
        if r['mode'] in ('dune', 'dune-user') and r.get('backend') not in seen:
            seen.append(r.get('backend'))
    return sorted(seen, key=lambda b: (BACKEND_ORDER.index(b) if b in BACKEND_ORDER
                                       else len(BACKEND_ORDER), str(b)))


def fmt(v):
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return NOT_RUN
    a = abs(v)
    if a >= 100:
        return f'{v:,.0f}'
    if a >= 10:
        return f'{v:.1f}'
    return f'{v:.2f}'


def cell_text(r, with_cv=True):
    if r is None:
        return NOT_RUN
    if state(r) == 'failed':
        return FAILED
    if not r.get('available'):
        return NA_HOST
    s = fmt(r['median'])
    if with_cv and r.get('cv') is not None:
        s += f' (CV {100 * r["cv"]:.0f}%)' if r['cv'] >= 0.01 else ' (CV <1%)'
    return s


# ---------------------------------------------------------------- paper tables

class Column:
    def __init__(self, label, unit, kind, doc=None, mode=None, backend=None, source=None,
                 key=None):
        self.label, self.unit, self.kind = label, unit, kind
        self.doc, self.mode, self.backend = doc, mode, backend
        self.source, self.key = source, key

    def lookup(self, row):
        """(text, entry or None) for one table row."""
        if self.kind == 'ref':
            v = self.source['values'].get(row['bench'], {}).get(self.key)
            return (fmt(v) if v is not None else NOT_RUN), None
        mode = 'linux' if self.mode == 'linux' else row['dune_mode']
        r = entry(self.doc, row['bench'], mode, self.backend if self.mode != 'linux' else None)
        if r is None and self.mode != 'linux':
            r = entry(self.doc, row['bench'], mode, Ellipsis)
        if r is not None and r.get('available') and r['unit'] != self.unit:
            return f'(in {r["unit"]})', r   # never shown under another unit's header
        return cell_text(r), r


def table_columns(docs, spec, ref, unit):
    """Measured columns of this unit, then the reference sources of this unit."""
    cols = []
    for f, d in docs:
        if doc_unit(d) != unit:
            continue
        host = d['host']['hostname']
        impl = d['implementation']['name']
        vm = ' (in a VM)' if d['host'].get('virtualized') and unit == 'cycles' else ''
        cols.append(Column(f'{host}{vm}: Linux\n[{impl}]', unit, 'measured', d, 'linux'))
        backends = dune_backends(d) or [None]
        for b in backends:
            label = f'{host}: Dune ({b})' if b else f'{host}: Dune'
            cols.append(Column(label, unit, 'measured', d, 'dune', b))
    for name, src in ref['sources'].items():
        if src['unit'] != unit:
            continue
        vals = src['values']
        if not any(row['bench'] in vals for row in spec['rows']):
            continue
        for key, label in src['columns'].items():
            if any(key in vals.get(row['bench'], {}) for row in spec['rows']):
                cols.append(Column(f'ref: {src["label"]}\n{label}', unit, 'ref', source=src,
                                   key=key))
    return cols


def build_table(docs, table_id, unit):
    """(title, header, rows, notes, columns) of a paper table in one unit."""
    ref = paper()
    spec = ref['tables'][table_id]
    cols = table_columns(docs, spec, ref, unit)
    header = ['operation'] + [c.label for c in cols]
    rows, notes, reasons = [], [], {}
    for row in spec['rows']:
        line = [row['op']]
        per = None
        for c in cols:
            text, r = c.lookup(row)
            line.append(text)
            if r is not None and not r.get('available'):
                reasons.setdefault(c.label.replace('\n', ' '), set()).add(why_text(r))
            if r is not None and r.get('available'):
                per = per or r.get('per')
        if per and per not in ('syscall', 'page', 'read', 'trap'):
            line[0] += f' (per {per})'
        if unit == 'ticks' and row.get('lab_note') and \
                all(t == NOT_RUN for t, c in zip(line[1:], cols) if c.kind == 'measured'):
            notes.append(f'{row["op"]}: {row["lab_note"]}.')
        rows.append(line)
    title = f'{spec["title"]} — {UNIT_LABEL.get(unit, unit)}'
    notes.append('The Dune columns are mode dune (ring 0), except ptrace: mode dune-user '
                 '(a ring-3 syscall intercepted by the ring-0 runtime), as in the paper.')
    for f, d in docs:
        if doc_unit(d) == unit == 'cycles' and d['host'].get('virtualized'):
            notes.append(f'{d["host"]["hostname"]} is a virtual machine '
                         f'({d["host"].get("hypervisor") or "hypervisor"}): its numbers include '
                         f'the hypervisor\'s costs; the reference columns are bare metal.')
    notes.append(f'All numbers are {unit}; medians over repetitions, with the coefficient of '
                 f'variation (CV: standard deviation / mean over the repetitions) in percent. '
                 f'{NA_HOST}: the mode could not run on that host (reason below); '
                 f'{FAILED}: it should have run and did not (error below); '
                 f'{NOT_RUN}: not measured.')
    for c in cols:
        if c.kind == 'ref' and c.key == next(iter(c.source['columns'])):
            notes.append(f'ref: {c.source["label"]} — {c.source["citation"]} Not measured here.')
            for bench, n in c.source.get('notes', {}).items():
                if any(row['bench'] == bench for row in spec['rows']):
                    notes.append(f'ref: {c.source["label"]}, {bench}: {n}')
    for label, rs in reasons.items():
        for text in sorted(rs):
            notes.append(f"{label}: {text}")
    seen = set()
    for c in cols:
        if c.kind == 'measured' and id(c.doc) not in seen:
            seen.add(id(c.doc))
            n = sources_note(c.doc, f'{c.doc["host"]["hostname"]} [{c.doc["implementation"]["name"]}]')
            if n:
                notes.append(n)
    return title, header, rows, notes, cols


def units_present(docs):
    us = sorted({doc_unit(d) for _, d in docs})
    return us or ['cycles']


def md_table(header, rows):
    h = [c.replace('\n', ' ') for c in header]
    out = ['| ' + ' | '.join(h) + ' |',
           '|' + '|'.join(['---'] + ['---:'] * (len(h) - 1)) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(r) + ' |')
    return '\n'.join(out)


def markdown(title, header, rows, notes):
    lines = [f'### {title}', '', md_table(header, rows), '']
    lines += [f'- {n}' for n in notes]
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- rendering

def mpl():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plt.rcParams.update({'font.size': 10, 'savefig.dpi': 130})
    return plt


def _wrap(s, width):
    import textwrap
    out = []
    for part in s.split('\n'):
        out.extend(textwrap.wrap(part, width) or [''])
    return '\n'.join(out)


def png_table(path, title, header, rows, notes, cols, op_wrap=30):
    """A table as an image: column widths from their content, row heights per row."""
    plt = mpl()
    char_w, line_h = 0.075, 0.19        # inches per character / text line at 9 pt
    head = [_wrap(h, 18) for h in header]
    body = [[_wrap(r[0], op_wrap)] + list(r[1:]) for r in rows]

    def longest(text):
        return max((len(x) for x in text.split('\n')), default=0)
    widths = []
    for ci in range(len(header)):
        n = max([longest(head[ci])] + [longest(r[ci]) for r in body])
        widths.append(max(1.1, n * char_w + 0.35))
    heights = [line_h * (max(h.count('\n') for h in head) + 1) + 0.16]
    for r in body:
        heights.append(line_h * (max(c.count('\n') for c in r) + 1) + 0.14)
    table_w, table_h = sum(widths), sum(heights)
    fig_w = max(table_w, 7.5) + 0.4
    note_text = '\n'.join(_wrap(n, int(fig_w * 15)) for n in notes)
    note_lines = note_text.count('\n') + 1 if notes else 0
    fig_h = 0.55 + table_h + 0.15 * note_lines + 0.3
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax_top = 1 - 0.55 / fig_h
    ax_h = table_h / fig_h
    ax = fig.add_axes([0.2 / fig_w, ax_top - ax_h, table_w / fig_w, ax_h])
    ax.axis('off')
    tab = ax.table(cellText=body, colLabels=head, loc='upper left', cellLoc='right',
                   bbox=[0, 0, 1, 1])
    tab.auto_set_font_size(False)
    tab.set_fontsize(9)
    for (ri, ci), c in tab.get_celld().items():
        c.set_width(widths[ci] / table_w)
        c.set_height(heights[ri] / table_h)
        col = cols[ci - 1] if ci > 0 else None
        if ri == 0:
            c.set_facecolor('#dde6f0' if not col or col.kind == 'measured' else '#efe6d0')
            c.set_text_props(weight='bold', ha='center')
        else:
            if ci == 0:
                c.set_text_props(ha='left')
                c.PAD = 0.02
            if col is not None and col.kind == 'ref':
                c.set_facecolor('#fbf6ea')
                c.set_text_props(style='italic', color='#6b5b2e')
            text = c.get_text().get_text()
            if text in (NA_HOST, NOT_RUN) or text.startswith('(in ') or text.startswith('n/a'):
                c.set_text_props(color='#888888')
    fig.text(0.2 / fig_w, 1 - 0.28 / fig_h, title, fontsize=11, weight='bold', va='center')
    if notes:
        fig.text(0.2 / fig_w, (ax_top - ax_h) - 0.2 / fig_h, note_text, fontsize=7.5,
                 va='top', color='#333333')
    fig.savefig(path)
    plt.close(fig)


def linux_chart(path, docs, unit):
    """The Linux baselines: one panel per benchmark (paper order), linear from
    zero; a dot per run (median) with min-max whiskers, the references as
    open diamonds.  Returns the chart's title, or None without data."""
    sel = [(f, d) for f, d in docs if doc_unit(d) == unit]
    names = []
    for _, d in sel:
        for r in d['benchmarks']:
            if r['mode'] == 'linux' and r['name'] not in names and \
                    ((r.get('available') and r['unit'] == unit) or state(r) == 'failed'):
                names.append(r['name'])
    if not names:
        return None
    names = in_paper_order(names)
    refs = [s for s in paper()['sources'].values() if s['unit'] == unit]
    panels = []
    for name in names:
        series, why, per = [], [], 'op'
        for i, (_, d) in enumerate(sel):
            # (kvm-out-exit and kvm-cpuid-exit: mode linux, backend kvm_intel)
            r = entry(d, name, 'linux', None) or entry(d, name, 'linux', Ellipsis)
            if r is None:
                continue
            if r.get('available') and r['unit'] == unit:
                per = r.get('per', per)
                vm = ' (in a VM)' if d['host'].get('virtualized') and unit == 'cycles' else ''
                series.append((f'{d["host"]["hostname"]}{vm}: Linux, median [{d["created"][:10]}]',
                               r['median'], r['min'], r['max'], PALETTE[i % len(PALETTE)], 'o'))
            else:
                why.append(why_text(r))
        for k, src in enumerate(refs):
            v = src['values'].get(name, {}).get('linux')
            if v is not None:
                metal = 'bare metal, ' if unit == 'cycles' else ''
                series.append((f'ref: {src["label"]} Linux ({metal}not measured here)', v,
                               None, None, 'black', REF_MARKERS[k % len(REF_MARKERS)]))
        panels.append((f'{name}\n({unit} per {per})', series, '; '.join(why) or None))
    title = (f'Linux baseline per operation: median {unit} per op, whiskers min–max over the '
             f'repetitions — {hosts_text(sel)}')
    return dot_panels(path, title, panels, f'{UNIT_LABEL.get(unit, unit)} per op (linear, from 0)')


def ratio_rows(d, unit):
    """[(label, ratio, lo, hi)] dune/linux for one results file (same unit)."""
    out = []
    for r in d['benchmarks']:
        if r['mode'] == 'linux' or not r.get('available') or r['unit'] != unit:
            continue
        base = entry(d, r['name'], 'linux', None)
        if not base or not base.get('available') or base['unit'] != unit or base['median'] <= 0:
            continue
        if r['median'] <= 0 or base['min'] <= 0 or r['min'] <= 0:
            continue
        label = f'{r["name"]} ({r["mode"]}{"/" + r["backend"] if r.get("backend") else ""})'
        out.append((label, r['name'], r['median'] / base['median'],
                    r['min'] / base['max'], r['max'] / base['min']))
    return out


def ratio_chart(path, docs, unit):
    """Dune / Linux on the same host: one panel per benchmark and mode (paper
    order), linear from zero with a dashed line at 1; whiskers min/max ratio
    range.  Returns the title, or None without Dune numbers."""
    sel = [(f, d, ratio_rows(d, unit)) for f, d in docs if doc_unit(d) == unit]
    sel = [s for s in sel if s[2]]
    if not sel:
        return None
    ref = paper()
    labels, bench_of = [], {}
    for _, _, rows in sel:
        for lab, bench, *_ in rows:
            if lab not in labels:
                labels.append(lab)
                bench_of[lab] = bench
    order, first = paper_order(), list(labels)
    labels.sort(key=lambda lb: (order.index(bench_of[lb]) if bench_of[lb] in order
                                else len(order), first.index(lb)))
    src = [s for s in ref['sources'].values() if s['unit'] == unit]
    ref_mode = {row['bench']: row['dune_mode'] for t in ref['tables'].values()
                for row in t['rows']}
    panels = []
    for lab in labels:
        series = []
        for i, (_, d, rows) in enumerate(sel):
            for lb, _, v, mn, mx in rows:
                if lb == lab:
                    series.append((f'{d["host"]["hostname"]} [{d["implementation"]["name"]}]: '
                                   f'Dune/Linux, median', v, mn, mx, PALETTE[i % len(PALETTE)], 'o'))
        bench, mode = lab.split(' ')[0], lab.split('(')[1].split('/')[0].rstrip(')')
        for s in (src[:1] if unit == 'cycles' else src):
            v = s['values'].get(bench, {})
            if 'linux' in v and 'dune' in v and mode == ref_mode.get(bench, 'dune'):
                series.append((f'ref: {s["label"]} (not measured here)', v['dune'] / v['linux'],
                               None, None, 'black', 'D'))
        panels.append((lab, series, None))
    title = (f'Dune relative to Linux: ratio of medians in {unit} (1 = same; < 1: Dune faster), '
             f'whiskers min/max ratio over the repetitions — {hosts_text([(f, d) for f, d, _ in sel])}')
    return dot_panels(path, title, panels, f'Dune / Linux, ratio of {unit} (linear, from 0)',
                      ref_line=1)


# ---------------------------------------------------------------- lab table

def _ref_range(v):
    if v is None:
        return None
    return (float(v[0]), float(v[1])) if isinstance(v, list) else (float(v), float(v))


def _range_text(rg):
    if rg is None:
        return NOT_RUN
    lo, hi = rg
    return fmt(lo) if lo == hi else f'{fmt(lo)}–{fmt(hi)}'


def _ratio_text(v, rg):
    if v is None or rg is None:
        return NOT_RUN
    lo, hi = v / rg[1], v / rg[0]
    return f'{lo:.2f}' if abs(hi - lo) < 0.005 else f'{lo:.2f}–{hi:.2f}'


def is_smp_lab(d):
    """A results file of the lab's SMP table (dunebench bench --lab: its
    two-CPU boot of micro/lab-bench-smp.list, host vmx-lab-smp): its rows
    have a table of their own, never the one-CPU lab table's or the paper's."""
    lab = d.get('host', {}).get('lab')
    return isinstance(lab, dict) and lab.get('table') == 'smp'


def lab_docs(docs):
    """Results files in ticks (the VMX lab, one CPU: not the SMP table's), newest last."""
    return sorted([(f, d) for f, d in docs if doc_unit(d) == 'ticks' and not is_smp_lab(d)],
                  key=lambda x: x[1]['created'])


# ---------------------------------------------------------------- SMP table

UNSUPPORTED = 'unsupported by this backend'

# (operation, Dune entry, Linux entry, which number: 'median' or 'oneway')
SMP_ROWS = (
    ('IPI round trip between two vCPUs (Linux: futex wake round trip between two threads)',
     'ipi-rtt', 'futex-rtt', 'median'),
    ('IPI round trip between two vCPUs (Linux: eventfd ping-pong between two threads)',
     'ipi-rtt', 'eventfd-rtt', 'median'),
    ('IPI one way: send to the other vCPU\'s handler (Linux: futex wake to the FUTEX_WAIT '
     'return)', 'ipi-rtt', 'futex-rtt', 'oneway'),
    ('IPI one way: send to the other vCPU\'s handler (Linux: eventfd write to the read '
     'return)', 'ipi-rtt', 'eventfd-rtt', 'oneway'),
    ('TLB shootdown of one page to one other CPU (Dune: PTE change, invlpg, IPI, the other '
     'vCPU\'s invlpg and acknowledgment; Linux: mprotect of a page the other thread keeps '
     'reading, and back)', 'shootdown', 'shootdown', 'median'),
)


def smp_pick(docs):
    """The newest complete SMP-table run among @docs, or None."""
    smp = sorted([(f, d) for f, d in docs if is_smp_lab(d) and not is_partial(d)],
                 key=lambda x: (x[1]['created'], x[0]))
    return smp[-1][1] if smp else None


def _smp_value(r, what):
    """(median, min, max) of an entry's round trip or one-way time, or None."""
    if r is None or not r.get('available'):
        return None
    s = r if what == 'median' else r.get('oneway')
    if not isinstance(s, dict) or 'median' not in s:
        return None
    return s['median'], s.get('min', s['median']), s.get('max', s['median'])


def _smp_cell(r, what):
    if r is None:
        return NOT_RUN
    if state(r) == 'failed':
        return 'FAILED (see notes)'
    if not r.get('available'):
        return UNSUPPORTED if r.get('reason', '').startswith(UNSUPPORTED) else 'n/a (see notes)'
    v = _smp_value(r, what)
    if v is None:
        return NOT_RUN
    med, lo, hi = v
    return fmt(med) + ('' if fmt(lo) == fmt(hi) else f' ({fmt(lo)}–{fmt(hi)})')


def _smp_ratio(linux, dune):
    if not linux or not dune or not dune[0]:
        return NOT_RUN
    return f'{linux[0] / dune[0]:.1f}x'


def build_smp_table(d):
    """(title, header, rows, notes) of the SMP table of one run: per row the
    Dune medians (vmx, kvm) and Linux's, each with the min–max over the
    repetitions, and Linux / Dune, all from the same boot."""
    header = ['operation (ticks per op, two CPUs)', 'Dune vmx\n(ours: dune.ko)',
              'Dune kvm\n(ours: libdune kvm)', 'Linux (lab)', 'Linux / Dune vmx',
              'Linux / Dune kvm']
    rows, reasons = [], {}
    for op, dune_b, linux_b, what in SMP_ROWS:
        line = [op]
        rl = entry(d, linux_b, 'linux', None) or entry(d, linux_b, 'linux', Ellipsis)
        lv = _smp_value(rl, what)
        dv = {}
        for be in ('vmx', 'kvm'):
            r = entry(d, dune_b, 'dune', be)
            line.append(_smp_cell(r, what))
            dv[be] = _smp_value(r, what)
            if r is not None and not r.get('available'):
                reasons.setdefault(f'{dune_b}, Dune {be}', why_text(r))
        line.append(_smp_cell(rl, what))
        if rl is not None and not rl.get('available'):
            reasons.setdefault(f'{linux_b}, Linux', why_text(rl))
        line += [_smp_ratio(lv, dv['vmx']), _smp_ratio(lv, dv['kvm'])]
        rows.append(line)
    reps = d['run'].get('repetitions')
    title = (f'VMX lab, two CPUs: IPIs and TLB shootdowns in Dune against Linux\'s nearest '
             f'equivalents — {UNIT_LABEL["ticks"]}')
    notes = [
        f'Measured: {d["host"]["hostname"]} [{d["implementation"]["name"]}], {d["created"]}, '
        f'one boot with two CPUs ({d["host"].get("lab", {}).get("list", "")}), the two threads '
        f'of each row pinned one to each CPU: medians over {reps} repetitions (each the median '
        'of its batches of ops) with the smallest and largest repetition in brackets; timer '
        'overhead subtracted.',
        'One way: per repetition the median over its round trips of the TSC at the other '
        'side\'s wakeup (the IPI handler; the return from FUTEX_WAIT or read) minus the TSC '
        'just before the send, less two back-to-back RDTSCs; the TSC is one clock for both '
        'CPUs of the lab.',
        'Linux / Dune > 1: the Dune path is shorter. Every number of a row comes from the same '
        'boot.',
        'Dune IPIs use the module\'s x2APIC in the mode it was loaded with (soft by default: '
        'an ICR-write exit on the sender, a kick of the running receiver, an injection at its '
        're-entry; docs/abi.md). The Linux rows wake a sleeping thread on the other CPU '
        'through the scheduler.',
        f'{UNSUPPORTED}: the backend\'s APIC is reported unsupported by libdune '
        '(dune_apic_supported() false); the row fills in when it has one.',
        'Ticks are emulated steps (Bochs TSC): deterministic path lengths, not speed; never '
        'compare them with cycles.',
    ]
    for k, text in reasons.items():
        notes.append(f'{k}: {text}' if text.startswith(FAILED) else f'{k}: n/a: {text}')
    src = sources_note(d, f'{d["host"]["hostname"]} [{d["implementation"]["name"]}]')
    if src:
        notes.append(src)
    return title, header, rows, notes


def smp_markdown(d):
    title, header, rows, notes = build_smp_table(d)
    return markdown(title, header, rows, notes)


def lab_pick(docs):
    """The lab run the lab table shows, or None: the newest ticks run of ours
    (not the other implementation's part of a same-boot run), with the other
    part, when there is one among @docs, as d['_same_boot'] (a copy of d)."""
    labs = lab_docs(docs)
    ours = [(f, d) for f, d in labs if d['host'].get('lab', {}).get('section') != 'other']
    if not ours:
        return None
    _, d = ours[-1]
    sb = d['host'].get('lab', {}).get('same_boot')
    if sb:
        for f, o in labs:
            if os.path.basename(f) == sb.get('file'):
                return dict(d, _same_boot=o)
    return d


def build_lab_table(d):
    """(title, header, rows, notes, values) of the VMX-lab table of one ticks run.

    Columns: Linux (lab), Dune vmx (ours), Dune kvm (ours), the reference
    (the original Dune and Debian KVM measured in the same lab), and ours /
    reference: Dune vmx over the original Dune, or for the kvm_intel rows
    our measurement over the reference's.
    """
    spec = paper()['lab_table']
    host = d['host']['hostname']
    impl = d['implementation']['name']
    # the other implementation measured in the same boot, if any: [S]
    other = d.get('_same_boot')
    oname = other and other['implementation']['name']
    header = ['operation (ticks per op)', f'Linux (lab)\n[{impl}]', 'Dune vmx\n(ours: dune.ko)',
              'Dune kvm\n(ours: libdune kvm)', 'ref: Linux (lab)\n(run [B])',
              f'ref: {oname} [S]\nor original Dune [run]' if other else
              'ref: original\nDune (lab) [run]', 'ours / ref']
    rows, vals, reasons = [], [], {}
    for row in spec['rows']:
        line, v = [row['op']], {}
        for col in ('linux', 'vmx', 'kvm'):
            key = row.get(col)
            r = entry(d, key[0], key[1], key[2]) if key else None
            if r is None and key and col == 'linux':
                r = entry(d, key[0], key[1], Ellipsis)
            text = cell_text(r) if key else ''
            line.append({NA_HOST: 'n/a (see notes)', FAILED: 'FAILED (see notes)'}.get(text, text))
            if r is not None and r.get('available'):
                v[col] = r['median']
            elif r is not None:
                reasons.setdefault(f'{row["op"]}, {col}', why_text(r))
        rl, rd = _ref_range(row.get('ref_linux')), _ref_range(row.get('ref_dune'))
        # which run a reference comes from (spec reference_sources): [A]
        # the same programs as ours, [B] another program; [S] the other
        # implementation in this run's boot
        src = row.get('ref_src')
        ok = row.get('vmx')
        ro = entry(other, ok[0], ok[1], ok[2]) if other and ok else None
        if ro is not None and ro.get('available'):
            rd, src = (ro['median'], ro['median']), 'S'
        elif ro is not None and row.get('ref_dune') is None:
            reasons.setdefault(f'{row["op"]}, ref {oname}', why_text(ro))
        line.append(_range_text(rl) if rl else '')
        line.append(_range_text(rd) + (f' [{src}]' if src else '') if rd else '')
        if row.get('ratio_of') == 'linux':
            line.append(_ratio_text(v.get('linux'), rl) + (' (Linux/ref)' if rl and 'linux' in v else ''))
        else:
            what = ('vmx/orig.' if src in (None, 'A') else f'vmx/{oname}, same boot' if src == 'S'
                    else f'vmx/orig. [{src}]: another program')
            line.append(_ratio_text(v.get('vmx'), rd) + (f' ({what})' if rd and 'vmx' in v else ''))
        rows.append(line)
        vals.append((row, v, rl, rd))
    title = f'{spec["title"]} — {UNIT_LABEL["ticks"]}'
    notes = [
        f'Measured: {host} [{impl}], {d["created"]}: medians over {d["run"]["repetitions"]} '
        'repetitions (each the median of its batches of ops), with their CV in percent; timer overhead and '
        '(dune-user) the ring-3 entry/exit of the batch subtracted.',
        f'ref: {spec["reference_citation"]} Ranges are as reported; the ratio is then a range.',
        *[f'[{k}]: {v}.' for k, v in spec.get('reference_sources', {}).items()],
        *([f'[S]: {oname}, measured in the same boot as the columns beside it, after them, with '
           f'the same programs and recipes ({d["host"]["lab"]["same_boot"]["file"]}); '
           f'comparable with ours. A row it has no number for keeps its [A] or [B] reference.']
          if other else []),
        'ours / ref < 1: our path is shorter. Rows without a reference: no lab number of the '
        'original exists for them.',
        'Ticks are emulated steps (Bochs TSC): deterministic path lengths, not speed; never '
        'compare them with cycles.',
        'trap (Dune): an exception that reaches the guest IDT without an exit: ud2 (#UD) on vmx, '
        'whose ABI intercepts #BP for a debugger; int3 (#BP) on kvm, which intercepts #UD.',
    ]
    for k, text in reasons.items():
        notes.append(f'{k}: {text}' if text.startswith(FAILED) else f'{k}: n/a: {text}')
    return title, header, rows, notes, vals


def lab_markdown(d):
    title, header, rows, notes, _ = build_lab_table(d)
    return markdown(title, header, rows, notes)


def png_lab_table(path, d):
    title, header, rows, notes, _ = build_lab_table(d)
    cols = [Column(h, 'ticks', 'ref' if h.startswith('ref') else 'measured') for h in header[1:]]
    png_table(path, title, header, rows, notes, cols, op_wrap=44)


def lab_chart(path, d):
    """The lab table as dot panels (linear from zero), one per row of the
    paper's lab table; a row without a number says why."""
    _, _, _, notes, vals = build_lab_table(d)
    why = {}
    for n in notes:
        for row, *_ in vals:
            if n.startswith(row['op'] + ', '):
                why.setdefault(row['op'], n[len(row['op']) + 2:])
    series_spec = [('Linux (lab)', 'linux', PALETTE[0], 'o'),
                   ('Dune vmx (ours)', 'vmx', PALETTE[1], 'o'),
                   ('Dune kvm (ours)', 'kvm', PALETTE[2], 'o'),
                   ('ref: original Dune (lab, range as reported)', 'ref_dune', 'black', 'D'),
                   ('ref: Linux / kvm_intel (orig. session)', 'ref_linux', '#8c564b', 'D')]
    panels = []
    for row, v, rl, rd in vals:
        series = []
        for lab, key, color, marker in series_spec:
            if key == 'ref_dune' and rd:
                series.append((lab, (rd[0] + rd[1]) / 2, rd[0] if rd[1] > rd[0] else None,
                               rd[1] if rd[1] > rd[0] else None, color, marker))
            elif key == 'ref_linux' and rl:
                series.append((lab, (rl[0] + rl[1]) / 2, rl[0] if rl[1] > rl[0] else None,
                               rl[1] if rl[1] > rl[0] else None, color, marker))
            elif key in v:
                r = None
                k = row.get(key)
                if k:
                    r = entry(d, k[0], k[1], k[2]) or entry(d, k[0], k[1], Ellipsis)
                lo = r.get('min') if r else None
                hi = r.get('max') if r else None
                series.append((lab, v[key], lo, hi, color, marker))
        note = None
        if not any(key in v for key in ('linux', 'vmx', 'kvm')):
            note = 'not measured in this run: ' + (why.get(row['op']) or row.get('lab_note') or
                                                   'the lab run has no entry for it')
        panels.append((row['op'], series, note))
    title = (f'VMX lab path lengths: median ticks per op (emulated steps, not speed), ours vs '
             f'the original Dune; whiskers min–max — host {d["host"]["hostname"]} '
             f'(Bochs lab) [{d["implementation"]["name"]}, {d["created"][:10]}]')
    return dot_panels(path, title, panels, 'ticks per op (linear, from 0)')


# ---------------------------------------------------------------- repeatability

def noise_rows(d):
    """Per available entry of a cycles run: what moved its repetitions."""
    rows = []
    for r in d['benchmarks']:
        if not r.get('available') or r.get('unit') != 'cycles':
            continue
        i, sy = r.get('info', {}), r.get('system', {})

        def pct(v):
            return NOT_RUN if v is None else f'{100 * v:.1f}%'
        fs = r.get('fast_share')
        rows.append([
            f'{r["name"]} ({r["mode"]}{"/" + r["backend"] if r.get("backend") else ""})',
            fmt(r['median']), pct(r.get('cv')), pct(i.get('cv_of_mean')),
            pct(i.get('cv_of_batch_min')),
            f'{fs["min"]:.2f}..{fs["max"]:.2f}' if fs else NOT_RUN,
            NOT_RUN if i.get('corr_median_vs_fast_share') is None
            else f'{i["corr_median_vs_fast_share"]:+.2f}',
            NOT_RUN if sy.get('steal_pct_pinned_cpu') is None else f'{sy["steal_pct_pinned_cpu"]:.1f}%',
            NOT_RUN if sy.get('busy_pct_other_cpus') is None else f'{sy["busy_pct_other_cpus"]:.0f}%',
        ])
    return rows


def noise_markdown(d):
    """The repeatability table of one cycles run, with how to read it."""
    header = ['benchmark', 'median', 'CV (medians)', 'CV if means', 'CV of batch minima',
              'fast share per rep', 'corr(median, fast share)', 'steal (pinned CPU)',
              'other CPUs busy']
    run = d['run']
    floor = entry(d, 'cpuloop', 'linux', None)
    lines = [f'### Repeatability: {d["host"]["hostname"]} [{d["implementation"]["name"]}], '
             f'{d["created"]}', '',
             md_table(header, noise_rows(d)), '',
             f'- {run["repetitions"]} repetitions of {run.get("min_time_s", "?")} s, pinned to '
             f'CPU {run.get("cpu")}; load average at start {run.get("loadavg_start")}, at end '
             f'{run.get("loadavg_end")}.',
             '- CV (medians): the spread of the per-repetition values (each the median of its '
             'batches); CV if means: the same with each repetition\'s mean over its timed loop; '
             'CV of batch minima: the same with each repetition\'s fastest batch.',
             '- fast share: per repetition, the share of batches within 5% of its 5th percentile; '
             'a correlation near -1 means the repetitions differ by how long the host stayed in '
             'its fast state, not by the benchmark.']
    if floor and floor.get('available') and floor.get('cv') is not None:
        lines.append(f'- Noise floor (cpuloop: register adds, no memory, no kernel): CV '
                     f'{100 * floor["cv"]:.1f}%.')
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- html

def html_results_table(d):
    rows = ['<table><tr><th>benchmark</th><th>mode</th><th>backend</th><th>median</th>'
            '<th>min</th><th>max</th><th>CV</th><th>reps</th><th>unit / per</th>'
            '<th>wall median</th></tr>']
    order = paper_order()
    modes = ('linux', 'dune', 'dune-user')
    rows_in_order = sorted(d['benchmarks'], key=lambda r: (
        order.index(r['name']) if r['name'] in order else len(order),
        r['name'] if r['name'] not in order else '',
        modes.index(r['mode']) if r['mode'] in modes else 9, str(r.get('backend') or '')))
    for r in rows_in_order:
        e = html.escape
        if r.get('available'):
            cv = '-' if r['cv'] is None else f'{100 * r["cv"]:.1f}%'
            wall = f'{fmt(r["wall"]["median"])} {r["wall"]["unit"]}' if r.get('wall') else ''
            rows.append(f'<tr><td>{e(r["name"])}</td><td>{e(r["mode"])}</td>'
                        f'<td>{e(str(r.get("backend") or ""))}</td><td class=n>{fmt(r["median"])}</td>'
                        f'<td class=n>{fmt(r["min"])}</td><td class=n>{fmt(r["max"])}</td>'
                        f'<td class=n>{cv}</td><td class=n>{r["repetitions"]}</td>'
                        f'<td>{e(r["unit"])} / {e(r.get("per", "op"))}</td><td class=n>{wall}</td></tr>')
        elif state(r) == 'failed':
            rows.append(f'<tr class=failed><td>{e(r["name"])}</td><td>{e(r["mode"])}</td>'
                        f'<td>{e(str(r.get("backend") or ""))}</td>'
                        f'<td colspan=7><b>{FAILED}</b>: {e(r.get("error", ""))}</td></tr>')
        else:
            rows.append(f'<tr class=na><td>{e(r["name"])}</td><td>{e(r["mode"])}</td>'
                        f'<td>{e(str(r.get("backend") or ""))}</td>'
                        f'<td colspan=7>{NA_HOST}: {e(r["reason"])}</td></tr>')
    rows.append('</table>')
    hw = [r for r in d['benchmarks'] if r.get('hw_counters')]
    if hw:
        e = html.escape
        rows.append('<h4>Hardware counters</h4>')
        missing = {}
        for r in hw:
            hc = r['hw_counters']
            if hc.get('available'):
                rows.append(f'<pre>{e(hc.get("summary") or json.dumps(hc["per_op"]))}</pre>')
            else:
                missing.setdefault(hc.get('reason', ''), []).append(f'{r["name"]} ({r["mode"]})')
        for reason, names in missing.items():
            rows.append(f'<p>{e(", ".join(names))}: unavailable: {e(reason)}</p>')
    return '\n'.join(rows)


# ---------------------------------------------------------------- dot plots

def paper_order():
    """Benchmark names in the paper's order (Table 2, then Table 3)."""
    ref = paper()
    out = []
    for tid in ('table2', 'table3'):
        for row in ref['tables'][tid]['rows']:
            if row['bench'] not in out:
                out.append(row['bench'])
    return out


def in_paper_order(names):
    order = paper_order()
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order),
                                        names.index(n)))


def hosts_text(docs):
    """'host fixture-vm (a VM: kvm)' for a chart title."""
    parts = []
    for _, d in docs:
        h = d['host']
        t = h['hostname'] + (f' (a VM: {h.get("hypervisor") or "hypervisor"})'
                             if h.get('virtualized') else ' (bare metal)')
        if t not in parts:
            parts.append(t)
    return ('host ' if len(parts) == 1 else 'hosts ') + ', '.join(parts)


def dot_panels(path, title, panels, xlabel, ref_line=None):
    """One small panel per row, each on its own linear axis from zero, so a
    300-cycle getpid and a 2M-cycle appel1 are both readable.

    panels: [(row label, [(series label, median, lo, hi, color, marker) ...],
    note or None)]; lo/hi None: no whisker (a reference number).  The value
    labels sit in a column right of the axes, where no marker reaches.
    ref_line: an x to draw in every panel (1 for ratios)."""
    plt = mpl()
    from matplotlib.ticker import FuncFormatter, MaxNLocator
    lanes = [max(len(s), 1) + (0.6 if note and s else 0) for _, s, note in panels]
    fig_h = sum(0.3 * n + 0.55 for n in lanes) + 1.6
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, fig_h), squeeze=False,
                             gridspec_kw={'height_ratios': [0.3 * n + 0.55 for n in lanes]})
    legend = {}
    for ax, (label, series, note), n in zip(axes[:, 0], panels, lanes):
        ax.set_ylim(-0.7, n - 0.3)
        ax.invert_yaxis()
        ax.set_yticks([])
        ax.set_ylabel(_wrap(label, 26), rotation=0, ha='right', va='center', fontsize=9,
                      labelpad=8)
        top = max([v for s in series for v in (s[1], s[3]) if v is not None] + [0])
        if ref_line is not None:
            top = max(top, ref_line)
            ax.axvline(ref_line, color='#444', lw=0.8, ls='--')
        ax.set_xlim(0, top * 1.08 if top > 0 else 1)
        ax.grid(axis='x', alpha=0.3)
        ax.tick_params(axis='x', labelsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.xaxis.set_major_formatter(FuncFormatter(_tick))
        if not series:
            ax.text(0.01, 0.5, _wrap(f'no number: {note or "not measured"}', 140),
                    transform=ax.transAxes, va='center', fontsize=8, color='#c0392b')
            ax.set_xticks([])
            continue
        for y, (slab, med, lo, hi, color, marker) in enumerate(series):
            if lo is not None and hi is not None:
                ax.errorbar([med], [y], xerr=[[med - lo], [hi - med]], fmt='none',
                            ecolor=color, capsize=4, lw=1.5)
            h = ax.plot([med], [y], marker=marker, color=color, ms=8, ls='none',
                        mfc=color if marker == 'o' else 'white', mew=1.5)[0]
            legend.setdefault(slab, h)
            spread = f'  (min–max {fmt(lo)}–{fmt(hi)})' if lo is not None and hi is not None \
                and hi > lo else f'  ({slab.split(" (")[0]})' if marker != 'o' else ''
            ax.annotate(f'{fmt(med)}{spread}', xy=(1.01, y), xycoords=('axes fraction', 'data'),
                        va='center', fontsize=8, color=color if color != 'black' else '#333',
                        annotation_clip=False)
        if note:
            ax.text(0.99, 0.04, _wrap(note, 90), transform=ax.transAxes, ha='right',
                    va='bottom', fontsize=7.5,
                    color='#c0392b' if note.startswith(FAILED) else '#555')
    axes[-1, 0].set_xlabel(xlabel, fontsize=9)
    fig.suptitle(_wrap(title, 110), fontsize=11, weight='bold')
    fig.legend(list(legend.values()), list(legend.keys()), loc='lower center', ncol=2,
               fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.9 / fig_h + 0.02, 0.8, 1 - 0.25 / fig_h))
    fig.savefig(path, metadata={'Title': title})
    plt.close(fig)
    return title


REF_MARKERS = ('D', 's', '^')


def _tick(x, _):
    """An axis tick: 0, 250, 1,500, 20k, 1.5M (never the 1e6 offset text)."""
    if x == 0:
        return '0'
    if abs(x) >= 1e6:
        return f'{x / 1e6:g}M'
    if abs(x) >= 1e4:
        return f'{x / 1e3:g}k'
    return f'{x:,.0f}' if abs(x) >= 100 else f'{x:g}'
PALETTE = ('#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2')
