#!/usr/bin/python3
"""report.py - the paper's Tables 2 and 3, charts and an HTML report from
dunebench results files.

usage: plots/report.py [-o DIR] [--all] [RESULTS.json | DIR ...]

Inputs default to results/ (its schema/ and tests/ are skipped).  Unless
--all, per (host, implementation, unit) each benchmark's newest complete
result is used (a later run of a few benchmarks does not hide the others;
an interrupted, partial run is left out), and the notes say which run each
value comes from.  DIR is emptied of earlier reports' .png/.md/.html first.
Writes into DIR (default build/report/):
  table2.md table3.md                the tables as Markdown (one per unit present)
  table2-<unit>.png table3-<unit>.png   the same tables as images (index.html has
                                     them as HTML tables)
  linux-<unit>.png                   Linux medians per benchmark, a linear panel
                                     each from zero, min-max whiskers
  ratio-<unit>.png                   Dune/Linux ratios, the same way (only when
                                     Dune data exist)
  lab-table.md lab-table-ticks.png   the VMX lab table (ticks) of the newest lab run:
                                     Linux, Dune vmx and kvm (ours), the original Dune
                                     in the same lab (reference) and ours/original
  lab-ticks.png                      the same as a chart
  lab-smp-table.md                   the lab's SMP table (two CPUs: IPI round trip and
                                     one way, TLB shootdown; Dune vmx and kvm beside
                                     Linux, with Linux / Dune) of the newest run in
                                     results/vmx-lab-smp/ (host vmx-lab-smp)
  repeatability.md                   per cycles run: CV per benchmark and what moved it
  fig3-<host>.png fig4-<host>.png macro.md   the macro workloads and lighttpd
                                     (plots/macro.py): Figures 3 and 4 in the paper's style
  index.html                         all of the above, plus every run in full
Cycles and ticks (VMX lab path lengths) are never put in one table or axis.
"""
import argparse
import datetime
import html
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbplots  # noqa: E402
import macro as macroplots  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('inputs', nargs='*', help='results files or directories (default results/)')
    ap.add_argument('-o', '--out', default=os.path.join(os.environ.get('BUILD') or
                                                        os.path.join(dbplots.TOP, 'build'),
                                                        'report'))
    ap.add_argument('--all', action='store_true', help='every run, not only the newest ones')
    args = ap.parse_args()

    loaded = dbplots.load(args.inputs or [os.path.join(dbplots.TOP, 'results')])
    # macro results (dunebench macro) have figures of their own, below
    docs = [(f, d) for f, d in loaded if not macroplots.is_macro(d)]
    if not args.all:
        docs = dbplots.latest(docs)
    # the lab's SMP table (two CPUs) has a table of its own, below
    smp_docs = [(f, d) for f, d in docs if dbplots.is_smp_lab(d)]
    docs = [(f, d) for f, d in docs if not dbplots.is_smp_lab(d)]
    os.makedirs(args.out, exist_ok=True)
    clean(args.out)
    if not docs:
        dbplots.warn('no results files: tables show the reference numbers only')
    units = dbplots.units_present(docs)
    made = []     # (kind, title, file)
    for tid in ('table2', 'table3'):
        md = []
        for unit in units:
            title, header, rows, notes, cols = dbplots.build_table(docs, tid, unit)
            md.append(dbplots.markdown(title, header, rows, notes))
            png = f'{tid}-{unit}.png'
            dbplots.png_table(os.path.join(args.out, png), title, header, rows, notes, cols)
            made.append(('table', title, (png, html_table(header, rows, notes, cols))))
        with open(os.path.join(args.out, f'{tid}.md'), 'w') as f:
            f.write('\n'.join(md))
        made.append(('md', tid, f'{tid}.md'))
    cyc = [(f, d) for f, d in docs if dbplots.doc_unit(d) == 'cycles']
    if cyc:
        with open(os.path.join(args.out, 'repeatability.md'), 'w') as f:
            f.write('\n'.join(dbplots.noise_markdown(d) for _, d in cyc))
        made.append(('md', 'repeatability', 'repeatability.md'))
    lab = dbplots.lab_pick(docs)
    if lab:
        with open(os.path.join(args.out, 'lab-table.md'), 'w') as f:
            f.write(dbplots.lab_markdown(lab))
        made.append(('md', 'lab-table', 'lab-table.md'))
        dbplots.png_lab_table(os.path.join(args.out, 'lab-table-ticks.png'), lab)
        title, header, rows, notes, _ = dbplots.build_lab_table(lab)
        made.append(('table', title, ('lab-table-ticks.png', html_table(header, rows, notes))))
        title = dbplots.lab_chart(os.path.join(args.out, 'lab-ticks.png'), lab)
        made.append(('chart', title, 'lab-ticks.png'))
    smp = dbplots.smp_pick(smp_docs)
    if smp:
        with open(os.path.join(args.out, 'lab-smp-table.md'), 'w') as f:
            f.write(dbplots.smp_markdown(smp))
        made.append(('md', 'lab-smp-table', 'lab-smp-table.md'))
    for unit in units:
        title = dbplots.linux_chart(os.path.join(args.out, f'linux-{unit}.png'), docs, unit)
        if title:
            made.append(('chart', title, f'linux-{unit}.png'))
        title = dbplots.ratio_chart(os.path.join(args.out, f'ratio-{unit}.png'), docs, unit)
        if title:
            made.append(('chart', title, f'ratio-{unit}.png'))
        else:
            made.append(('note', f'No Dune/Linux ratio chart in {unit}: no run has Dune-mode '
                                  f'numbers yet (see the n/a reasons in the tables).', None))
    made += macroplots.render(loaded, args.out)
    write_html(args.out, docs + smp_docs, made)
    for kind, title, fn in made:
        if fn:
            print(os.path.join(args.out, fn[0] if isinstance(fn, tuple) else fn))
    print(os.path.join(args.out, 'index.html'))
    return 0


# what this script and compare.py write: removed before a rebuild, so that no
# file of an earlier report (a compare-* of other runs) stays behind
OWN_SUFFIXES = ('.png', '.md', '.html')


def clean(out):
    for fn in os.listdir(out):
        p = os.path.join(out, fn)
        if fn.endswith(OWN_SUFFIXES) and os.path.isfile(p):
            os.unlink(p)


def html_table(header, rows, notes, cols=None):
    """A paper table as HTML: numbers right-aligned, reference columns shaded."""
    e = html.escape
    kinds = [c.kind for c in cols] if cols else \
        ['ref' if h.startswith('ref') else 'measured' for h in header[1:]]
    p = ['<table class=paper><tr>' + ''.join(
        f'<th class="{"ref" if i and kinds[i - 1] == "ref" else ""}">'
        f'{e(h).replace(chr(10), "<br>")}</th>' for i, h in enumerate(header)) + '</tr>']
    for r in rows:
        cells = [f'<td>{e(r[0])}</td>']
        for i, c in enumerate(r[1:]):
            cls = ['n'] + (['ref'] if kinds[i] == 'ref' else [])
            if c.startswith(dbplots.FAILED):
                cls.append('failed')
            elif c.startswith('n/a') or c == dbplots.NOT_RUN or c.startswith('(in '):
                cls.append('na')
            cells.append(f'<td class="{" ".join(cls)}">{e(c)}</td>')
        p.append('<tr>' + ''.join(cells) + '</tr>')
    p.append('</table>')
    if notes:
        p.append('<ul class=notes>' + ''.join(f'<li>{e(n)}</li>' for n in notes) + '</ul>')
    return '\n'.join(p)


def write_html(out, docs, made):
    e = html.escape
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    p = ['<!doctype html><html><head><meta charset="utf-8"><title>dunebench report</title>',
         '<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}'
         'table{border-collapse:collapse;margin:1em 0;font-size:90%}'
         'td,th{border:1px solid #ccc;padding:3px 7px}td.n{text-align:right}'
         'tr.na td{color:#888}tr.failed td{color:#c0392b}img{max-width:100%;border:1px solid #eee}'
         'td.na{color:#888}td.failed{color:#c0392b;font-weight:bold}th.ref,td.ref{background:#fbf6ea;'
         'font-style:italic}table.paper{font-size:100%}ul.notes{font-size:85%;color:#444}'
         '.vm{background:#fde2e1;padding:.5em;border-left:4px solid #c0392b}'
         '.unit{background:#fff6d5;padding:.5em;border-left:4px solid #d9b300}</style></head><body>',
         '<h1>dunebench report</h1>',
         f'<p>Generated {e(now)} from {len(docs)} results file(s).</p>',
         '<p class=unit><b>Units.</b> <i>cycles</i> are TSC cycles measured on a real or virtual '
         'CPU. <i>ticks</i> are emulated steps in the VMX lab (Bochs): deterministic path lengths, '
         'not speed. They are never mixed in one table or axis. Reference columns (ref:) are '
         'published or previously recorded numbers, not measured here.</p>',
         '<h2>Runs</h2><table><tr><th>host</th><th>implementation</th><th>created</th>'
         '<th>profile</th><th>unit</th><th>CPU</th><th>pinned to</th><th>load avg at start</th>'
         '<th>commit</th><th>file</th></tr>']
    for f, d in docs:
        impl = d['implementation']
        files = d.get('_runs') or [f]
        p.append(f'<tr><td>{e(d["host"]["hostname"])}<br><small>{e(d["host"].get("host_id", ""))}'
                 f'</small></td><td>{e(impl["name"])}</td>'
                 f'<td>{e(d["created"])}{" <b>(partial)</b>" if dbplots.is_partial(d) else ""}</td><td>{e(d["run"]["profile"])} '
                 f'({d["run"]["repetitions"]} reps)</td><td>{e(dbplots.doc_unit(d))}</td>'
                 f'<td>{e(d["host"]["cpu_model"])}{" (VM)" if d["host"]["virtualized"] else ""}</td>'
                 f'<td>{e(str(d["run"].get("cpu") if d["run"].get("cpu") is not None else ""))}</td>'
                 f'<td>{e(" / ".join(str(x) for x in (d["run"].get("loadavg_start") or [])))}</td>'
                 f'<td>{e((impl.get("git_commit") or "?")[:12])}</td>'
                 f'<td>{"<br>".join(e(os.path.relpath(x)) for x in files)}</td></tr>')
    p.append('</table>')
    vms = [d for _, d in docs if d['host'].get('virtualized') and dbplots.doc_unit(d) == 'cycles']
    for d in vms:
        p.append(f'<p class=vm><b>Measured inside a VM.</b> {e(d["host"]["hostname"])} is a virtual '
                 f'machine ({e(str(d["host"].get("hypervisor") or "hypervisor"))}): its Linux '
                 f'baselines include the hypervisor\'s costs (a getpid, for one, may take many times '
                 f'the paper\'s bare-metal number). The paper\'s and the port\'s reference columns '
                 f'are bare metal; compare ratios, not absolute cycles.</p>')
    p.append('<h2>Paper tables</h2>')
    for kind, title, fn in made:
        if kind == 'table':
            png, table = fn
            p.append(f'<h3>{e(title)}</h3>{table}<p>As an image for papers: '
                     f'<a href="{e(png)}">{e(png)}</a></p>')
        elif kind == 'md':
            p.append(f'<p>Markdown: <a href="{e(fn)}">{e(fn)}</a></p>')
    if os.path.exists(os.path.join(out, 'repeatability.md')):
        p.append('<h2>Repeatability</h2><p>How steady each cycles run was, and what moved it: '
                 f'<a href="repeatability.md">repeatability.md</a></p>')
        for _, d in docs:
            if dbplots.doc_unit(d) == 'cycles':
                rows = dbplots.noise_rows(d)
                p.append(f'<h3>{e(d["host"]["hostname"])} — {e(d["created"])}</h3><table><tr>'
                         + ''.join(f'<th>{e(h)}</th>' for h in
                                   ('benchmark', 'median', 'CV', 'CV if means', 'CV of batch min',
                                    'fast share', 'corr', 'steal', 'other CPUs busy'))
                         + '</tr>')
                for r in rows:
                    p.append('<tr>' + ''.join(f'<td class=n>{e(c)}</td>' for c in r) + '</tr>')
                p.append('</table>')
    p.append('<h2>Charts</h2>')
    for kind, title, fn in made:
        if kind == 'chart':
            p.append(f'<figure><img src="{e(fn)}" alt="{e(title)}"><figcaption>{e(title)}'
                     f'</figcaption></figure>')
        elif kind == 'note':
            p.append(f'<p><i>{e(title)}</i></p>')
    comps = sorted(fn for fn in os.listdir(out) if fn.startswith('compare-') and fn.endswith('.md'))
    if comps:
        p.append('<h2>Comparisons</h2><ul>')
        for fn in comps:
            png = fn[:-3] + '.png'
            p.append(f'<li><a href="{e(fn)}">{e(fn)}</a>'
                     + (f' <a href="{e(png)}">(chart)</a>' if os.path.exists(os.path.join(out, png)) else '')
                     + '</li>')
        p.append('</ul>')
    p.append('<h2>Every benchmark of every run</h2>')
    for f, d in docs:
        p.append(f'<h3>{e(d["host"]["hostname"])} — {e(d["implementation"]["name"])} — '
                 f'{e(d["created"])}</h3>')
        p.append(dbplots.html_results_table(d))
    p.append('</body></html>')
    with open(os.path.join(out, 'index.html'), 'w') as fh:
        fh.write('\n'.join(p) + '\n')


if __name__ == '__main__':
    sys.exit(main())
