"""The core benchmarks on CPython asyncio and, when installed, uvloop.

Same workloads as bench/_core_workloads.ts:
  spawn  - create 200,000 tasks, then await each
  switch - one task awaiting asyncio.sleep(0) 1,000,000 times
  timers - 200,000 call_later with random delays up to 100 ms, real clock
Prints one JSON line per (runtime, workload) with operations per second,
the best of --repeat runs.
"""
import asyncio
import argparse
import json
import random
import sys
import time

SPAWN_N = 200_000
SWITCH_N = 1_000_000
TIMERS_N = 200_000


async def noop():
    return 1


async def spawn():
    start = time.perf_counter()
    tasks = [asyncio.create_task(noop()) for _ in range(SPAWN_N)]
    for task in tasks:
        await task
    return SPAWN_N / (time.perf_counter() - start)


async def switch():
    start = time.perf_counter()
    for _ in range(SWITCH_N):
        await asyncio.sleep(0)
    return SWITCH_N / (time.perf_counter() - start)


async def timers():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    left = TIMERS_N

    def fire():
        nonlocal left
        left -= 1
        if left == 0:
            done.set_result(None)

    start = time.perf_counter()
    for _ in range(TIMERS_N):
        loop.call_later(random.random() * 0.1, fire)
    await done
    return TIMERS_N / (time.perf_counter() - start)


WORKLOADS = {"spawn": spawn, "switch": switch, "timers": timers}


def measure(runtime, new_loop, names, repeat):
    for name in names:
        best = 0.0
        for _ in range(repeat):
            loop = new_loop()
            try:
                best = max(best, loop.run_until_complete(WORKLOADS[name]()))
            finally:
                loop.close()
        print(json.dumps({"runtime": runtime, "workload": name, "ops_per_s": round(best)}))
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-first", action="store_true",
                        help="run only the first runtime available: asyncio, or uvloop when installed")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        uvloop = None
    if not (args.only_first and uvloop is not None):
        measure(f"asyncio {sys.version.split()[0]}", asyncio.new_event_loop, args.workloads, args.repeat)
        if args.only_first:
            return
    if uvloop is None:
        print(json.dumps({"runtime": "uvloop", "skipped": "import uvloop failed"}))
        return
    measure(f"uvloop {uvloop.__version__}", uvloop.new_event_loop, args.workloads, args.repeat)


if __name__ == "__main__":
    main()
