"""lighttpd_bench - Debian's lighttpd serving a 1 KB file on 127.0.0.1,
loaded by wrk on loopback (Figure 4): natively and in the Dune sandbox.

One worker (server.max-worker = 0), keep-alive, no server.username (it
runs as whoever runs the benchmark).  Each mode gets its own server; a
sample of response bodies is fetched and compared with the file before and
after the load; each repetition is one wrk run of bounded duration and
connections, giving requests per second and latency percentiles.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import time

FILE_NAME = 'file-1k.html'
BODY_SAMPLES = 20
PERCENTILES = ('50', '75', '90', '99')
_servers = []


def body():
    """The 1 KB file: printable, deterministic, not one repeated byte."""
    line = b'<p>dunebench lighttpd 1 KB static file, line %02d ............................</p>\n'
    text = b''.join(line % i for i in range(13))
    return (text + b'x' * 1024)[:1023] + b'\n'


def config(root, port):
    return f'''# dunebench: one worker, keep-alive, loopback only
server.document-root = "{root}/www"
server.bind = "127.0.0.1"
server.port = {port}
server.max-worker = 0
server.errorlog = "{root}/error.log"
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 60
server.max-connections = 1024
mimetype.assign = (".html" => "text/html")
'''


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f'exited with status {proc.returncode} before listening'
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return None
        except OSError:
            time.sleep(0.05)
    return f'not listening on 127.0.0.1:{port} after {seconds} s'


def check_bodies(port, want, n=BODY_SAMPLES):
    """Fetch @n responses on one keep-alive connection; None or what was wrong."""
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        for i in range(n):
            c.request('GET', '/' + FILE_NAME)
            r = c.getresponse()
            got = r.read()
            if r.status != 200:
                return f'response {i + 1}: status {r.status}'
            if got != want:
                return f'response {i + 1}: {len(got)} bytes that differ from the file'
            if r.will_close:
                return f'response {i + 1}: the server closed the keep-alive connection'
    except (OSError, http.client.HTTPException) as e:
        return f'{type(e).__name__}: {e}'
    finally:
        c.close()
    return None


def to_us(v, unit):
    return float(v) * {'us': 1, 'ms': 1e3, 's': 1e6}[unit]


def parse_wrk(text):
    """{'rps', 'latency': {pct: us}, 'requests', 'errors'} from wrk --latency output."""
    m = re.search(r'^Requests/sec:\s+([0-9.]+)', text, re.M)
    if not m:
        raise ValueError('no "Requests/sec:" line in wrk\'s output')
    out = {'rps': float(m.group(1)), 'latency': {}, 'errors': []}
    for pct, v, unit in re.findall(r'^\s+(\d+)%\s+([0-9.]+)(us|ms|s)\s*$', text, re.M):
        out['latency'][pct] = to_us(v, unit)
    m = re.search(r'(\d+) requests in', text)
    out['requests'] = int(m.group(1)) if m else None
    m = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', text)
    if m and int(m.group(1)):
        out['errors'].append(f'{m.group(1)} non-2xx/3xx responses')
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    if m and any(int(x) for x in m.groups()):
        out['errors'].append('socket errors: ' + m.group(0)[len('Socket errors: '):])
    missing = [p for p in PERCENTILES if p not in out['latency']]
    if missing:
        raise ValueError(f'wrk printed no {"/".join(missing)}% latency')
    return out


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def stop_all():
    while _servers:
        stop(_servers.pop())


def find(name):
    return shutil.which(name, path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')


def run(bench, plan, reps, seconds, conns, mode_argv, tmp, result_mode, log, runner):
    lighttpd, wrk = find('lighttpd'), find('wrk')
    common = {'name': 'lighttpd', 'description': 'lighttpd serving a 1 KB file on 127.0.0.1, '
              'one worker, keep-alive; wrk on loopback', 'per': 'second',
              'workload': {'spec': '(Figure 4)', 'class': 'network server',
                           'package': 'lighttpd', 'size': '1 KB file',
                           'command': ['wrk', '-t1', f'-c{conns}', f'-d{seconds:g}s', '--latency'],
                           'stdin': None}}
    missing = [n for n, p in (('lighttpd', lighttpd), ('wrk', wrk)) if not p]
    out, native_med = [], None
    for m, b, why in plan:
        e = dict(common, mode=result_mode[m], backend=b)
        e['workload'] = dict(common['workload'])
        if why or missing:
            e.update(available=False, state='unavailable',
                     reason=why or f'{" and ".join(missing)} not installed (Debian packages '
                                   f'{" and ".join(missing)}; make deps)')
            out.append(e)
            continue
        label = f'lighttpd ({m}{"/" + b if b else ""})'
        root = os.path.join(tmp, f'lighttpd-{m}-{b or "native"}')
        os.makedirs(os.path.join(root, 'www'), exist_ok=True)
        want = body()
        with open(os.path.join(root, 'www', FILE_NAME), 'wb') as f:
            f.write(want)
        port = free_port()
        conf = os.path.join(root, 'lighttpd.conf')
        with open(conf, 'w') as f:
            f.write(config(root, port))
        env = dict(os.environ, **({'DUNE_BACKEND': b} if b else {}))
        log_f = open(os.path.join(root, 'server.out'), 'wb')
        proc = subprocess.Popen(mode_argv(m, [lighttpd, '-D', '-f', conf]), env=env,
                                stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f,
                                start_new_session=True)
        _servers.append(proc)
        err, samples, lat = None, [], {p: [] for p in PERCENTILES}
        try:
            err = wait_port(port, proc, 60)
            err = err or check_bodies(port, want)
            for rep in range(reps):
                if err:
                    break
                p = subprocess.run([wrk, '-t1', f'-c{conns}', f'-d{seconds:g}s', '--latency',
                                    '--timeout', '5s', f'http://127.0.0.1:{port}/{FILE_NAME}'],
                                   capture_output=True, text=True, timeout=seconds + 60)
                if p.returncode != 0:
                    err = f'wrk exited {p.returncode}: {p.stderr.strip()[-200:]}'
                    break
                try:
                    r = parse_wrk(p.stdout)
                except ValueError as x:
                    err = str(x)
                    break
                if r['errors']:
                    err = f'rep {rep + 1}: ' + '; '.join(r['errors'])
                    break
                samples.append(r['rps'])
                for pct in PERCENTILES:
                    lat[pct].append(r['latency'][pct])
                log(f'  {label}: rep {rep + 1}/{reps}: {r["rps"]:,.0f} requests/s, '
                    f'p50 {r["latency"]["50"]:.0f} us, p99 {r["latency"]["99"]:.0f} us')
            err = err or check_bodies(port, want)
            if not err and proc.poll() is not None:
                err = f'lighttpd exited with status {proc.returncode} during the load'
        except subprocess.TimeoutExpired:
            err = 'wrk did not finish in time'
        finally:
            stop(proc)
            _servers.remove(proc)
            log_f.close()
        if err:
            try:
                with open(os.path.join(root, 'error.log'), errors='replace') as f:
                    tail = f.read().strip().splitlines()[-2:]
            except OSError:
                tail = []
            e.update(available=False, state='failed',
                     error=err + (f' (error.log: {" / ".join(tail)})' if tail else ''))
            log(f'  {label}: FAILED: {e["error"]}')
        else:
            s = bench.series(samples, 'requests/s')
            e.update(available=True, state='measured', **s)
            e['statistic'] = 'requests per second of one wrk run'
            e['latency'] = {f'p{p}': bench.series(lat[p], 'us') for p in PERCENTILES}
            e['body_check'] = {'passed': True, 'responses': 2 * BODY_SAMPLES,
                               'detail': f'{BODY_SAMPLES} responses on one keep-alive '
                                         f'connection before and after the load equal the file'}
            e['info'] = {'connections': conns, 'duration_s': seconds, 'threads': 1}
            if m == 'native':
                native_med = s['median']
            elif native_med:
                e['ratio_to_native'] = bench.series([x / native_med for x in samples], 'ratio')
            log(f'  {label}: median {s["median"]:,.0f} requests/s')
        out.append(e)
    return out
