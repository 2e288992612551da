#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""coverage.py - which tests exercise each function of libdune's public API.

Reads the public header (include/dune/dune.h) for the API's functions, and
the test sources for who calls them: the conformance tests (CTEST blocks of
conformance/api and conformance/guest, with the static helpers they call)
and libdune's native unit tests (Criterion Test() blocks of ref-lib/tests).
With lab TAP files it adds each backend's result per function.

  coverage.py [--tap NAME=FILE[@LABEL] ...] [--markdown] [--check]

  --markdown   the table: function -> test IDs -> result per backend
  --check      TAP: one line per function, "not ok" for a function no test
               calls (exit status 1 then)
"""
import argparse
import collections
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(TOP, "include", "dune", "dune.h")
CONFORM_DIRS = [os.path.join(TOP, "conformance", "api"), os.path.join(TOP, "conformance", "guest")]
UNIT_DIR = os.path.join(TOP, "ref-lib", "tests")

IDENT = re.compile(r"\b([A-Za-z_]\w*)\b")
PROTO = re.compile(r"^(?:static\s+inline\s+)?(?:const\s+)?(?:struct\s+)?[A-Za-z_][\w\s\*]*?[\s\*]"
                   r"([A-Za-z_]\w*)\s*\(")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def api_functions():
    names = []
    text = strip_comments(open(HEADER).read())
    for line in text.splitlines():
        if line.startswith(("#", " ", "\t", "}", "typedef", "extern")):
            continue
        m = PROTO.match(line)
        if not m:
            continue
        name = m.group(1)
        if name.startswith("__") or name.startswith("DUNE_"):
            continue
        if name not in names:
            names.append(name)
    return names


def top_level_blocks(text):
    """(header line, body) of every top-level brace block of a C file."""
    blocks = []
    depth = 0
    start = None
    head_start = 0
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\" or (ch == quote and text[i - 2:i] == "\\\\"):
                quote = None
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0 and start is not None:
                head = text[head_start:start]
                blocks.append((head, text[start:i + 1]))
                head_start = i + 1
                start = None
        elif ch == ";" and depth == 0:
            head_start = i + 1
    return blocks


def tests_in(path, unit):
    """{test id: set of names it uses}, transitively through the file's own
    functions (called, or passed as handlers)."""
    text = strip_comments(open(path).read())
    helpers = {}
    tests = {}
    for head, body in top_level_blocks(text):
        calls = set(IDENT.findall(body))
        if unit:
            m = re.search(r"\bTest\s*\(\s*(\w+)\s*,\s*(\w+)", head)
            if m:
                tests["unit.%s.%s" % (m.group(1), m.group(2))] = calls
                continue
        else:
            m = re.search(r'\.id\s*=\s*"([^"]+)"', head)
            if m and "CTEST" in head:
                tests[m.group(1)] = calls
                continue
        m = re.search(r"([A-Za-z_]\w*)\s*\([^()]*\)\s*$", head.strip())
        if m:
            helpers[m.group(1)] = calls
    # setup/fini of a Criterion suite run around each of its tests
    if unit:
        for m in re.finditer(r"TestSuite\s*\(\s*(\w+)\s*,([^)]*)\)", text):
            suite, args = m.group(1), m.group(2)
            extra = set(re.findall(r"\.(?:init|fini)\s*=\s*(\w+)", args))
            for tid in tests:
                if tid.startswith("unit.%s." % suite):
                    tests[tid] |= extra
    out = {}
    for tid, calls in tests.items():
        seen = set()
        todo = list(calls)
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            todo.extend(helpers.get(n, ()))
        out[tid] = seen
    return out


def all_tests():
    tests = {}
    for d in CONFORM_DIRS:
        for f in sorted(os.listdir(d)):
            if f.endswith(".c"):
                tests.update(tests_in(os.path.join(d, f), unit=False))
    # the ENTER() macro of conformance/api/common.h
    for tid, calls in tests.items():
        if "ENTER" in calls:
            calls.add("dune_init_and_enter")
    for f in sorted(os.listdir(UNIT_DIR)):
        if f.startswith("test_") and f.endswith(".c"):
            tests.update(tests_in(os.path.join(UNIT_DIR, f), unit=True))
    return tests


TAP_LINE = re.compile(r"^(ok|not ok)\s+\d+\s+-\s+([\w.-]+):\s+(\S+)(.*)$")


def read_tap(path, label=None):
    """{test id: verdict} of a lab TAP file; with label, only the lines of
    that lab entry (e.g. conformance.vmx)."""
    res = {}
    for line in open(path, errors="replace"):
        m = TAP_LINE.match(line.strip())
        if not m or (label and m.group(2) not in label.split(",")):
            continue
        ok, tid, rest = m.group(1), m.group(3), m.group(4)
        if "# SKIP" in rest:
            v = "skip"
        elif "# TODO" in rest:
            v = "xfail" if ok == "not ok" else "xpass"
        else:
            v = "pass" if ok == "ok" else "FAIL"
        res[tid] = v
    return res


def summarize(tids, results):
    c = collections.Counter()
    for t in tids:
        if t.startswith("unit."):
            continue
        c[results.get(t, "not run")] += 1
    if not c:
        return "(native unit tests only)"
    order = ["FAIL", "xfail", "pass", "skip", "xpass", "not run"]
    return ", ".join("%d %s" % (c[k], k) for k in order if c[k])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tap", action="append", default=[], metavar="NAME=FILE[@LABEL]",
                    help="a column from a lab TAP file; @LABEL keeps only the lines of that "
                    "lab entry (or of a comma-separated list of them), e.g. "
                    "vmx=lab-intel.tap@conformance.vmx; repeatable")
    ap.add_argument("--markdown", action="store_true", help="print the coverage table")
    ap.add_argument("--check", action="store_true", help="TAP: every API function is called by a test")
    a = ap.parse_args()
    if not (a.markdown or a.check):
        ap.error("say --markdown or --check")
    backends = []
    for spec in a.tap:
        if "=" not in spec:
            ap.error("--tap wants BACKEND=FILE, not %r" % spec)
        name, path = spec.split("=", 1)
        label = None
        if "@" in path:
            path, label = path.rsplit("@", 1)
        if not os.path.exists(path):
            sys.exit("coverage.py: %s: no such file" % path)
        backends.append((name, read_tap(path, label)))

    funcs = api_functions()
    tests = all_tests()
    by_func = {}
    for fn in funcs:
        by_func[fn] = sorted(t for t, calls in tests.items() if fn in calls)

    rc = 0
    if a.check:
        print("TAP version 13")
        print("1..%d" % len(funcs))
        for i, fn in enumerate(funcs, 1):
            t = by_func[fn]
            if t:
                print("ok %d - api-coverage: %s is called by %d test(s)" % (i, fn, len(t)))
            else:
                print("not ok %d - api-coverage: %s is called by no test" % (i, fn))
                rc = 1
    if a.markdown:
        cols = " | ".join(b for b, _ in backends)
        print("| function | tests | %s |" % cols if backends else "| function | tests |")
        print("|---|---|%s" % ("---|" * len(backends)))
        for fn in funcs:
            t = by_func[fn]
            shown = ", ".join("`%s`" % x for x in t[:6]) + (" +%d more" % (len(t) - 6) if len(t) > 6 else "")
            row = "| `%s` | %s |" % (fn, shown or "**none**")
            for _, res in backends:
                row += " %s |" % summarize(t, res)
            print(row)
    return rc


if __name__ == "__main__":
    sys.exit(main())
