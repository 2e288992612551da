#!/usr/bin/python3
"""macro.py - Figure 3 and Figure 4 of the paper, in their style, from
`dunebench macro` results files ("kind": "macro").

usage: plots/macro.py [-o DIR] [RESULTS.json | DIR ...]

Inputs default to results/.  Per host, each workload's newest complete
result is used (an interrupted, partial run is left out).  Writes into DIR
(default build/report/):
  fig3-<host>.png     per workload, the runtime in the sandbox (without and
                      with --big-pages, per backend) normalised to Linux:
                      median ratio with min-max whiskers; Linux is 1 with its
                      own spread; a mode this host could not run is marked n/a
                      with the reason in the notes
  fig4-<host>.png     lighttpd: requests per second per mode (median, min-max)
                      and the latency percentiles
  macro.md            the same numbers as tables, with each output check
plots/report.py calls this too, so `make plots` includes them.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbplots  # noqa: E402

SANDBOX_MODES = ('sandbox', 'sandbox-big-pages')
MODE_LABEL = {'linux': 'Linux', 'sandbox': 'Dune sandbox',
              'sandbox-big-pages': 'Dune sandbox, 2 MB pages'}
COLORS = {('linux', None): '#4c72b0', ('sandbox', 'vmx'): '#dd8452',
          ('sandbox', 'kvm'): '#c44e52', ('sandbox-big-pages', 'vmx'): '#55a868',
          ('sandbox-big-pages', 'kvm'): '#8172b3'}


def is_macro(d):
    return d.get('kind') == 'macro'


def macro_docs(docs):
    """The newest complete macro results per host (benchmarks merged)."""
    return dbplots.latest([(f, d) for f, d in docs if is_macro(d)])


def host_label(d):
    h = d['host']
    return f'{h["hostname"]} ({h["cpu_model"]}{", a VM" if h.get("virtualized") else ""})'


def safe(name):
    return ''.join(c if c.isalnum() or c in '.-_' else '-' for c in name)


def columns(d, names):
    """The (mode, backend) columns present, Linux first."""
    cols = [('linux', None)]
    for mode in SANDBOX_MODES:
        bes = []
        for r in d['benchmarks']:
            if r['name'] in names and r['mode'] == mode and r.get('backend') not in bes:
                bes.append(r.get('backend'))
        cols += [(mode, b) for b in sorted(bes, key=lambda b: (b is None, b or ''))]
    return cols


def find(d, name, mode, backend):
    for r in d['benchmarks']:
        if r['name'] == name and r['mode'] == mode and r.get('backend') == backend:
            return r
    return None


def col_label(mode, backend):
    return MODE_LABEL[mode] + (f' ({backend})' if backend else '')


def reasons(d, names):
    """Deduplicated notes: what could not run, and why."""
    seen = {}
    for r in d['benchmarks']:
        if r['name'] not in names or r.get('available'):
            continue
        st = dbplots.state(r)
        text = r.get('error') if st == 'failed' else r.get('reason')
        key = (st, r['mode'], r.get('backend'), text)
        seen.setdefault(key, []).append(r['name'])
    notes = []
    for (st, mode, backend, text), who in seen.items():
        what = 'FAILED' if st == 'failed' else 'n/a'
        notes.append(f'{col_label(mode, backend)} {what} for {", ".join(who)}: {text}')
    return notes


def figure3(path, d):
    """Runtime normalised to Linux; returns the title or None without workloads."""
    names = [r['name'] for r in d['benchmarks'] if r['mode'] == 'linux' and r['name'] != 'lighttpd']
    if not names:
        return None
    plt = dbplots.mpl()
    cols = columns(d, names)
    width = 0.8 / len(cols)
    fig_w = min(14.0, max(7.5, 1.0 + len(names) * (0.45 + 0.15 * len(cols))))
    notes = reasons(d, names)
    note_text = '\n'.join(dbplots._wrap(n, int(fig_w * 14)) for n in notes)
    n_lines = note_text.count('\n') + 1 if notes else 0
    fig_h = 4.4 + 0.16 * n_lines
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes([0.08, (0.9 + 0.16 * n_lines) / fig_h, 0.9, 3.0 / fig_h])
    top = 1.2
    for ci, (mode, backend) in enumerate(cols):
        for i, name in enumerate(names):
            x = i - 0.4 + width * (ci + 0.5)
            r = find(d, name, mode, backend)
            color = COLORS.get((mode, backend), '#999999')
            if r and r.get('available'):
                if mode == 'linux':
                    med = r['median']
                    v, lo, hi = 1.0, r['min'] / med, r['max'] / med
                else:
                    rt = r.get('ratio_to_native')
                    if not rt:
                        ax.text(x, 0.05, 'no\nLinux', ha='center', va='bottom', fontsize=6,
                                rotation=90, color='#888888')
                        continue
                    v, lo, hi = rt['median'], rt['min'], rt['max']
                ax.bar(x, v, width * 0.92, color=color,
                       label=col_label(mode, backend) if i == 0 else None)
                ax.errorbar(x, v, yerr=[[v - lo], [hi - v]], fmt='none', ecolor='black',
                            elinewidth=0.8, capsize=2)
                top = max(top, hi * 1.1)
            else:
                failed = r is not None and dbplots.state(r) == 'failed'
                ax.bar(x, 0.0, width * 0.92, color='none', edgecolor=color,
                       label=col_label(mode, backend) if i == 0 else None)
                ax.text(x, 0.03, 'FAILED' if failed else 'n/a', ha='center', va='bottom',
                        fontsize=6, rotation=90, color='#b00000' if failed else '#888888')
    ax.axhline(1.0, color='#444444', linewidth=0.6, linestyle='--')
    ax.set_ylim(0, top)
    labels = []
    for name in names:
        r = find(d, name, 'linux', None)
        sec = f'\n{r["median"]:.2f} s' if r and r.get('available') else ''
        labels.append(name + sec)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel('runtime / Linux runtime')
    ax.legend(fontsize=7, loc='upper left', ncol=min(3, len(cols)))
    size = d.get('run', {}).get('size', '?')
    title = (f'Figure 3 style: workload runtime normalised to Linux (median, whiskers min–max '
             f'over {d["run"]["repetitions"]} repetitions; size {size}) — {host_label(d)}, '
             f'{d["created"][:10]}')
    fig.text(0.01, 1 - 0.25 / fig_h, dbplots._wrap(title, int(fig_w * 13)), fontsize=9,
             weight='bold', va='top')
    if notes:
        fig.text(0.01, 0.1 / fig_h + 0.16 * n_lines / fig_h, note_text, fontsize=7, va='top',
                 color='#333333')
    fig.savefig(path)
    plt.close(fig)
    return title


def figure4(path, d):
    """lighttpd throughput and latency; returns the title or None without data."""
    rows = [r for r in d['benchmarks'] if r['name'] == 'lighttpd']
    if not rows:
        return None
    plt = dbplots.mpl()
    cols = columns(d, ['lighttpd'])
    notes = reasons(d, ['lighttpd'])
    fig_w = 9.0
    note_text = '\n'.join(dbplots._wrap(n, int(fig_w * 14)) for n in notes)
    n_lines = note_text.count('\n') + 1 if notes else 0
    fig_h = 4.2 + 0.16 * n_lines
    fig = plt.figure(figsize=(fig_w, fig_h))
    bottom = (0.8 + 0.16 * n_lines) / fig_h
    ax1 = fig.add_axes([0.09, bottom, 0.38, 2.8 / fig_h])
    ax2 = fig.add_axes([0.58, bottom, 0.38, 2.8 / fig_h])
    for i, (mode, backend) in enumerate(cols):
        r = find(d, 'lighttpd', mode, backend)
        color = COLORS.get((mode, backend), '#999999')
        label = col_label(mode, backend)
        if r and r.get('available'):
            ax1.bar(i, r['median'], 0.7, color=color)
            ax1.errorbar(i, r['median'], yerr=[[r['median'] - r['min']], [r['max'] - r['median']]],
                         fmt='none', ecolor='black', elinewidth=0.8, capsize=3)
            ax1.text(i, r['median'], f'{r["median"]:,.0f}', ha='center', va='bottom', fontsize=7)
            lat = r.get('latency', {})
            pcts = sorted(lat, key=lambda p: float(p[1:]))
            ax2.plot([float(p[1:]) for p in pcts], [lat[p]['median'] for p in pcts], 'o-',
                     color=color, label=label)
        else:
            failed = r is not None and dbplots.state(r) == 'failed'
            ax1.text(i, 0, 'FAILED' if failed else 'n/a', ha='center', va='bottom', fontsize=7,
                     rotation=90, color='#b00000' if failed else '#888888')
    ax1.set_xticks(range(len(cols)))
    ax1.set_xticklabels([dbplots._wrap(col_label(m, b), 14) for m, b in cols], fontsize=7)
    ax1.set_ylabel('requests per second')
    ax1.set_ylim(bottom=0)
    ax2.set_xlabel('latency percentile')
    ax2.set_ylabel('latency (µs)')
    ax2.set_ylim(bottom=0)
    if ax2.lines:
        ax2.legend(fontsize=7)
    info = next((r.get('info', {}) for r in rows if r.get('available')), {})
    conn = f'{info["connections"]} connections, {info["duration_s"]:g} s per run; ' if info else ''
    title = (f'Figure 4 style: lighttpd, 1 KB file on 127.0.0.1, one worker, keep-alive, wrk '
             f'({conn}median, whiskers min–max) — {host_label(d)}, {d["created"][:10]}')
    fig.text(0.01, 1 - 0.2 / fig_h, dbplots._wrap(title, int(fig_w * 13)), fontsize=9,
             weight='bold', va='top')
    if notes:
        fig.text(0.01, 0.1 / fig_h + 0.16 * n_lines / fig_h, note_text, fontsize=7, va='top',
                 color='#333333')
    fig.savefig(path)
    plt.close(fig)
    return title


def fmt_series(r, unit_fmt):
    cv = '' if r.get('cv') is None else f' ±{100 * r["cv"]:.1f}%'
    return unit_fmt(r['median']) + cv


def markdown(d):
    names = [r['name'] for r in d['benchmarks'] if r['mode'] == 'linux']
    cols = columns(d, names)
    head = ['workload', 'package', 'size', 'output check'] + [col_label(m, b) for m, b in cols]
    rows = []
    for name in names:
        lin = find(d, name, 'linux', None)
        wl = lin.get('workload', {}) if lin else {}
        pkg = wl.get('package') or 'ours'
        if wl.get('package_version'):
            pkg += f' {wl["package_version"]}'
        check = (lin.get('output_check') or lin.get('body_check') or {}).get('detail', '') \
            if lin and lin.get('available') else ''
        row = [name, pkg, wl.get('size', ''), check]
        for mode, backend in cols:
            r = find(d, name, mode, backend)
            if r is None:
                row.append('—')
            elif not r.get('available'):
                row.append('FAILED' if dbplots.state(r) == 'failed' else 'n/a')
            elif name == 'lighttpd':
                row.append(fmt_series(r, lambda v: f'{v:,.0f} req/s') +
                           (f' ({r["ratio_to_native"]["median"]:.3f}x)' if 'ratio_to_native' in r
                            else ''))
            elif mode == 'linux':
                cpu = r.get('cpu', {}).get('median')
                row.append(fmt_series(r, lambda v: f'{v:.3f} s') +
                           (f' (cpu {cpu:.2f} s)' if cpu is not None else ''))
            else:
                rt = r.get('ratio_to_native')
                row.append(f'{rt["median"]:.3f}x ({rt["min"]:.3f}–{rt["max"]:.3f})' if rt
                           else fmt_series(r, lambda v: f'{v:.3f} s'))
        rows.append(row)
    lines = [f'### Macro workloads — {host_label(d)}, {d["created"]}, size '
             f'{d.get("run", {}).get("size", "?")}', '',
             '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    lines += ['| ' + ' | '.join(str(c).replace('|', '/') for c in r) + ' |' for r in rows]
    lines.append('')
    lines += [f'- {n}' for n in reasons(d, names)]
    lines.append('- Linux: median wall-clock seconds ±CV (and the median CPU seconds, user + '
                 'system); sandboxed: median runtime over the Linux median (min–max); lighttpd: '
                 'requests per second.')
    load = d.get('run', {}).get('loadavg_start')
    if load:
        lines.append(f'- Load average at the start: {", ".join(f"{x:g}" for x in load)} '
                     f'(wall-clock times stretch with other work on the host; CPU times less).')
    return '\n'.join(lines) + '\n'


def render(docs, out):
    """Figures and tables for every host's macro results: [(kind, title, file)]."""
    made = []
    md = []
    for f, d in macro_docs(docs):
        tag = safe(d['host']['hostname'])
        t = figure3(os.path.join(out, f'fig3-{tag}.png'), d)
        if t:
            made.append(('chart', t, f'fig3-{tag}.png'))
        t = figure4(os.path.join(out, f'fig4-{tag}.png'), d)
        if t:
            made.append(('chart', t, f'fig4-{tag}.png'))
        md.append(markdown(d))
    if md:
        with open(os.path.join(out, 'macro.md'), 'w') as fh:
            fh.write('\n'.join(md))
        made.append(('md', 'macro', 'macro.md'))
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('inputs', nargs='*', help='results files or directories (default results/)')
    ap.add_argument('-o', '--out', default=os.path.join(os.environ.get('BUILD') or
                                                        os.path.join(dbplots.TOP, 'build'),
                                                        'report'))
    args = ap.parse_args()
    docs = dbplots.load(args.inputs or [os.path.join(dbplots.TOP, 'results')])
    os.makedirs(args.out, exist_ok=True)
    made = render(docs, args.out)
    if not made:
        dbplots.warn('no macro results files (dunebench macro writes them): nothing drawn')
        return 1
    for _, _, fn in made:
        print(os.path.join(args.out, fn))
    return 0


if __name__ == '__main__':
    sys.exit(main())
