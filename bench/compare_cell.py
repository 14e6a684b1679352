"""One cell of bench/compare.ts: ONE workload on ONE Python event loop, in a
process of its own, printing one JSON line.

  python3.13 bench/compare_cell.py asyncio WORKLOAD [--quick]
  /usr/bin/python3 bench/compare_cell.py uvloop WORKLOAD [--quick]

The same workloads as bench/_core_workloads.ts, the same sizes, timed over
the same span (inside the coroutine, from the first operation to the last;
loop start and teardown are not counted):

  spawn    - create 200,000 tasks, then await each
  switch   - one task awaiting asyncio.sleep(0) 1,000,000 times
  timers   - 200,000 call_later with random delays up to 100 ms, real clock
  pingpong - two tasks pass a token through two Queue(1), 200,000 round trips
  lock     - 100 tasks each take one Lock 2,000 times, sleep(0) inside
  sleepers - 100,000 tasks each in asyncio.sleep(60)

--quick divides every size by 10. A rate workload runs once at a tenth of
its size to warm up, then once measured, each on a new loop, and prints
{"value": ops/s}. sleepers runs with no warm-up and prints bytes per
sleeping task: "rss", the growth of the resident set (/proc/self/statm)
while they all sleep, each side after gc.collect(); then "heap", the growth
in bytes that Python's allocators hand out (tracemalloc's traced memory,
the counterpart of V8's heap in use) for a second batch, started while the
first still sleeps. The first line of output is {"version": ...}.
"""
import asyncio
import gc
import json
import os
import random
import sys
import time
import tracemalloc

SIZES = {
    "spawn": 200_000,
    "switch": 1_000_000,
    "timers": 200_000,
    "pingpong": 200_000,
    "lock": 2_000,  # rounds per task, 100 tasks
    "sleepers": 100_000,
}
LOCK_TASKS = 100


def rate(ops, start):
    return ops / (time.perf_counter() - start)


async def noop():
    return 1


async def spawn(n):
    start = time.perf_counter()
    tasks = [asyncio.create_task(noop()) for _ in range(n)]
    for task in tasks:
        await task
    return rate(n, start)


async def switch(n):
    start = time.perf_counter()
    for _ in range(n):
        await asyncio.sleep(0)
    return rate(n, start)


async def timers(n):
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    done = loop.create_future()
    left = n

    def fire():
        nonlocal left
        left -= 1
        if left == 0:
            done.set_result(None)

    for _ in range(n):
        loop.call_later(random.random() * 0.1, fire)
    await done
    return rate(n, start)


async def pingpong(n):
    ping = asyncio.Queue(1)
    pong = asyncio.Queue(1)

    async def echo():
        for _ in range(n):
            await pong.put(await ping.get())

    start = time.perf_counter()
    task = asyncio.create_task(echo())
    for i in range(n):
        await ping.put(i)
        await pong.get()
    await task
    return rate(n, start)


async def lock(rounds):
    the_lock = asyncio.Lock()

    async def worker():
        for _ in range(rounds):
            async with the_lock:
                await asyncio.sleep(0)

    start = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(LOCK_TASKS)]
    for task in tasks:
        await task
    return rate(LOCK_TASKS * rounds, start)


PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def heap():
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def sleep_batch(n, used, tasks):
    before = used()
    tasks.extend(asyncio.create_task(asyncio.sleep(60)) for _ in range(n))
    await asyncio.sleep(0)  # every task has started and sleeps
    return (used() - before) / n


async def sleepers(n):
    tasks = []
    rss_per_task = await sleep_batch(n, rss, tasks)
    # The second batch joins the first: tracemalloc counts only what is
    # allocated while it traces, and cancelling the first batch would
    # take seconds that nothing measures.
    tracemalloc.start()
    heap_per_task = await sleep_batch(n, heap, tasks)
    tracemalloc.stop()
    return {"heap": heap_per_task, "rss": rss_per_task}


WORKLOADS = {
    "spawn": spawn,
    "switch": switch,
    "timers": timers,
    "pingpong": pingpong,
    "lock": lock,
}


def main():
    kind, workload = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv[3:]
    if kind == "uvloop":
        import uvloop
        version = f"uvloop {uvloop.__version__} (Python {sys.version.split()[0]})"
        new_loop = uvloop.new_event_loop
    elif kind == "asyncio":
        version = f"asyncio (Python {sys.version.split()[0]})"
        new_loop = asyncio.new_event_loop
    else:
        raise SystemExit(f"Cannot run a cell: unknown runtime: {kind}")
    if workload not in SIZES:
        raise SystemExit(f"Cannot run a cell: unknown workload: {workload}")
    print(json.dumps({"version": version}), flush=True)
    n = SIZES[workload] // (10 if quick else 1)

    def once(coro):
        loop = new_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()

    if workload == "sleepers":
        loop = new_loop()
        result = loop.run_until_complete(sleepers(n))
        print(json.dumps(result), flush=True)
        # 200,000 tasks still sleep: cancelling them and closing the loop
        # would take seconds that nothing measures.
        os._exit(0)
    once(WORKLOADS[workload](max(1, n // 10)))  # warm-up
    result = {"value": once(WORKLOADS[workload](n))}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
