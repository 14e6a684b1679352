"""The core benchmarks on CPython asyncio and, when installed, uvloop.

Same workloads as bench/_core_workloads.ts:
  spawn  - create 200,000 tasks, then await each
  switch - one task awaiting asyncio.sleep(0) 1,000,000 times
  timers - 200,000 call_later with random delays up to 100 ms, real clock
Prints one JSON line per (runtime, workload) with operations per second,
the best of --repeat runs.
"""
import asyncio
import random
import time

from _peers import main

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


if __name__ == "__main__":
    main(WORKLOADS)
