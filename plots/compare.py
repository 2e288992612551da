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
    md = [f'### Comparison: B / A', '', f'- A: {describe(a)} — `{fa}`', f'- B: {describe(b)} — `{fb}`',
          '', '| benchmark (mode) | unit / per | A median ±CV | B median ±CV | B/A | B/A range |',
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
        plt = dbplots.mpl()
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.8))
        ys = range(len(rows))
        vals = [r[3] for r in rows]
        ax.barh(list(ys), [v - 1 for v in vals], left=1, xerr=[[max(v - r[4], 0) for v, r in zip(vals, rows)],
                                      [max(r[5] - v, 0) for v, r in zip(vals, rows)]],
                capsize=3, color=['#4c9a2a' if v < 1 else '#c0504d' for v in vals])
        for y, v, r in zip(ys, vals, rows):
            ax.text(max(v, r[5], 1) * 1.03, y, f'{v:.2f}x', va='center', fontsize=8)
        ax.axvline(1, color='black', lw=1)
        ax.set_xscale('log')
        from matplotlib.ticker import FuncFormatter
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f'{x:g}'))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f'{x:g}'))
        ax.tick_params(axis='x', which='minor', labelsize=7)
        ax.set_yticks(list(ys))
        ax.set_yticklabels([f'{label(r[0])} [{r[1]["unit"]}]' for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel('B / A, ratio of medians (log scale; < 1: B faster); whiskers: min/max range')
        ax.set_title(f'B: {b["host"]["hostname"]} {b["implementation"]["name"]} {b["created"][:16]}\n'
                     f'vs A: {a["host"]["hostname"]} {a["implementation"]["name"]} {a["created"][:16]}',
                     fontsize=10)
        ax.grid(axis='x', which='both', alpha=0.3)
        lo_x, hi_x = ax.get_xlim()
        ax.set_xlim(min(lo_x, 0.9), max(hi_x, 1.1) * 1.15)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, stem + '.png'))
        plt.close(fig)
        print(os.path.join(args.out, stem + '.png'))
    print(os.path.join(args.out, stem + '.md'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
