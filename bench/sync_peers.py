"""The sync benchmarks on CPython asyncio and, when installed, uvloop.

Same workloads as bench/sync_bench.ts:
  pingpong - two tasks pass a token through two Queue(1), 200,000 round trips
  lock     - 100 tasks each take one Lock 2,000 times, sleep(0) inside
Prints one JSON line per (runtime, workload) with operations per second
(round trips, acquisitions), the best of --repeat runs.
"""
import asyncio
import time

from _peers import main

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


if __name__ == "__main__":
    main(WORKLOADS)
