#!/usr/bin/python3
"""The Python drop-in against Debian's python3-smmap 5.0 and the interpreter's floor.

    /usr/bin/python3 bench/python_vs_upstream.py [--ours DIR] [--json] [--quick]

DIR (or $SMMAP_PYTHONPATH) holds our installed package (pip install --target
DIR .); Debian's smmap 5.0 comes from /usr/lib/python3/dist-packages. Both are
imported as `smmap`, so each implementation runs in a worker process of its
own, and the parent interleaves the repetitions among the workers and prints
medians. Micro-operations, at random offsets of a page-cached 1 GiB file of
varying bytes (every page touched once before timing), in ns per operation
including the loop:

  cursor-slice  c.use_region(o).buffer()[:64]
  buf-slice     buf[o:o + 64]       (buf a SlidingWindowMapBuffer on the file)
  buf-byte      buf[o]

The floor is the same access on a plain memoryview of one mmap of the whole
file (mv[o:o + 64], mv[o]). gitdb: Debian's gitdb reading every object of a
repository made here with git (a few hundred commits of varied files, then
`git gc`) through GitDB(objects).stream(sha).read(), on each smmap; and
gitdb-info, GitDB(objects).info(sha) of every object (type and size only).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

UPSTREAM = "/usr/lib/python3/dist-packages"
OPS = ["cursor-slice", "buf-slice", "buf-byte"]
IMPLS = ["ours", "upstream", "floor"]
MiB = 1024 * 1024

# ------------------------------------------------------------------ worker


def worker(impl, path, n, seed, objects):
    """Serve one implementation: read op names on stdin, answer JSON lines."""
    import gc
    import mmap
    from time import perf_counter_ns

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    size = os.path.getsize(path)
    rnd = random.Random(seed)
    offs = [rnd.randrange(size - 64) for _ in range(n)]
    info = {"python": sys.version.split()[0]}
    if impl == "floor":
        f = open(path, "rb")
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        mv = memoryview(mm)
        for i in range(0, size, mmap.PAGESIZE):  # fault every page in
            mv[i]
        c = buf = None
    else:
        import smmap
        info.update(file=smmap.__file__, version=getattr(smmap, "__version__", "?"))
        m = smmap.SlidingWindowMapManager()
        c = m.make_cursor(path)
        buf = smmap.SlidingWindowMapBuffer(m.make_cursor(path))
        for i in range(0, size, mmap.PAGESIZE):
            buf[i]
        c.use_region(0)
        mv = None
    reply(info)

    def run_cursor_slice():
        t = perf_counter_ns()
        for o in offs:
            c.use_region(o).buffer()[:64]
        return perf_counter_ns() - t

    def run_buf_slice():
        t = perf_counter_ns()
        for o in offs:
            buf[o:o + 64]
        return perf_counter_ns() - t

    def run_buf_byte():
        t = perf_counter_ns()
        for o in offs:
            buf[o]
        return perf_counter_ns() - t

    def run_floor_slice():
        t = perf_counter_ns()
        for o in offs:
            mv[o:o + 64]
        return perf_counter_ns() - t

    def run_floor_byte():
        t = perf_counter_ns()
        for o in offs:
            mv[o]
        return perf_counter_ns() - t

    def run_loop():
        t = perf_counter_ns()
        for o in offs:
            pass
        return perf_counter_ns() - t

    if impl == "floor":
        runs = {"cursor-slice": run_floor_slice, "buf-slice": run_floor_slice,
                "buf-byte": run_floor_byte, "loop": run_loop}
    else:
        runs = {"cursor-slice": run_cursor_slice, "buf-slice": run_buf_slice,
                "buf-byte": run_buf_byte, "loop": run_loop}

    for line in sys.stdin:
        op = line.strip()
        if not op:
            continue
        if op == "gitdb":
            reply(gitdb_pass(objects))
        elif op == "gitdb-info":
            reply(gitdb_info_pass(objects))
        else:
            gc.collect()
            reply({"ns": runs[op]() / n})


def gitdb_pass(objects):
    """Read every object of the repository through gitdb; seconds, count, bytes."""
    from binascii import crc32
    from gitdb import GitDB
    t = time.perf_counter()
    db = GitDB(objects)
    count = total = crc = 0
    for sha in db.sha_iter():
        data = db.stream(sha).read()
        count += 1
        total += len(data)
        crc = crc32(data, crc)
    s = time.perf_counter() - t
    return {"s": s, "objects": count, "bytes": total, "crc": crc}

def gitdb_info_pass(objects):
    """Type and size of every object (index lookup, object header, the start
    of a delta): the part of an object read that goes through smmap."""
    from gitdb import GitDB
    t = time.perf_counter()
    db = GitDB(objects)
    count = total = 0
    for sha in db.sha_iter():
        total += db.info(sha).size
        count += 1
    s = time.perf_counter() - t
    return {"s": s, "objects": count, "bytes": total, "crc": 0}

# ------------------------------------------------------------------ data


def make_file(path, size, seed):
    """size bytes that vary from offset to offset (a seeded random stream)."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(rnd.randbytes(n))
            left -= n
    with open(path, "rb") as f:  # into the page cache
        while f.read(16 * MiB):
            pass


WORDS = ("the of and to in is that for it as with was on be by this are or from at "
         "def return self if else import class value index offset window cursor map "
         "buffer region file size data read write open close manager").split()


def make_repo(repo, commits, seed):
    """A git repository of `commits` commits of varied files (text edited a
    little each time, so the pack has delta chains, in a few directories;
    now and then an incompressible blob), packed by `git gc`."""
    rnd = random.Random(seed)

    def text(lines):
        return ["%s %d" % (" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 14))),
                           rnd.getrandbits(rnd.choice((8, 16, 32))))
                for _ in range(lines)]

    subprocess.run(["git", "init", "-q", repo], check=True)
    files = {}
    for i in range(60):
        files["%s/f%02d.txt" % (rnd.choice(("src", "src/core", "docs", "tests", ".")), i)] = \
            text(rnd.choice((5, 40, 200, 1000)))
    stream = []
    blobs = 0
    for n in range(commits):
        changed = set()
        for _ in range(rnd.randint(1, 6)):
            name = rnd.choice(sorted(files))
            lines = files[name]
            for _ in range(rnd.randint(1, 12)):
                at = rnd.randint(0, len(lines))
                if lines and rnd.random() < 0.3:
                    del lines[min(at, len(lines) - 1)]
                else:
                    lines[at:at] = text(rnd.randint(1, 5))
            changed.add(name)
        if n == 0:
            changed = set(files)
        ops = []
        for name in sorted(changed):
            data = ("\n".join(files[name]) + "\n").encode()
            ops.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data))
        if n % 25 == 7:
            data = rnd.randbytes(rnd.randint(10000, 300000))
            ops.append(b"M 100644 inline bin/blob%d.bin\ndata %d\n%s\n"
                       % (blobs, len(data), data))
            blobs += 1
        msg = b"commit %d" % n
        stream.append(b"commit refs/heads/main\n"
                      b"committer t <t@example.com> %d +0000\n" % (1700000000 + n * 60) +
                      b"data %d\n%s\n" % (len(msg), msg) + b"".join(ops) + b"\n")
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input=b"".join(stream),
                   check=True)
    subprocess.run(["git", "-C", repo, "gc", "-q"], check=True)
    objects = os.path.join(repo, ".git", "objects")
    count = subprocess.run(["git", "-C", repo, "count-objects", "-v"], check=True,
                           capture_output=True, text=True).stdout
    return objects, dict(line.split(": ") for line in count.splitlines())

# ------------------------------------------------------------------ parent


class Worker:
    def __init__(self, impl, ours, path, n, seed, objects):
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if impl == "ours":
            env["PYTHONPATH"] = ours  # before dist-packages: our smmap wins
        self.impl = impl
        self.p = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", impl, "--file", path,
             "-n", str(n), "--seed", str(seed), "--objects", objects or ""],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd="/")
        self.info = self.read()
        if impl == "ours" and not self.info["file"].startswith(os.path.abspath(ours) + os.sep):
            sys.exit("ours: imported %s, not the package in %s" % (self.info["file"], ours))
        if impl == "upstream" and not self.info["file"].startswith(UPSTREAM + os.sep):
            sys.exit("upstream: imported %s, not Debian's python3-smmap" % self.info["file"])

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            sys.exit("worker %s died" % self.impl)
        return json.loads(line)

    def ask(self, op):
        self.p.stdin.write(op + "\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default=os.environ.get("SMMAP_PYTHONPATH"),
                    help="directory holding our installed smmap package "
                         "(default $SMMAP_PYTHONPATH)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--quick", action="store_true", help="fewer iterations and repetitions")
    ap.add_argument("--reps", type=int, help="interleaved repetitions (default 15, quick 5)")
    ap.add_argument("-n", type=int, help="operations per timed run (default 200000)")
    ap.add_argument("--size", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--commits", type=int, default=300, help="commits of the gitdb repository")
    ap.add_argument("--no-gitdb", action="store_true", help="skip the gitdb measurement")
    ap.add_argument("--dir", help="where to make the data (default: a temporary directory)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--objects", help=argparse.SUPPRESS)
    a = ap.parse_args()
    n = a.n or (50000 if a.quick else 200000)
    if a.worker:
        return worker(a.worker, a.file, n, a.seed, a.objects)
    if not a.ours or not os.path.isdir(os.path.join(a.ours, "smmap")):
        ap.error("give --ours DIR (or SMMAP_PYTHONPATH) holding our installed smmap package")
    reps = a.reps or (5 if a.quick else 15)
    gitdb = not a.no_gitdb
    if gitdb and shutil.which("git") is None:
        print("git not found: skipping gitdb", file=sys.stderr)
        gitdb = False

    tmp = tempfile.mkdtemp(prefix="smmap-pybench-", dir=a.dir)
    try:
        path = os.path.join(tmp, "data.bin")
        make_file(path, a.size * MiB, a.seed)
        objects = None
        if gitdb:
            objects, count = make_repo(os.path.join(tmp, "repo"), a.commits, a.seed)
            print("gitdb repository: %d commits, %s objects in %s pack(s), %s KiB"
                  % (a.commits, count.get("in-pack"), count.get("packs"),
                     count.get("size-pack")), file=sys.stderr)
        workers = {impl: Worker(impl, a.ours, path, n, a.seed, objects) for impl in IMPLS}
        res = {(impl, op): [] for impl in IMPLS for op in OPS + ["loop"]}
        git = {(case, impl): [] for case in ("gitdb", "gitdb-info")
               for impl in ("ours", "upstream")}
        for rep in range(reps):
            for op in OPS + ["loop"]:
                order = IMPLS[rep % 3:] + IMPLS[:rep % 3]  # rotate who goes first
                for impl in order:
                    res[impl, op].append(workers[impl].ask(op)["ns"])
            if gitdb:
                order = ["ours", "upstream"] if rep % 2 else ["upstream", "ours"]
                for case in ("gitdb", "gitdb-info"):
                    for impl in order:
                        git[case, impl].append(workers[impl].ask(case))
        for w in workers.values():
            w.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in res.items()}
    if a.json:
        for (impl, op), v in sorted(med.items()):
            print(json.dumps({"case": op, "impl": impl, "value": round(v, 1), "unit": "ns/op",
                              "min": round(min(res[impl, op]), 1),
                              "max": round(max(res[impl, op]), 1)}))
    else:
        print("%-13s %9s %9s %9s %11s %13s" % ("ns/op", "ours", "smmap5", "floor",
                                               "ours/floor", "smmap5/ours"))
        for op in OPS + ["loop"]:
            o, u, f = med["ours", op], med["upstream", op], med["floor", op]
            print("%-13s %9.1f %9.1f %9.1f %10.2fx %12.2fx" % (op, o, u, f, o / f, u / o))
    for case in ("gitdb", "gitdb-info") if gitdb else ():
        g = {impl: statistics.median(r["s"] for r in git[case, impl])
             for impl in ("ours", "upstream")}
        first = git[case, "ours"][0]
        if not all((r["objects"], r["bytes"], r["crc"]) ==
                   (first["objects"], first["bytes"], first["crc"])
                   for impl in ("ours", "upstream") for r in git[case, impl]):
            sys.exit("%s: the two smmaps read different objects" % case)
        if a.json:
            for impl, s in g.items():
                print(json.dumps({"case": case, "impl": impl, "value": round(s * 1000, 1),
                                  "unit": "ms", "objects": first["objects"],
                                  "bytes": first["bytes"]}))
        else:
            print("%-10s %d objects%s: ours %.1f ms, smmap5 %.1f ms, smmap5/ours %.2fx"
                  % (case + ":", first["objects"],
                     ", %.1f MiB read" % (first["bytes"] / MiB) if case == "gitdb" else "",
                     g["ours"] * 1000, g["upstream"] * 1000, g["upstream"] / g["ours"]))
    if not a.json:
        print("medians of %d interleaved repetitions, %d operations each; load %s"
              % (reps, n, " ".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    sys.exit(main())
