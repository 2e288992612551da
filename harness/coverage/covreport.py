#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""covreport.py - line coverage of dune.ko from the PCs its coverage build
recorded in the VMX lab (harness/coverage/run.sh, `make coverage`).

The coverage build (ref-module/Kbuild DUNE_COVERAGE=1) calls
__sanitizer_cov_trace_pc() at the start of every basic block; the PC it
records is the return address of that call.  The call sites are known from
the module's relocations (one R_X86_64_PLT32/PC32 against
__sanitizer_cov_trace_pc per block), so:

  lines of a file      the source lines holding at least one block start
                       (addr2line over the module's debug information; a
                       block inlined from a kernel header counts for the
                       module line it was inlined into)
  reached lines        the lines of the call sites whose return address
                       the guest printed ("@@COV NAME pc ADDRESS"), each
                       placed in its section with the section addresses the
                       guest printed ("@@COV NAME sect SECTION ADDRESS")

Dumps are grouped by the part of NAME before the first '-' (suite-smp
counts for suite): "init" (module load) counts for every group, and each
run is init plus its groups: suite, robustness, check (suite and
robustness: what `make check` reaches; only when there is a soak too),
soak, and "both" (all of them).  --serial may be given more than once (the
boots of one run, the rounds of a soak).

Writes into --out: summary.txt (per file and function: lines reached /
lines for each run), unreached.txt (the unreached lines of the widest run,
annotated with the source), annotated/<file>.txt (each source line marked
'+' reached, '-' not reached, ' ' no block), coverage.json (the results
format, results/schema/results-v1.json) and reached.txt (file:line of
every reached line).  With --unreached LIST, checks that the unreached
lines of the widest run are exactly those LIST accounts for (FILE:LINE or
FILE:FUNCTION, TAB, reason): exit status 1 if not, saying which; a reason
starting with "REVIEW:" is no reason yet and fails too.  --update-list
rewrites LIST first from this run (see update_list()).
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

COV_SYM = "__sanitizer_cov_trace_pc"
RUN_ORDER = ["suite", "robustness", "check", "soak", "both"]
REVIEW = "REVIEW:"


class Error(Exception):
    pass


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, check=False)
    except OSError as e:
        raise Error("%s: %s" % (cmd[0], e))
    if p.returncode != 0:
        raise Error("%s failed: %s" % (" ".join(cmd[:3]), p.stderr.strip()[:300]))
    return p.stdout


def sections(ko):
    """name -> size of the module's sections (readelf -SW)."""
    out = {}
    for line in run(["readelf", "-SW", ko]).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            out[m.group(1)] = int(m.group(2), 16)
    return out


def call_sites(ko):
    """section -> sorted offsets of the return addresses of the calls to
    the coverage callback (relocation offset + 4)."""
    sites = {}
    sect = None
    for line in run(["readelf", "-rW", ko]).splitlines():
        m = re.match(r"Relocation section '\.rela(\S+)'", line)
        if m:
            sect = m.group(1)
            continue
        f = line.split()
        if sect and len(f) >= 5 and f[4] == COV_SYM and ("PLT32" in f[2] or "PC32" in f[2]):
            sites.setdefault(sect, set()).add(int(f[0], 16) + 4)
    if not sites:
        raise Error("%s has no calls to %s: not a coverage build (Kbuild DUNE_COVERAGE=1)" % (ko, COV_SYM))
    return {s: sorted(v) for s, v in sites.items()}


def map_lines(ko, sites, srcfiles):
    """(section, offset) -> (file, line, function): the innermost frame of
    the call site that is in a module source file (addr2line -i)."""
    out = {}
    for sect, offs in sites.items():
        args = ["addr2line", "-a", "-f", "-i", "-e", ko, "-j", sect]
        args += ["0x%x" % (o - 1) for o in offs]
        lines = run(args).splitlines()
        frames = {}
        cur = None
        i = 0
        while i < len(lines):
            ln = lines[i]
            if re.match(r"^0x[0-9a-f]+$", ln):
                cur = int(ln, 16) + 1
                frames[cur] = []
                i += 1
                continue
            if i + 1 >= len(lines) or cur is None:
                raise Error("addr2line: unexpected output '%s'" % ln)
            func, loc = ln, lines[i + 1]
            frames[cur].append((func, loc))
            i += 2
        for off in offs:
            hit = None
            for func, loc in frames.get(off, []):
                m = re.match(r"^(.*):(\d+)", loc)
                if not m:
                    continue
                base = os.path.basename(m.group(1))
                if base in srcfiles:
                    hit = (base, int(m.group(2)), func)
                    break
            if hit:
                out[(sect, off)] = hit
    return out


def parse_serial(path):
    """dump name -> {"sect": {section: address}, "pcs": set(), "end": n}"""
    dumps = {}
    cur = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"@@COV (\S+) (sect|pc|end) (\S+)(?: (\S+))?\s*$", line)
            if not m:
                continue
            name, kind, a, b = m.groups()
            if kind == "sect":
                # a new dump of a name seen before: keep both (a later boot)
                if name in dumps and dumps[name].get("end") is not None and cur.get(name) != "open":
                    k = 2
                    while "%s#%d" % (name, k) in dumps:
                        k += 1
                    dumps["%s#%d" % (name, k)] = dumps.pop(name)
                d = dumps.setdefault(name, {"sect": {}, "pcs": set(), "end": None})
                cur[name] = "open"
                d["sect"][a] = int(b, 16)
            elif kind == "pc":
                d = dumps.setdefault(name, {"sect": {}, "pcs": set(), "end": None})
                d["pcs"].add(int(a, 16))
            else:
                d = dumps.setdefault(name, {"sect": {}, "pcs": set(), "end": None})
                d["end"] = int(a)
                cur[name] = "closed"
    return dumps


def place(dumps, secsize, sites):
    """dump name -> set of (section, offset) reached; error on a PC that is
    no call site of this module (the log and the module do not match)."""
    siteset = {(s, o) for s, offs in sites.items() for o in offs}
    out = {}
    for name, d in dumps.items():
        if d["end"] is None:
            raise Error("dump %s: incomplete (no end line) in the serial log" % name)
        if not d["sect"]:
            raise Error("dump %s: no section addresses" % name)
        got = set()
        for pc in d["pcs"]:
            where = None
            for s, base in d["sect"].items():
                if s in secsize and base <= pc < base + secsize[s] + 1:
                    where = (s, pc - base)
                    break
            if where is None or where not in siteset:
                raise Error("dump %s: PC %x is no coverage call site of this dune.ko "
                            "(the serial log comes from another build?)" % (name, pc))
            got.add(where)
        out[name] = got
    return out


def runs_of(reached_by_dump):
    """run name -> set of (section, offset)."""
    groups = {}
    for name, got in reached_by_dump.items():
        g = name.split("#")[0].split("-")[0]
        groups.setdefault(g, set()).update(got)
    init = groups.pop("init", set())
    runs = {}
    for g, got in groups.items():
        runs[g] = init | got
    if "soak" in groups and ("suite" in groups or "robustness" in groups):
        runs["check"] = init.union(groups.get("suite", set()), groups.get("robustness", set()))
    if len(groups) > 1:
        runs["both"] = set(init).union(*groups.values())
    elif not runs:
        runs["init"] = init
    return runs


def load_unreached(path, srcfiles):
    """[(lineno, file, line-or-None, function-or-None, reason)]"""
    entries = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" not in line:
                raise Error("%s:%d: wants FILE:LINE or FILE:FUNCTION, a tab, the reason" % (path, n))
            key, reason = line.split("\t", 1)
            reason = reason.strip()
            m = re.match(r"^([\w.-]+):(\w+)$", key.strip())
            if not m or not reason:
                raise Error("%s:%d: wants FILE:LINE or FILE:FUNCTION, a tab, the reason" % (path, n))
            fname, what = m.groups()
            if fname not in srcfiles:
                raise Error("%s:%d: %s is no source file of the module" % (path, n, fname))
            if what.isdigit():
                entries.append((n, fname, int(what), None, reason))
            else:
                entries.append((n, fname, None, what, reason))
    return entries


TEXT_MAX = 60


def split_reason(reason):
    """(reason, source text) of an entry: the text in the trailing
    "  [...]", which update_list() writes after a line entry's reason."""
    i = reason.rfind("  [")
    if i >= 0 and reason.endswith("]"):
        return reason[:i], reason[i + 3:-1]
    return reason, None


def update_list(path, srcfiles, lines, unreached):
    """Rewrite the unreached list at @path for this run's @unreached lines
    [(file, line, function, source text)]: the comment lines before the
    first entry stay; a function entry stays while its function has an
    unreached line and no reached one (it covers all of them; a function
    now partly reached leaves, its unreached lines get REVIEW unless a line
    entry explains them); a line entry keeps its reason
    when an old entry of that file shows the same source text (the nearest
    one: lines move when code above them changes), else it gets a REVIEW
    reason.  Returns (kept, new, dropped) counts."""
    head = []
    with open(path) as f:
        for raw in f:
            if raw.strip() and not raw.lstrip().startswith("#"):
                break
            head.append(raw)
    while head and not head[-1].strip():
        head.pop()
    old = load_unreached(path, srcfiles)
    funcs = {}
    olines = {}
    for n, f, ln, fn, reason in old:
        if fn is not None:
            funcs[(f, fn)] = reason
        else:
            r, text = split_reason(reason)
            olines.setdefault(f, []).append((ln, text, r))
    out = []
    kept = new = 0
    done_funcs = set()
    used = set()
    unr = {(f, ln) for f, ln, fn, text in unreached}
    for f, fn in list(funcs):	# partly reached now: its lines need reasons of their own
        if any((f, x) not in unr for x, g in lines.get(f, {}).items() if g == fn):
            del funcs[(f, fn)]
    for f, ln, fn, text in unreached:
        if (f, fn) in funcs:
            if (f, fn) not in done_funcs:
                done_funcs.add((f, fn))
                out.append("%s:%s\t%s" % (f, fn, funcs[(f, fn)]))
                kept += 1
            continue
        short = text[:TEXT_MAX]
        cands = [(abs(oln - ln), i, r) for i, (oln, otext, r) in enumerate(olines.get(f, []))
                 if otext is not None and otext == short]
        if not cands:	# an entry without the text: same line number
            cands = [(0, i, r) for i, (oln, otext, r) in enumerate(olines.get(f, []))
                     if otext is None and oln == ln]
        free = [c for c in cands if (f, c[1]) not in used] or cands
        if free:
            d, i, r = min(free)
            used.add((f, i))
            kept += 1
        else:
            r = "%s not reached and not explained yet: reach it with a test, or write why the lab " \
                "cannot reach it" % REVIEW
            new += 1
        out.append("%s:%d\t%s  [%s]" % (f, ln, r, short))
    dropped = len(old) - kept
    with open(path + ".tmp", "w") as w:
        w.write("".join(head) + "\n" + "\n".join(out) + "\n")
    os.replace(path + ".tmp", path)
    return kept, new, max(dropped, 0)


def pct(a, b):
    return 100.0 * a / b if b else 100.0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ko", required=True, help="the coverage build of dune.ko")
    ap.add_argument("--src", required=True, help="the module's source directory")
    ap.add_argument("--serial", required=True, action="append",
                    help="serial log of a coverage lab run (repeatable)")
    ap.add_argument("--out", required=True, help="report directory")
    ap.add_argument("--unreached", help="the reviewed list of unreached lines to check")
    ap.add_argument("--update-list", action="store_true",
                    help="rewrite the --unreached list from this run first")
    ap.add_argument("--commit", default="unknown")
    a = ap.parse_args(argv)
    for p in [a.ko] + a.serial:
        if not os.path.isfile(p):
            raise Error("no such file: %s" % p)
    if a.update_list and not a.unreached:
        raise Error("--update-list wants --unreached LIST")
    if not os.path.isdir(a.src):
        raise Error("no such directory: %s" % a.src)
    srcfiles = {f for f in os.listdir(a.src) if re.search(r"\.[ch]$", f)}

    secsize = sections(a.ko)
    sites = call_sites(a.ko)
    where = map_lines(a.ko, sites, srcfiles)
    dumps = {}
    for i, path in enumerate(a.serial):
        got = parse_serial(path)
        if not got:
            raise Error("%s: no coverage dump (@@COV lines): did the coverage lab run reach cov.dump_*?" % path)
        for name, d in got.items():
            dumps[name if i == 0 else "%s#f%d" % (name, i)] = d
    runs = runs_of(place(dumps, secsize, sites))
    order = [r for r in RUN_ORDER if r in runs] + sorted(r for r in runs if r not in RUN_ORDER)

    # file -> line -> function; the universe of lines
    lines = {}
    for (s, o), (f, ln, fn) in where.items():
        lines.setdefault(f, {}).setdefault(ln, fn)
    reached = {}
    for r, got in runs.items():
        reached[r] = {(where[k][0], where[k][1]) for k in got if k in where}

    os.makedirs(os.path.join(a.out, "annotated"), exist_ok=True)
    widest = "both" if "both" in runs else order[-1]
    total = sum(len(v) for v in lines.values())

    # summary.txt: per file, per function
    rows = []
    hdr = "%-28s %6s" % ("file / function", "lines") + "".join(" %18s" % r for r in order)
    rows.append(hdr)
    rows.append("-" * len(hdr))

    def cells(keys):
        out = ""
        for r in order:
            n = len([k for k in keys if k in reached[r]])
            out += " %18s" % ("%d (%.1f%%)" % (n, pct(n, len(keys))))
        return out
    allkeys = [(f, ln) for f in lines for ln in lines[f]]
    rows.append("%-28s %6d" % ("dune.ko", total) + cells(allkeys))
    for f in sorted(lines):
        keys = [(f, ln) for ln in lines[f]]
        rows.append("%-28s %6d" % (f, len(keys)) + cells(keys))
        funcs = {}
        for ln, fn in lines[f].items():
            funcs.setdefault(fn, []).append((f, ln))
        for fn in sorted(funcs, key=lambda x: min(k[1] for k in funcs[x])):
            rows.append("  %-26s %6d" % (fn[:26], len(funcs[fn])) + cells(funcs[fn]))
    with open(os.path.join(a.out, "summary.txt"), "w") as out:
        out.write("Line coverage of dune.ko (lines = source lines holding a basic block; "
                  "reached = its block ran)\ncommit %s; dumps: %s\n\n" % (a.commit, " ".join(sorted(dumps))))
        out.write("\n".join(rows) + "\n")

    # annotated listings and unreached.txt
    unreached = []
    for f in sorted(lines):
        path = os.path.join(a.src, f)
        src = open(path, errors="replace").read().split("\n") if os.path.isfile(path) else []
        with open(os.path.join(a.out, "annotated", f + ".txt"), "w") as out:
            for i, text in enumerate(src, 1):
                mark = " "
                if i in lines[f]:
                    mark = "+" if (f, i) in reached[widest] else "-"
                out.write("%s %5d  %s\n" % (mark, i, text))
        for ln in sorted(lines[f]):
            if (f, ln) not in reached[widest]:
                text = src[ln - 1].strip() if ln <= len(src) else ""
                unreached.append((f, ln, lines[f][ln], text))
    with open(os.path.join(a.out, "unreached.txt"), "w") as out:
        out.write("# lines not reached by the %s run (%d of %d), FILE:LINE FUNCTION  SOURCE\n"
                  % (widest, len(unreached), total))
        for f, ln, fn, text in unreached:
            out.write("%s:%d\t%s\t%s\n" % (f, ln, fn, text))
    with open(os.path.join(a.out, "reached.txt"), "w") as out:
        for f, ln in sorted(reached[widest]):
            out.write("%s:%d\n" % (f, ln))

    # coverage.json, the results format
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    benches = []
    for r in order:
        n = len(reached[r])
        v = round(pct(n, total) / 100.0, 4)
        benches.append({
            "name": "coverage.lines.%s" % r, "mode": "dune", "backend": "vmx", "available": True,
            "state": "measured", "per": "run",
            "description": "line coverage of dune.ko by the %s run in the VMX lab: %d of %d lines "
                           "holding a basic block" % (r, n, total),
            "unit": "ratio", "repetitions": 1, "median": v, "min": v, "max": v, "mean": v,
            "stddev": 0.0, "cv": 0.0, "samples": [v]})
        for f in sorted(lines):
            k = len([x for x in reached[r] if x[0] == f])
            fv = round(pct(k, len(lines[f])) / 100.0, 4)
            benches.append({
                "name": "coverage.lines.%s.%s" % (r, re.sub(r"[^a-z0-9._-]", "-", f.lower())),
                "mode": "dune", "backend": "vmx", "available": True, "state": "measured", "per": "run",
                "description": "line coverage of ref-module/%s by the %s run: %d of %d lines" % (f, r, k, len(lines[f])),
                "unit": "ratio", "repetitions": 1, "median": fv, "min": fv, "max": fv, "mean": fv,
                "stddev": 0.0, "cv": 0.0, "samples": [fv]})
    doc = {
        "format": "dunebench-results-v1", "created": now,
        "host": {"hostname": "vmx-lab", "cpu_model": "Bochs corei7_skylake_x (emulated: VMX, EPT, VPID, EPT A/D)",
                 "kernel": "lab", "virtualized": True, "hypervisor": "bochs (full emulation)"},
        "implementation": {"name": "dunebench-coverage", "backend": "vmx", "git_commit": a.commit},
        "run": {"profile": "custom", "repetitions": 1, "unit": "ratio", "tool": "harness/coverage/run.sh",
                "command": ["make", "coverage"]},
        "benchmarks": benches}
    with open(os.path.join(a.out, "coverage.json"), "w") as out:
        json.dump(doc, out, indent=1)
        out.write("\n")

    print("coverage: dune.ko, %d lines holding a basic block; dumps: %s" % (total, " ".join(sorted(dumps))))
    for r in order:
        n = len(reached[r])
        print("coverage: %-11s %5d / %d lines (%.1f%%)" % (r, n, total, pct(n, total)))
    print("coverage: report in %s (summary.txt, unreached.txt, annotated/, coverage.json)" % a.out)

    if not a.unreached:
        return 0
    if a.update_list:
        kept, new, dropped = update_list(a.unreached, srcfiles, lines, unreached)
        print("coverage: rewrote %s: %d entries kept, %d new (REVIEW: write their reasons), "
              "%d left out (reached now, or merged)" % (a.unreached, kept, new, dropped))
    entries = load_unreached(a.unreached, srcfiles)
    bad = []
    accounted = set()
    for n, f, ln, fn, reason in entries:
        if ln is not None:
            keys = [(f, ln)] if ln in lines.get(f, {}) else []
            if not keys:
                bad.append("%s:%d: %s:%d holds no basic block (stale entry)" % (a.unreached, n, f, ln))
                continue
        else:
            keys = [(f, x) for x, g in lines.get(f, {}).items() if g == fn]
            if not keys:
                bad.append("%s:%d: no function %s in %s (stale entry)" % (a.unreached, n, fn, f))
                continue
        now_reached = [k for k in keys if k in reached[widest]]
        if now_reached:
            bad.append("%s:%d: %s is listed as unreached but is reached now (%s): remove it"
                       % (a.unreached, n, "%s:%s" % (f, ln if ln is not None else fn),
                          ", ".join("%s:%d" % k for k in now_reached[:5])))
        accounted.update(keys)
        if reason.startswith(REVIEW):
            bad.append("%s:%d: %s:%s has no reason yet (%s): reach it with a test or write the reason"
                       % (a.unreached, n, f, ln if ln is not None else fn, reason.split("  [")[0]))
    for f, ln, fn, text in unreached:
        if (f, ln) not in accounted:
            bad.append("%s:%d (%s) is unreached and not in %s: reach it with a test or list it with "
                       "the reason  | %s" % (f, ln, fn, os.path.basename(a.unreached), text))
    if bad:
        for b in bad:
            print("coverage: FAIL: " + b)
        print("coverage: the unreached list does not match: %d problem(s)" % len(bad))
        return 1
    print("coverage: every unreached line is in %s (%d entries)" % (os.path.basename(a.unreached), len(entries)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Error as e:
        print("covreport: error: %s" % e, file=sys.stderr)
        sys.exit(2)
