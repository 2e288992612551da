"""decl - read and check macro/workloads/workloads.toml.

load(path) returns the workloads as dicts with every field checked, or
raises DeclError naming the file, the workload and what was expected.
resolve(w, size, paths) gives one run's argv, stdin, input and check."""
import os
import re
import shlex
import string
import tomllib

import gen

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, 'workloads.toml')
SIZES = ('small', '200m', '1.5g')
FALLBACK = '200m'
REQUIRED = ('name', 'spec', 'class', 'package', 'program', 'args', 'size', 'check')
OPTIONAL = ('stdin', 'generator', 'seed')
# placeholders the runner fills in; the rest come from the size's parameters
BUILTIN = ('input', 'script', 'size', 'mcf_like')
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9._-]*$')


class DeclError(Exception):
    pass


def placeholders(text):
    return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]


def load(path=DEFAULT, need_checks=True):
    """need_checks=False: a size class may lack its output check (--record)."""
    try:
        with open(path, 'rb') as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise DeclError(f'{path}: cannot read: {e.strerror}') from None
    except tomllib.TOMLDecodeError as e:
        raise DeclError(f'{path}: not valid TOML: {e}') from None
    extra = set(doc) - {'workload'}
    if extra:
        raise DeclError(f'{path}: unknown top-level key(s) {", ".join(sorted(extra))}: '
                        f'expected only [[workload]] tables')
    items = doc.get('workload')
    if not isinstance(items, list) or not items:
        raise DeclError(f'{path}: no [[workload]] tables')
    seen = set()
    out = []
    for i, w in enumerate(items, 1):
        where = f'{path}: workload {i} ({w.get("name", "no name")})'
        check_one(w, where, need_checks)
        if w['name'] in seen:
            raise DeclError(f'{where}: the name {w["name"]} is declared twice')
        seen.add(w['name'])
        out.append(w)
    return out


def check_one(w, where, need_checks=True):
    def bad(msg):
        raise DeclError(f'{where}: {msg}')
    for k in REQUIRED:
        if k not in w:
            bad(f'missing "{k}"')
    unknown = set(w) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        bad(f'unknown key(s) {", ".join(sorted(unknown))}')
    for k in ('name', 'spec', 'class', 'package', 'program'):
        if not isinstance(w[k], str):
            bad(f'"{k}" must be a string')
    if not NAME_RE.match(w['name']):
        bad('"name" must be lower case letters, digits, ".", "_" or "-"')
    if not w['program']:
        bad('"program" is empty')
    if w['program'] != '{mcf_like}' and not w['package']:
        bad(f'"package" is empty: only {{mcf_like}} (ours) has none')
    if not isinstance(w['args'], list) or not all(isinstance(a, str) for a in w['args']):
        bad('"args" must be a list of strings')
    if 'stdin' in w and not isinstance(w['stdin'], str):
        bad('"stdin" must be a string')
    sizes = w['size']
    if not isinstance(sizes, dict) or not sizes:
        bad('no [workload.size.CLASS] table')
    for s in sizes:
        if s not in SIZES:
            bad(f'size class "{s}": expected one of {", ".join(SIZES)}')
        if not isinstance(sizes[s], dict):
            bad(f'size.{s} must be a table of parameters')
    for s in ('small', FALLBACK):
        if s not in sizes:
            bad(f'size class "{s}" is not declared (small and {FALLBACK} are required)')
    need = []
    if 'generator' in w:
        if w['generator'] not in gen.GENERATORS:
            bad(f'generator "{w["generator"]}": expected one of {", ".join(sorted(gen.GENERATORS))}')
        if not isinstance(w.get('seed'), int) or isinstance(w.get('seed'), bool):
            bad('a generator needs an integer "seed"')
        need = list(gen.GENERATORS[w['generator']][1])
    elif 'seed' in w:
        bad('"seed" without a "generator"')
    used = [p for a in w['args'] + ([w['stdin']] if 'stdin' in w else [])
            for p in placeholders(a)] + placeholders(w['program'])
    if ('input' in used) != ('generator' in w):
        bad('{input} is used without a generator' if 'input' in used
            else 'a generator whose {input} no argument or stdin uses')
    for s, params in sizes.items():
        for p in need:
            if p not in params:
                bad(f'size.{s}: the {w["generator"]} generator needs "{p}"')
        for p, v in params.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                bad(f'size.{s}.{p}: expected a non-negative integer')
            if p not in need and p not in used:
                bad(f'size.{s}.{p}: neither a generator parameter nor used in the command')
    for p in used:
        if p not in BUILTIN and not all(p in params for params in sizes.values()):
            bad(f'{{{p}}} is not given by every size class')
    c = w['check']
    if not isinstance(c, dict):
        bad('"check" must be a table')
    unknown = set(c) - {'roundtrip', 'line', 'sha256'}
    if unknown:
        bad(f'check: unknown key(s) {", ".join(sorted(unknown))} (roundtrip, line, sha256)')
    if 'roundtrip' in c:
        if not isinstance(c['roundtrip'], str) or not c['roundtrip'].strip():
            bad('check.roundtrip must be a command')
        if 'generator' not in w:
            bad('check.roundtrip needs a generated input to compare with')
    if 'line' in c and (not isinstance(c['line'], str) or not c['line']):
        bad('check.line must be a non-empty string')
    sums = c.get('sha256', {})
    if not isinstance(sums, dict):
        bad('check.sha256 must be a table of size class = "hex digest"')
    for s, h in sums.items():
        if s not in sizes:
            bad(f'check.sha256.{s}: no such size class declared')
        if not isinstance(h, str) or not re.fullmatch(r'[0-9a-f]{64}', h):
            bad(f'check.sha256.{s}: expected 64 lower-case hex digits')
    for s in sizes:
        if need_checks and 'roundtrip' not in c and 'line' not in c and s not in sums:
            bad(f'size class {s} has no output check (roundtrip, line or sha256.{s})')


def size_of(w, size):
    """The size class @w runs with for a requested @size."""
    return size if size in w['size'] else FALLBACK


def input_name(w, size):
    """The generated input's file name (shared by workloads that ask the same)."""
    if 'generator' not in w:
        return None
    fn, need = gen.GENERATORS[w['generator']]
    params = w['size'][size_of(w, size)]
    tag = '-'.join(f'{p}{params[p]}' for p in need)
    ext = {'corpus': 'txt', 'sql': 'sql', 'gtp': 'gtp', 'y4m': 'y4m'}.get(w['generator'], 'bin')
    return f'{w["generator"]}-s{w["seed"]}-{tag}.{ext}'


def resolve(w, size, paths):
    """{argv, stdin, input, check, size}: paths has input_dir, script_dir, mcf_like."""
    eff = size_of(w, size)
    inp = os.path.join(paths['input_dir'], input_name(w, size)) if 'generator' in w else None
    vals = dict(w['size'][eff])
    vals.update(input=inp or '', script=paths['script_dir'].rstrip('/') + '/', size=eff,
                mcf_like=paths['mcf_like'])
    argv = [w['program'].format(**vals)] + [a.format(**vals) for a in w['args']]
    stdin = w['stdin'].format(**vals) if 'stdin' in w else None
    c = w['check']
    check = {'roundtrip': shlex.split(c['roundtrip']) if 'roundtrip' in c else None,
             'line': c.get('line'), 'sha256': c.get('sha256', {}).get(eff)}
    return {'argv': argv, 'stdin': stdin, 'input': inp, 'check': check, 'size': eff}


def make_input(w, size, input_dir):
    """Generate @w's input for @size into input_dir unless it is there; its path."""
    if 'generator' not in w:
        return None
    path = os.path.join(input_dir, input_name(w, size))
    if not os.path.exists(path):
        os.makedirs(input_dir, exist_ok=True)
        tmp = path + '.tmp'
        gen.make(w['generator'], tmp, w['seed'], w['size'][size_of(w, size)])
        os.replace(tmp, path)
    return path
