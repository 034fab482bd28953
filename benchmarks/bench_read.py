"""Benchmark: bcsc_flow.read_fcs against the numpy floor, flowio and fcsparser.

Writes 12-channel files (float32 big- and little-endian, 16-bit integers) of each size to
a temporary folder, then times, each reader in its own process (median of --repeats):

* floor      ``np.fromfile`` of the DATA segment in the file's dtype, byte-swapped to native
* bcsc_flow  ``read_fcs(path).events`` (scale values; float32 kept, integers -> float64)
* flowio     ``FlowData(path).as_array(preprocess=False)`` (its own python, --flowio-python)
* fcsparser  ``parse(path)[1].to_numpy()`` (its own python, --fcsparser-python)

and the peak memory of read_fcs (tracemalloc, numpy buffers included) against the size of
the DATA segment. Run: ``python benchmarks/bench_read.py --sizes 1e5,1e6,1e7``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHANNELS = 12
KINDS = {  # name: ($DATATYPE, $BYTEORD, numpy dtype in the file, $PnB)
    "float32 BE": ("F", "4,3,2,1", ">f4", 32),
    "float32 LE": ("F", "1,2,3,4", "<f4", 32),
    "int16 BE": ("I", "4,3,2,1", ">u2", 16),
}


def write_file(path: Path, events: int, kind: str) -> tuple[int, int]:
    """Write a plain FCS 3.1 file (own few lines, no library code); return DATA offset and size."""
    import numpy as np

    datatype, byteord, dtype, bits = KINDS[kind]
    rng = np.random.default_rng(0)
    pairs = [("$BYTEORD", byteord), ("$DATATYPE", datatype), ("$MODE", "L"), ("$NEXTDATA", "0")]
    pairs += [("$PAR", str(CHANNELS)), ("$TOT", str(events))]
    for n in range(1, CHANNELS + 1):
        pairs += [(f"$P{n}N", f"CH{n}"), (f"$P{n}B", str(bits)), (f"$P{n}E", "0,0")]
        pairs += [(f"$P{n}R", "65536" if datatype == "I" else "262144")]
    nbytes = events * CHANNELS * np.dtype(dtype).itemsize
    begin = 0
    for _ in range(5):  # offsets are fixed width: one pass settles them
        text = "/" + "".join(
            f"{k}/{v}/"
            for k, v in [
                ("$BEGINDATA", f"{begin:020d}"),
                ("$ENDDATA", f"{begin + nbytes - 1:020d}"),
                *pairs,
            ]
        )
        begin = 256 + len(text)
    end = begin + nbytes - 1
    head = (0, 0) if end > 99_999_999 else (begin, end)
    header = "FCS3.1    " + "".join(
        str(x).rjust(8) for x in (256, 256 + len(text) - 1, *head, 0, 0)
    )
    with open(path, "wb") as out:
        out.write(header.ljust(256).encode() + text.encode())
        chunk = 1_000_000
        for start in range(0, events, chunk):
            rows = min(chunk, events - start)
            if datatype == "F":
                block = (rng.random((rows, CHANNELS), dtype=np.float32) * 262144).astype(dtype)
            else:
                block = rng.integers(0, 65536, size=(rows, CHANNELS), dtype=np.uint16).astype(dtype)
            out.write(block.tobytes())
        out.write(b"00000000")
    return begin, nbytes


WORKER = r"""
import json, statistics, sys, time, tracemalloc
reader, path, dtype, offset, count, repeats = sys.argv[1:7]
offset, count, repeats = int(offset), int(count), int(repeats)
import numpy as np

def run():
    if reader == "floor":
        a = np.fromfile(path, dtype=dtype, count=count, offset=offset)
        if not a.dtype.isnative:
            a.byteswap(inplace=True)
            a = a.view(a.dtype.newbyteorder("="))
        return a
    if reader == "bcsc_flow":
        from bcsc_flow.io.fcs import read_fcs
        return np.asarray(read_fcs(path).events)
    if reader == "flowio":
        import flowio
        return flowio.FlowData(path).as_array(preprocess=False)
    if reader == "fcsparser":
        import fcsparser
        return fcsparser.parse(path, reformat_meta=False)[1].to_numpy()
    raise SystemExit("unknown reader " + reader)

run()  # warm-up: imports and page cache
times = []
for _ in range(repeats):
    t = time.perf_counter()
    a = run()
    times.append(time.perf_counter() - t)
    del a
peak = None
if reader in ("bcsc_flow", "floor"):
    tracemalloc.start()
    a = run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps({"median": statistics.median(times), "peak": peak}))
"""


def measure(
    python: str,
    reader: str,
    path: Path,
    dtype: str,
    offset: int,
    count: int,
    repeats: int,
    timeout: float,
) -> dict | str:
    env = dict(os.environ)
    env.setdefault("PYTHONWARNINGS", "ignore")
    try:
        done = subprocess.run(
            [python, "-c", WORKER, reader, str(path), dtype, str(offset), str(count), str(repeats)],
            capture_output=True, text=True, timeout=timeout, env=env, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"timeout {timeout:.0f}s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return "fails: " + last[:60]
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="event counts, comma separated")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--flowio-python", default=os.environ.get("BCSC_ORACLE_PYTHON", "/tmp/oracle/bin/python")
    )
    parser.add_argument("--fcsparser-python", default="/tmp/oracle-fcsparser/bin/python")
    parser.add_argument(
        "--oracle-max", type=float, default=1e7, help="largest size given to flowio/fcsparser"
    )
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    sizes = [int(float(x)) for x in args.sizes.split(",") if x]
    readers = [("floor", sys.executable), ("bcsc_flow", sys.executable)]
    for name, python in (("flowio", args.flowio_python), ("fcsparser", args.fcsparser_python)):
        if Path(python).exists():
            readers.append((name, python))
        else:
            print(f"note: {name} skipped ({python} not found)")
    header = f"| {'file':<22} | {'DATA MB':>8} | " + " | ".join(f"{r:>11}" for r, _ in readers)
    header += (
        " | bcsc/floor | "
        + " | ".join(f"{r}/bcsc" for r, _ in readers[2:])
        + (" | " if readers[2:] else "")
        + "peak/DATA |"
    )
    print(header)
    print("|" + "|".join("---" for _ in header.split("|")[1:-1]) + "|")
    with tempfile.TemporaryDirectory(prefix="bench_read_") as folder:
        for n in sizes:
            for kind in KINDS:
                path = Path(folder) / f"{kind.replace(' ', '_')}_{n}.fcs"
                offset, nbytes = write_file(path, n, kind)
                dtype = KINDS[kind][2]
                results = {}
                for reader, python in readers:
                    if reader in ("flowio", "fcsparser") and n > args.oracle_max:
                        results[reader] = "not run"
                        continue
                    results[reader] = measure(
                        python,
                        reader,
                        path,
                        dtype,
                        offset,
                        n * CHANNELS,
                        args.repeats,
                        args.timeout,
                    )
                cells = []
                for reader, _ in readers:
                    r = results[reader]
                    cells.append(
                        f"{r['median'] * 1000:9.1f}ms" if isinstance(r, dict) else f"{r:>11.11}"
                    )

                def ratio(a: str, b: str, results: dict = results) -> str:
                    ra, rb = results.get(a), results.get(b)
                    if isinstance(ra, dict) and isinstance(rb, dict):
                        return f"{ra['median'] / rb['median']:.2f}x"
                    return "-"

                line = f"| {kind + f' {n:.0e}':<22} | {nbytes / 1e6:8.1f} | " + " | ".join(cells)
                line += f" | {ratio('bcsc_flow', 'floor'):>10} | "
                line += "".join(f"{ratio(r, 'bcsc_flow'):>{len(r) + 5}} | " for r, _ in readers[2:])
                ours = results["bcsc_flow"]
                peak = (
                    f"{ours['peak'] / nbytes:.2f}x"
                    if isinstance(ours, dict) and ours["peak"]
                    else "-"
                )
                print(line + f"{peak:>9} |", flush=True)
                path.unlink()
    print(f"\nmedian of {args.repeats} warm reads per cell, each reader in its own process; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
