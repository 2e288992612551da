#!/usr/bin/python3
"""logstats.py - the python3 workload: an interpreter-bound pass over a
text/log corpus (string splitting, dictionaries, integer arithmetic, a
sort and a small dynamic programme per line).  Prints the statistics and a
checksum; the output depends only on the input."""
import sys


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main(path):
    words, status, paths = {}, {}, {}
    lines = check = dist = 0
    last = ''
    with open(path, 'rb') as f:
        for raw in f:
            lines += 1
            line = raw.decode('latin-1').rstrip('\n')
            check = (check * 257 + len(line)) % 2305843009213693951
            fields = line.split(' ')
            if len(fields) == 7 and fields[2] == 'GET':
                kv = dict(x.split('=', 1) for x in fields[4:])
                s = status.setdefault(kv['status'], [0, 0, 0])
                s[0] += 1
                s[1] += int(kv['bytes'])
                s[2] += int(kv['ms'])
                paths[fields[3]] = paths.get(fields[3], 0) + 1
            elif len(fields) > 1:
                for w in fields:
                    w = w.strip('.').lower()
                    words[w] = words.get(w, 0) + 1
                first = fields[0].lower()
                if lines % 16 == 0:
                    dist += edit_distance(first[:10], last[:10])
                last = first
    top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    for w, n in top:
        print(f'{w:16} {n}')
    for k in sorted(status):
        n, b, ms = status[k]
        print(f'status {k}: {n} requests, {b} bytes, mean {ms // max(n, 1)} ms')
    hot = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    for p, n in hot:
        print(f'path {p}: {n}')
    print(f'lines {lines}, distinct words {len(words)}, edit distance {dist}, checksum {check}')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: logstats.py CORPUS')
    main(sys.argv[1])
