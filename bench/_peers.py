"""Shared driver of the Python peer scripts: runs named workloads on CPython
asyncio and, when installed, uvloop, printing one JSON line per (runtime,
workload) with operations per second, the best of --repeat runs. Each
workload is a coroutine function returning its own rate."""
import argparse
import asyncio
import json
import sys


def measure(runtime, new_loop, workloads, names, repeat):
    for name in names:
        best = 0.0
        for _ in range(repeat):
            loop = new_loop()
            try:
                best = max(best, loop.run_until_complete(workloads[name]()))
            finally:
                loop.close()
        print(json.dumps({"runtime": runtime, "workload": name, "ops_per_s": round(best)}))
        sys.stdout.flush()


def main(workloads):
    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="*", default=list(workloads))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-first", action="store_true",
                        help="run only the first runtime available: asyncio, or uvloop when installed")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        uvloop = None
    if not (args.only_first and uvloop is not None):
        measure(f"asyncio {sys.version.split()[0]}", asyncio.new_event_loop, workloads,
                args.workloads, args.repeat)
        if args.only_first:
            return
    if uvloop is None:
        print(json.dumps({"runtime": "uvloop", "skipped": "import uvloop failed"}))
        return
    measure(f"uvloop {uvloop.__version__}", uvloop.new_event_loop, workloads,
            args.workloads, args.repeat)
