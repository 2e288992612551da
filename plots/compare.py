#!/usr/bin/python3
"""compare.py - compare two dunebench runs, benchmark by benchmark.

usage: plots/compare.py [-o DIR] A.json B.json

Writes DIR/compare-<A>-vs-<B>.md and .png (DIR default build/report/):
B/A median ratios per benchmark and mode, with a range from the
repetitions' min/max.  Only entries with the same unit are compared; a
benchmark measured in cycles in one run and ticks in the other is listed
as not comparable.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbplots  # noqa: E402


def key(r):
    return (r['name'], r['mode'], r.get('backend'))


def label(k):
    return f'{k[0]} ({k[1]}{"/" + k[2] if k[2] else ""})'


def compare(a, b):
    rows, skipped = [], []
    bmap = {key(r): r for r in b['benchmarks']}
    for ra in a['benchmarks']:
        k = key(ra)
        rb = bmap.get(k)
        if rb is None:
            skipped.append((k, 'only in A'))
            continue
        if not ra.get('available') or not rb.get('available'):
            side, r = ('A', ra) if not ra.get('available') else ('B', rb)
            if dbplots.state(r) == 'failed':
                skipped.append((k, f'FAILED in {side}: {r.get("error", "")}'))
            else:
                skipped.append((k, f'not available in {side}: {r.get("reason", "")}'))
            continue
        if ra['unit'] != rb['unit']:
            skipped.append((k, f'not comparable: A in {ra["unit"]}, B in {rb["unit"]}'))
            continue
        if ra['median'] <= 0 or ra['min'] <= 0 or rb['min'] <= 0:
            skipped.append((k, 'non-positive values: no ratio'))
            continue
        rows.append((k, ra, rb, rb['median'] / ra['median'], rb['min'] / ra['max'],
                     rb['max'] / ra['min']))
    for rb in b['benchmarks']:
        if key(rb) not in {key(r) for r in a['benchmarks']}:
            skipped.append((key(rb), 'only in B'))
    return rows, skipped


def host_difference(a, b):
    """Why A and B come from different hosts (or may), or None: a hostname
    ("vm") says little, so the host_id (machine id, else CPU model, microcode,
    kernel and hypervisor) decides when both files have one."""
    ha, hb = a['host'], b['host']
    if ha.get('host_id') and hb.get('host_id'):
        if ha['host_id'] != hb['host_id']:
            same = ' (both named ' + ha['hostname'] + ')' if ha['hostname'] == hb['hostname'] else ''
            return f'A and B come from different hosts{same}: host_id {ha["host_id"]} vs {hb["host_id"]}'
        return None
    diffs = [k for k in ('hostname', 'cpu_model', 'microcode', 'kernel', 'hypervisor')
             if ha.get(k) != hb.get(k)]
    if diffs:
        return ('A and B may come from different hosts: ' +
                ', '.join(f'{k} {ha.get(k)!r} vs {hb.get(k)!r}' for k in diffs))
    return None


def describe(d):
    return (f'{d["host"]["hostname"]} / {d["implementation"]["name"]} / {d["created"]} '
            f'({d["run"]["profile"]}, {d["run"]["repetitions"]} reps)')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('a')
    ap.add_argument('b')
    ap.add_argument('-o', '--out', default=os.path.join(os.environ.get('BUILD') or
                                                        os.path.join(dbplots.TOP, 'build'),
                                                        'report'))
    args = ap.parse_args()
    docs = dbplots.load([args.a, args.b])
    if len(docs) != 2:
        print('compare.py: both files must be valid results files', file=sys.stderr)
        return 2
    (fa, a), (fb, b) = docs
    rows, skipped = compare(a, b)
    stem = (f'compare-{os.path.splitext(os.path.basename(fa))[0]}-vs-'
            f'{os.path.splitext(os.path.basename(fb))[0]}')
    os.makedirs(args.out, exist_ok=True)
    hosts = host_difference(a, b)
    if hosts:
        print(f'compare.py: warning: {hosts}', file=sys.stderr)
    md = [f'### Comparison: B / A', '', f'- A: {describe(a)} — `{fa}`', f'- B: {describe(b)} — `{fb}`',
          *([f'- **Different hosts.** {hosts}: the ratios mix machines, not only software.']
            if hosts else []),
          '', '| benchmark (mode) | unit / per | A median (CV) | B median (CV) | B/A | B/A range |',
          '|---|---|---:|---:|---:|---:|']
    for k, ra, rb, r, lo, hi in rows:
        md.append(f'| {label(k)} | {ra["unit"]} / {ra.get("per", "op")} | {dbplots.cell_text(ra)} | '
                  f'{dbplots.cell_text(rb)} | {r:.3f} | {lo:.3f}..{hi:.3f} |')
    md.append('')
    md.append('B/A < 1: B is faster.  Range: B min / A max .. B max / A min over repetitions.')
    # one line per distinct reason, listing what it applies to
    by_why = {}
    for k, why in skipped:
        by_why.setdefault(why, []).append(label(k))
    for why, labels in by_why.items():
        md.append(f'- {", ".join(labels)}: {why}' if len(labels) < 4 else
                  f'- {len(labels)} entries ({", ".join(labels)}): {why}')
    with open(os.path.join(args.out, stem + '.md'), 'w') as f:
        f.write('\n'.join(md) + '\n')
    if rows:
        panels = [(f'{label(k)}\n[{ra["unit"]} per {ra.get("per", "op")}]',
                   [('B / A, ratio of medians', r, lo, hi,
                     '#2ca02c' if r < 1 else '#d62728', 'o')], None)
                  for k, ra, rb, r, lo, hi in rows]
        unit = ', '.join(sorted({ra['unit'] for _, ra, *_ in rows}))
        title = (('DIFFERENT HOSTS — ' if hosts else '') +
                 f'B / A, ratio of median {unit} (< 1: B faster), whiskers: B min / A max to '
                 f'B max / A min — B: {b["host"]["hostname"]} {b["implementation"]["name"]} '
                 f'{b["created"][:16]} vs A: {a["host"]["hostname"]} '
                 f'{a["implementation"]["name"]} {a["created"][:16]}')
        dbplots.dot_panels(os.path.join(args.out, stem + '.png'), title, panels,
                           'B / A (linear, from 0; dashed: 1 = no difference)', ref_line=1)
        print(os.path.join(args.out, stem + '.png'))
    print(os.path.join(args.out, stem + '.md'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
