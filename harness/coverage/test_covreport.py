#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_covreport.py - host test of harness/coverage/covreport.py (TAP).

Compiles fixtures/covfix.c as the coverage build of dune.ko is compiled
(-fsanitize-coverage=trace-pc, a relocatable object), makes up serial logs
of the guest's dumps (the sections at made-up load addresses, the PCs of the
call sites of chosen functions) and checks the PC -> line mapping, the
report files and the check of the unreached list.  Needs gcc and binutils
only: runs on any host.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "covreport.py")
FIX = os.path.join(HERE, "fixtures")
TEXT = 0xffffffffc0a00000

n = 0
failed = 0


def ok(cond, what, diag=""):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - %s" % (n, what))
        for line in str(diag).splitlines()[:20]:
            print("# " + line)


def sh(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def body(fn):
    """line numbers of the body of function FN of fixtures/covfix.c"""
    out = []
    inside = False
    with open(os.path.join(FIX, "covfix.c")) as f:
        for i, line in enumerate(f, 1):
            if re.match(r"^\w.*\b%s\(" % fn, line):
                inside = True
            if inside:
                out.append(i)
                if line.startswith("}"):
                    break
    return set(out)


def main():
    tmp = tempfile.mkdtemp(prefix="covreport-test.")
    try:
        return run_tests(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_tests(tmp):
    obj = os.path.join(tmp, "covfix.ko")
    rc, out = sh(["gcc", "-c", "-O2", "-g", "-fsanitize-coverage=trace-pc",
                  "-fno-optimize-sibling-calls", "-o", obj, os.path.join(FIX, "covfix.c")])
    if rc != 0:
        print("1..1")
        print("not ok 1 - compile the fixture with -fsanitize-coverage=trace-pc")
        print("# " + out.replace("\n", "\n# "))
        return 1
    # the call sites' return addresses, by function (nm ranges)
    _, relocs = sh(["readelf", "-rW", obj])
    sites = sorted(int(ln.split()[0], 16) + 4 for ln in relocs.splitlines()
                   if "__sanitizer_cov_trace_pc" in ln and "R_X86_64" in ln)
    _, syms = sh(["nm", "-n", obj])
    funcs = [(int(a, 16), name) for a, t, name in
             (ln.split() for ln in syms.splitlines() if len(ln.split()) == 3) if t in "Tt"]

    def sites_of(fn):
        start = [a for a, nm in funcs if nm == fn][0]
        nxt = [a for a, nm in funcs if a > start]
        end = min(nxt) if nxt else 1 << 40
        return [s for s in sites if start < s <= end]

    print("1..24")
    ok(len(sites) >= 5 and all(sites_of(f) for f in ("covfix_init", "covfix_reached", "covfix_unreached")),
       "fixture: every function has coverage call sites", "sites %s, funcs %s" % (sites, funcs))

    def serial(path, dumps, extra=""):
        with open(path, "w") as f:
            f.write("[    1.0] booting\r\n")
            for name, pcs in dumps:
                f.write("# cov.dump_%s| @@COV %s sect .text 0x%x\r\n" % (name, name, TEXT))
                f.write("# cov.dump_%s| @@COV %s sect .init.text 0xffffffffc0b00000\r\n" % (name, name))
                for pc in pcs:
                    f.write("# cov.dump_%s| @@COV %s pc %x\r\n" % (name, name, pc))
                f.write("# cov.dump_%s| @@COV %s end %d\r\n" % (name, name, len(pcs)))
            f.write(extra)
        return path

    def report(ser, outdir, unreached=None, more=()):
        cmd = [sys.executable, TOOL, "--ko", obj, "--src", FIX, "--serial", ser, "--out", outdir]
        for m in more:
            cmd += ["--serial", m] if not m.startswith("--") else [m]
        if unreached:
            cmd += ["--unreached", unreached]
        return sh(cmd)

    init = [TEXT + s for s in sites_of("covfix_init")]
    reach = [TEXT + s for s in sites_of("covfix_reached")]
    ser = serial(os.path.join(tmp, "s1.txt"), [("init", init), ("suite", reach[:1]), ("robustness", reach[1:])])
    out1 = os.path.join(tmp, "r1")
    rc, out = report(ser, out1)
    ok(rc == 0, "report from a serial log with init, suite and robustness dumps", out)
    got = set()
    if os.path.exists(os.path.join(out1, "reached.txt")):
        got = {int(ln.split(":")[1]) for ln in open(os.path.join(out1, "reached.txt")) if ln.startswith("covfix.c:")}
    # which lines hold a block is the compiler's choice: the lines of the
    # functions that ran are reached, at least one each, and only those
    want_r = body("covfix_init") | body("covfix_reached")
    want_u = body("covfix_unreached")
    ok(got and got <= want_r and got & body("covfix_init") and got & body("covfix_reached"),
       "PC -> line: lines of the functions that ran are reached, only those",
       "bodies %s, got %s" % (sorted(want_r), sorted(got)))
    unr = ""
    if os.path.exists(os.path.join(out1, "unreached.txt")):
        unr = open(os.path.join(out1, "unreached.txt")).read()
    unr_lines = {int(m) for m in re.findall(r"^covfix\.c:(\d+)\t", unr, re.M)}
    ok(unr_lines and unr_lines <= want_u and not (unr_lines & got),
       "PC -> line: the lines of the function that did not run are unreached, only those",
       unr)
    ok(all(re.search(r"^covfix\.c:%d\tcovfix_unreached\t" % ln, unr, re.M) for ln in unr_lines),
       "unreached.txt names the function of each line", unr)
    summ = open(os.path.join(out1, "summary.txt")).read() if os.path.exists(os.path.join(out1, "summary.txt")) else ""
    m = re.search(r"^  covfix_unreached\s+(\d+)\s+0 \(0\.0%\)\s+0 \(0\.0%\)\s+0 \(0\.0%\)", summ, re.M)
    m2 = re.search(r"^  covfix_reached\s+(\d+)\s+\d+ \([\d.]+%\)\s+\d+ \([\d.]+%\)\s+(\d+) \(100\.0%\)", summ, re.M)
    m3 = re.search(r"^  covfix_init\s+1\s+1 \(100\.0%\)\s+1 \(100\.0%\)\s+1 \(100\.0%\)", summ, re.M)
    ok(m and m2 and m3, "summary.txt: per function, for suite, robustness and both (init counted in each)", summ)
    ann = os.path.join(out1, "annotated", "covfix.c.txt")
    annt = open(ann).read() if os.path.exists(ann) else ""
    ok(unr_lines and all(re.search(r"^- +%d  " % ln, annt, re.M) for ln in unr_lines) and
       all(re.search(r"^\+ +%d  " % ln, annt, re.M) for ln in got) and
       len(re.findall(r"^[-+] ", annt, re.M)) == len(got | unr_lines),
       "annotated listing marks reached '+' and unreached '-'", annt[:2000])
    doc = {}
    try:
        doc = json.load(open(os.path.join(out1, "coverage.json")))
    except (OSError, ValueError) as e:
        doc = {"error": str(e)}
    names = {b["name"]: b for b in doc.get("benchmarks", [])}
    tot = len(set(got) | unr_lines)
    both = names.get("coverage.lines.both", {}).get("median")
    ok(doc.get("format") == "dunebench-results-v1" and "coverage.lines.suite" in names and
       "coverage.lines.robustness" in names and both is not None and
       abs(both - len(got) / float(tot)) < 0.001 and names["coverage.lines.both"]["unit"] == "ratio",
       "coverage.json in the results format: suite, robustness, both as ratios",
       json.dumps(doc)[:1500])
    try:
        import jsonschema
        schema = json.load(open(os.path.join(HERE, "..", "..", "results", "schema", "results-v1.json")))
        jsonschema.validate(doc, schema)
        err = None
    except ImportError:
        err = "python3-jsonschema is not installed (make deps)"
    except jsonschema.ValidationError as e:
        err = "%s at %s" % (e.message[:300], list(e.path))
    ok(err is None, "coverage.json validates against results/schema/results-v1.json", err)

    # the unreached list check
    good = os.path.join(tmp, "good.list")
    with open(good, "w") as f:
        f.write("# reviewed\ncovfix.c:covfix_unreached\tthe fixture never calls it\n")
    rc, out = report(ser, os.path.join(tmp, "r2"), good)
    ok(rc == 0 and "every unreached line is in" in out, "unreached list: a function entry accounts for its lines", out)
    lines_list = os.path.join(tmp, "lines.list")
    with open(lines_list, "w") as f:
        for ln in sorted(unr_lines):
            f.write("covfix.c:%d\tnever called\n" % ln)
    rc, out = report(ser, os.path.join(tmp, "r3"), lines_list)
    ok(rc == 0, "unreached list: FILE:LINE entries", out)
    with open(lines_list, "w") as f:
        for ln in sorted(unr_lines)[1:]:
            f.write("covfix.c:%d\tnever called\n" % ln)
    rc, out = report(ser, os.path.join(tmp, "r4"), lines_list)
    ok(rc == 1 and ("covfix.c:%d (covfix_unreached) is unreached and not in" % min(unr_lines)) in out,
       "unreached list: an unreached line not listed fails, naming it", out)
    stale = os.path.join(tmp, "stale.list")
    with open(stale, "w") as f:
        f.write("covfix.c:covfix_unreached\tnever called\ncovfix.c:%d\twrong\n" % min(got))
    rc, out = report(ser, os.path.join(tmp, "r5"), stale)
    ok(rc == 1 and "listed as unreached but is reached now" in out,
       "unreached list: a listed line that is reached fails (the list cannot go stale)", out)
    badf = os.path.join(tmp, "bad.list")
    with open(badf, "w") as f:
        f.write("covfix.c 12 no tab\n")
    rc, out = report(ser, os.path.join(tmp, "r6"), badf)
    ok(rc == 2 and "wants FILE:LINE" in out, "unreached list: a malformed line is an error", out)

    # several logs: a second boot's suite-smp dump counts for suite, the
    # soak's rounds for soak; check = suite + robustness, both = all
    unreach = [TEXT + x for x in sites_of("covfix_unreached")]
    serb = serial(os.path.join(tmp, "sb.txt"), [("init-smp", init), ("suite-smp", reach[1:2])])
    sers = serial(os.path.join(tmp, "ss.txt"), [("soak", init + unreach[:1])])
    sers2 = serial(os.path.join(tmp, "ss2.txt"), [("soak", init + unreach[1:])])
    rc, out = report(ser, os.path.join(tmp, "r11"), more=[serb, sers, sers2])
    m = re.search(r"^coverage: suite\s+(\d+) /", out, re.M)
    m0 = re.search(r"^coverage: suite\s+(\d+) /", report(ser, os.path.join(tmp, "r11b"))[1], re.M)
    mc = re.search(r"^coverage: check\s+(\d+) / (\d+)", out, re.M)
    mb = re.search(r"^coverage: both\s+(\d+) / (\d+)", out, re.M)
    ms = re.search(r"^coverage: soak\s+(\d+) /", out, re.M)
    ok(rc == 0 and m and m0 and mc and mb and ms and int(m.group(1)) >= int(m0.group(1)) and
       int(mc.group(1)) == len(got) and int(mb.group(1)) == int(mb.group(2)) and
       int(ms.group(1)) < int(mb.group(1)),
       "several --serial logs: suite-smp counts for suite, the soak's rounds for soak; check and both",
       out)

    # --update-list: a moved line keeps its reason (matched by its text), a
    # new one gets REVIEW (and fails), a reached one leaves
    src2 = os.path.join(tmp, "src2")
    os.makedirs(src2)
    text = open(os.path.join(FIX, "covfix.c")).read().split("\n")
    ul = sorted(unr_lines)
    upd = os.path.join(tmp, "upd.list")
    with open(upd, "w") as f:
        f.write("# head comment\n\n")
        f.write("covfix.c:%d\tthe first reason  [%s]\n" % (ul[0] + 3, text[ul[0] - 1].strip()[:60]))
        f.write("covfix.c:%d\tstale: reached\n" % min(got))
    shutil.copy(os.path.join(FIX, "covfix.c"), src2)
    rc, out = sh([sys.executable, TOOL, "--ko", obj, "--src", src2, "--serial", ser,
                  "--out", os.path.join(tmp, "r12"), "--unreached", upd, "--update-list"])
    new = open(upd).read()
    ok(rc == 1 and new.startswith("# head comment\n") and
       ("covfix.c:%d\tthe first reason  [" % ul[0]) in new and "stale: reached" not in new and
       new.count("REVIEW:") == len(ul) - 1 and "has no reason yet" in out,
       "--update-list: a moved line keeps its reason, a reached one leaves, new ones get REVIEW and fail",
       out + "\n" + new)
    with open(upd, "w") as f:
        f.write(new.replace("REVIEW: ", "reviewed: "))
    rc, out = sh([sys.executable, TOOL, "--ko", obj, "--src", src2, "--serial", ser,
                  "--out", os.path.join(tmp, "r13"), "--unreached", upd, "--update-list"])
    ok(rc == 0 and open(upd).read() == new.replace("REVIEW: ", "reviewed: "),
       "--update-list: a list that matches stays as it is", out)

    # bad serial logs
    ser2 = serial(os.path.join(tmp, "s2.txt"), [("init", init + [TEXT + 0x3])])
    rc, out = report(ser2, os.path.join(tmp, "r7"))
    ok(rc == 2 and "no coverage call site" in out, "a PC that is no call site (log of another build) is an error", out)
    ser3 = os.path.join(tmp, "s3.txt")
    with open(ser3, "w") as f:
        f.write("# cov.dump_init| @@COV init sect .text 0x%x\n# cov.dump_init| @@COV init pc %x\n" % (TEXT, init[0]))
    rc, out = report(ser3, os.path.join(tmp, "r8"))
    ok(rc == 2 and "incomplete" in out, "a dump cut short (no end line) is an error", out)
    ser4 = os.path.join(tmp, "s4.txt")
    with open(ser4, "w") as f:
        f.write("ok 1 - nothing\n")
    rc, out = report(ser4, os.path.join(tmp, "r9"))
    ok(rc == 2 and "no coverage dump" in out, "a log without dumps is an error", out)
    rc, out = sh([sys.executable, TOOL, "--ko", os.path.join(tmp, "missing.ko"), "--src", FIX,
                  "--serial", ser, "--out", os.path.join(tmp, "r10")])
    ok(rc == 2 and "no such file" in out and not os.path.exists(os.path.join(tmp, "r10")),
       "a missing module is refused before any work", out)
    rc, out = report(ser, os.path.join(tmp, "r14"), more=[os.path.join(tmp, "missing.txt")])
    ok(rc == 2 and "no such file" in out and not os.path.exists(os.path.join(tmp, "r14")),
       "a missing second serial log is refused before any work", out)

    # the steered fuzzing's inputs: a mutation XORs exactly its draw
    prog = os.path.join(tmp, "mut.c")
    with open(prog, "w") as f:
        f.write("""#include "fuzz.h"
#include <stdio.h>
int main(void)
{
	struct fuzz_rng a = { .s = 42 }, b = { .s = 42, .nmut = 2,
		.mut = { { 2, 0xffULL }, { 5, 1ULL << 63 } } };
	for (int i = 0; i < 8; i++) {
		unsigned long long x = fuzz_next(&a), y = fuzz_next(&b);
		printf("%d %llx\\n", i, x ^ y);
	}
	printf("n %u %u\\n", a.n, b.n);
	return 0;
}
""")
    exe = os.path.join(tmp, "mut")
    rc, out = sh(["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I",
                  os.path.join(HERE, "..", "..", "conformance", "abi"), "-o", exe, prog])
    if rc == 0:
        rc, out = sh([exe])
    ok(rc == 0 and out == "0 0\n1 0\n2 ff\n3 0\n4 0\n5 8000000000000000\n6 0\n7 0\nn 8 8\n",
       "fuzz.h: a mutation (k, x) XORs draw k with x and leaves the other draws alone", out)
    # the corpus file: every FUZZ_INPUT line is well-formed
    corpus = os.path.join(HERE, "..", "..", "conformance", "fuzz-corpus.list")
    bad = []
    for i, line in enumerate(open(corpus), 1):
        if "FUZZ_INPUT(" in line and not line.lstrip().startswith("*"):
            if not re.match(r'^FUZZ_INPUT\("[a-z0-9._]+", 0x[0-9a-f]+, [0-9]+, "([0-9]+:[0-9a-f]+(,[0-9]+:[0-9a-f]+){0,7})?"\)$',
                            line.strip()):
                bad.append("line %d: %s" % (i, line.strip()))
    ok(not bad, "conformance/fuzz-corpus.list: every FUZZ_INPUT line is well-formed", "\n".join(bad))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
