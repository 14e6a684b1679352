"""The sync benchmarks on CPython asyncio and, when installed, uvloop.

Same workloads as bench/sync_bench.ts:
  pingpong - two tasks pass a token through two Queue(1), 200,000 round trips
  lock     - 100 tasks each take one Lock 2,000 times, sleep(0) inside
Prints one JSON line per (runtime, workload) with operations per second
(round trips, acquisitions), the best of --repeat runs.
"""
import asyncio
import argparse
import json
import sys
import time

PINGPONG_N = 200_000
LOCK_TASKS = 100
LOCK_ROUNDS = 2_000


async def pingpong():
    ping = asyncio.Queue(1)
    pong = asyncio.Queue(1)

    async def echo():
        for _ in range(PINGPONG_N):
            await pong.put(await ping.get())

    start = time.perf_counter()
    task = asyncio.create_task(echo())
    for i in range(PINGPONG_N):
        await ping.put(i)
        await pong.get()
    await task
    return PINGPONG_N / (time.perf_counter() - start)


async def lock():
    the_lock = asyncio.Lock()

    async def worker():
        for _ in range(LOCK_ROUNDS):
            async with the_lock:
                await asyncio.sleep(0)

    start = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(LOCK_TASKS)]
    for task in tasks:
        await task
    return LOCK_TASKS * LOCK_ROUNDS / (time.perf_counter() - start)


WORKLOADS = {"pingpong": pingpong, "lock": lock}


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
