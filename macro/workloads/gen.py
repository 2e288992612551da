"""gen - the workloads' input generators (macro/workloads/workloads.toml).

Every generator takes a seed and its size parameters and writes one file;
the same arguments give the same bytes on every machine (Python's
random.Random with an integer seed is reproducible across versions).

  corpus  text, log lines and some incompressible bytes (bytes=N)
  sql     an SQLite script: tables filled by a recursive query, indexes,
          joins, updates and aggregates (rows=N)
  gtp     a Go Text Protocol session for gnugo (boardsize, stones, genmoves)
  y4m     a YUV4MPEG2 video: moving gradients, a bouncing block and noise
          (width, height, frames)
"""
import random

GENERATORS = {}


def generator(params):
    """Register a generator with the size parameters it needs."""
    def wrap(fn):
        GENERATORS[fn.__name__] = (fn, tuple(params))
        return fn
    return wrap


def _vocabulary(rng, n):
    letters = 'etaoinshrdlucmfwypvbgkjqxz'
    weights = [12, 9, 8, 8, 7, 7, 6, 6, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    words = set()
    while len(words) < n:
        words.add(''.join(rng.choices(letters, weights, k=rng.randint(2, 11))))
    return sorted(words)


@generator(['bytes'])
def corpus(path, seed, bytes):
    rng = random.Random(seed)
    vocab = _vocabulary(rng, 6000)
    rng.shuffle(vocab)
    # Zipf-like word frequencies, as in natural text
    cum, acc = [], 0.0
    for i in range(len(vocab)):
        acc += 1.0 / (i + 1)
        cum.append(acc)
    hosts = [f'10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}'
             for _ in range(300)]
    paths = ['/' + '/'.join(rng.choices(vocab[:400], k=rng.randint(1, 4))) for _ in range(800)]
    statuses = ('200', '200', '200', '304', '404', '500')
    size, t = 0, 1_700_000_000
    with open(path, 'wb') as f:
        while size < bytes:
            # a batch of words, lengths and choices at once: per-call overhead dominates
            words = rng.choices(vocab, cum_weights=cum, k=60000)
            kinds = [rng.random() for _ in range(4000)]
            lens = rng.choices(range(6, 19), k=4000)
            out, w = [], 0
            for kind, n in zip(kinds, lens):
                if kind < 0.55:
                    out.append(' '.join(words[w:w + n]).capitalize() + '.')
                    w += n
                elif kind < 0.93:
                    t += rng.randint(0, 3)
                    out.append(f'{t} {rng.choice(hosts)} GET {rng.choice(paths)} '
                               f'status={rng.choice(statuses)} bytes={rng.getrandbits(16)} '
                               f'ms={rng.getrandbits(11)}')
                else:
                    out.append(rng.randbytes(16 + rng.getrandbits(7)).hex())
            b = ('\n'.join(out) + '\n').encode()
            f.write(b)
            size += len(b)
    with open(path, 'r+b') as f:
        f.truncate(bytes)


@generator(['rows'])
def sql(path, seed, rows):
    rng = random.Random(seed)
    a, c = rng.randrange(1, 1 << 20) * 2 + 1, rng.randrange(1, 1 << 20)
    nparts = max(10, rows // 50)
    text = f"""-- generated: seed {seed}, {rows} rows
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE part(id INTEGER PRIMARY KEY, name TEXT, weight INTEGER, class INTEGER);
CREATE TABLE item(id INTEGER PRIMARY KEY, part INTEGER, qty INTEGER, price INTEGER, tag TEXT);
WITH RECURSIVE s(i, x) AS (SELECT 1, {c} UNION ALL
  SELECT i + 1, (x * {a} + {c}) % 4294967296 FROM s WHERE i < {nparts})
INSERT INTO part SELECT i, 'p' || (x % 100000), x % 1000, x % 17 FROM s;
WITH RECURSIVE s(i, x) AS (SELECT 1, {a} UNION ALL
  SELECT i + 1, (x * {a} + {c}) % 4294967296 FROM s WHERE i < {rows})
INSERT INTO item SELECT i, 1 + x % {nparts}, 1 + (x / 7) % 50, 100 + (x / 13) % 9900,
  char(97 + x % 26, 97 + (x / 26) % 26, 97 + (x / 676) % 26) FROM s;
CREATE INDEX item_part ON item(part);
CREATE INDEX item_tag ON item(tag);
SELECT count(*), sum(qty), sum(price) FROM item;
SELECT p.class, count(*), sum(i.qty * i.price) % 1000000007 FROM item i JOIN part p ON p.id = i.part
  GROUP BY p.class ORDER BY p.class;
UPDATE item SET price = price * 2 WHERE tag < 'f';
DELETE FROM item WHERE qty = 13;
SELECT tag, count(*), max(price) FROM item GROUP BY tag ORDER BY count(*) DESC, tag LIMIT 20;
SELECT p.name, sum(i.qty) AS q FROM part p JOIN item i ON i.part = p.id
  GROUP BY p.id ORDER BY q DESC, p.id LIMIT 20;
SELECT count(*) FROM item i WHERE EXISTS (SELECT 1 FROM part p WHERE p.id = i.part AND p.weight > 900);
"""
    with open(path, 'w') as f:
        f.write(text)


@generator(['boardsize', 'stones', 'genmoves'])
def gtp(path, seed, boardsize, stones, genmoves):
    rng = random.Random(seed)
    cols = 'ABCDEFGHJKLMNOPQRST'[:boardsize]
    cmds = [f'boardsize {boardsize}', 'clear_board', 'komi 6.5']
    taken = set()
    for k in range(stones):
        while True:
            p = (rng.randrange(boardsize), rng.randrange(boardsize))
            if p not in taken:
                break
        taken.add(p)
        cmds.append(f'play {"black" if k % 2 == 0 else "white"} {cols[p[0]]}{p[1] + 1}')
    for k in range(genmoves):
        cmds.append(f'genmove {"black" if (stones + k) % 2 == 0 else "white"}')
    cmds += ['showboard', 'quit']
    with open(path, 'w') as f:
        f.write('\n'.join(cmds) + '\n')


@generator(['width', 'height', 'frames'])
def y4m(path, seed, width, height, frames):
    rng = random.Random(seed)
    base = bytes((x * 3 + y * 2) & 0xff for y in range(2 * height) for x in range(2 * width))
    noise = rng.randbytes(width * height)
    cw, ch = width // 2, height // 2
    with open(path, 'wb') as f:
        f.write(f'YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n'.encode())
        bx, by, dx, dy = width // 3, height // 3, 3, 2
        for n in range(frames):
            ox, oy = (n * 2) % width, (n * 3) % height
            y = bytearray()
            for row in range(height):
                start = (row + oy) * 2 * width + ox
                y += base[start:start + width]
            # a textured block bouncing around, and some noise
            bs = max(8, width // 8)
            for row in range(by, min(height, by + bs)):
                off = row * width + bx
                y[off:off + bs] = noise[off:off + bs]
            bx, by = bx + dx, by + dy
            if bx < 0 or bx + bs >= width:
                dx, bx = -dx, max(0, min(bx, width - bs - 1))
            if by < 0 or by + bs >= height:
                dy, by = -dy, max(0, min(by, height - bs - 1))
            u = bytes(((i + n) * 5) & 0xff for i in range(cw)) * ch
            v = bytes(((i - n) * 7) & 0xff for i in range(cw)) * ch
            f.write(b'FRAME\n' + bytes(y) + u + v)


def make(name, path, seed, params):
    """Write generator @name's file; params must hold exactly its parameters."""
    fn, need = GENERATORS[name]
    fn(path, seed, **{k: params[k] for k in need})
