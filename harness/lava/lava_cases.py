#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lava_cases.py - report a dunebench results or conformance file to LAVA.

usage: lava_cases.py bench RESULTS.json      (results/schema/results-v1.json)
       lava_cases.py conform REPORT.json     (conformance/schema/report-v1.json)
       lava_cases.py --print bench|conform FILE   print the calls, run nothing

bench: one `lava-test-case <name>-<mode>[-<backend>] --result pass
--measurement <median> --units <unit>` per available benchmark entry (the
backend is part of the name for the Dune modes, which run per backend), and
`--result skip` for a mode this host could not run (its reason is printed).
conform: one `lava-test-case <test ID> --result pass|fail|skip` per test; a
known departure (xfail) is a skip and an unexpected pass (xpass) a fail, with
the reason printed.  The same naming is parsed back by `dunebench
lava-collect` (bench_case_name / parse_bench_case).
Exit status: 0 when every call succeeded, 1 otherwise, 2 on bad input.
"""
import json
import math
import re
import subprocess
import sys

LAVA_RESULT = {'pass': 'pass', 'fail': 'fail', 'skip': 'skip', 'xfail': 'skip', 'xpass': 'fail'}
NAME_OK = re.compile(r'^[A-Za-z0-9._-]+$')
MODES = ('dune-user', 'dune', 'linux', 'sandbox')
BENCH_CASE = re.compile(r'^(?P<name>[a-z0-9][a-z0-9._-]*?)-(?P<mode>linux|sandbox)$|'
                        r'^(?P<dname>[a-z0-9][a-z0-9._-]*?)-(?P<dmode>dune-user|dune)'
                        r'(?:-(?P<backend>[a-z0-9_]+))?$')


def bench_case_name(r):
    name = f'{r["name"]}-{r["mode"]}'
    if r['mode'] in ('dune', 'dune-user') and r.get('backend'):
        name += f'-{r["backend"]}'
    return name


def parse_bench_case(case):
    """(name, mode, backend) of a benchmark case name, or None."""
    m = BENCH_CASE.match(case)
    if not m:
        return None
    if m.group('name'):
        return m.group('name'), m.group('mode'), None
    return m.group('dname'), m.group('dmode'), m.group('backend')


def fmt_number(v):
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def bench_calls(doc):
    calls = []
    for r in doc['benchmarks']:
        case = bench_case_name(r)
        if r.get('available'):
            med = r.get('median')
            if med is None or not math.isfinite(med):
                calls.append(([case, '--result', 'fail'], f'{case}: no median'))
                continue
            calls.append(([case, '--result', 'pass', '--measurement', fmt_number(med),
                           '--units', r['unit']], None))
        else:
            calls.append(([case, '--result', 'skip'], f'{case}: skip: {r.get("reason", "")}'))
    return calls


def conform_calls(doc):
    calls = []
    for t in doc['tests']:
        res = LAVA_RESULT[t['result']]
        note = None
        if t['result'] != 'pass':
            note = f'{t["id"]}: {t["result"]}: {t.get("reason", "")}'
        calls.append(([t['id'], '--result', res], note))
    return calls


def main(argv):
    dry = False
    if argv and argv[0] == '--print':
        dry, argv = True, argv[1:]
    if len(argv) != 2 or argv[0] not in ('bench', 'conform'):
        print(__doc__.strip().split('\n\n')[1], file=sys.stderr)
        return 2
    kind, path = argv
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f'lava_cases: {path}: {e}', file=sys.stderr)
        return 2
    want = 'dunebench-results-v1' if kind == 'bench' else 'dunebench-conformance-v1'
    if doc.get('format') != want:
        print(f'lava_cases: {path}: not a {want} file (format {doc.get("format")!r})',
              file=sys.stderr)
        return 2
    calls = bench_calls(doc) if kind == 'bench' else conform_calls(doc)
    rc = 0
    for args, note in calls:
        if not NAME_OK.match(args[0]):
            print(f'lava_cases: {args[0]!r} is not a valid test case name', file=sys.stderr)
            rc = 1
            continue
        if note:
            print(note, flush=True)
        if dry:
            print('lava-test-case ' + ' '.join(args))
            continue
        if subprocess.call(['lava-test-case'] + args) != 0:
            rc = 1
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
