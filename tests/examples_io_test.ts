import assert from "node:assert/strict";
import { run } from "../mod.ts";
import { main as database, transfers } from "../examples/database.ts";
import { main as fileIo } from "../examples/file_io.ts";
import { main as subprocess } from "../examples/subprocess.ts";
import { EXAMPLES } from "../examples/main.ts";
import { withTempDir } from "./_tmp.ts";

Deno.test("examples/file_io counts every sample file with at most 4 open, and writes the report", async () => {
  await withTempDir(async (root) => {
    const { stats, report, maxOpen } = await run(() =>
      fileIo({ root, verbose: false })
    );
    assert.equal(stats.length, 8);
    stats.forEach((s, i) => {
      assert.equal(s.name, `sample-${i}.txt`);
      assert.equal(s.lines, 500 * (i + 1));
      assert.match(s.checksum, /^[0-9a-f]{8}$/);
    });
    assert.ok(maxOpen >= 1 && maxOpen <= 4);
    assert.match(report, /^8 files, \d+ words, at most [1-4] open at once$/m);
    // The sample directory is gone.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(root)), []);
  });
});

Deno.test("examples/database keeps the total through retried transactions and bounds concurrency", async () => {
  await withTempDir(async (dir) => {
    const report = await run(() =>
      database({ dir, verbose: false, concurrency: 4 })
    );
    const total = Object.values(report.balances).reduce((a, b) => a + b, 0);
    assert.equal(total, 500);
    assert.equal(report.committed + report.refused, transfers(20).length);
    assert.ok(report.maxConcurrent <= 4);
    assert.deepEqual(Object.keys(report.queried).sort(), [
      "alice",
      "bob",
      "carol",
      "dave",
      "erin",
    ]);
    assert.ok(Object.values(report.queried).every((v) => v === 100));
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
});

Deno.test("examples/subprocess streams every command's output and kills the stuck one", async () => {
  const lines: string[] = [];
  const outcomes = await run(() => subprocess((line) => lines.push(line)));
  assert.deepEqual(outcomes, {
    fast: 0,
    slow: 0,
    fails: 3,
    stuck: "timed out",
  });
  for (
    const expected of [
      "[fast] tick 3",
      "[slow] tock 2",
      "[fails] about to fail",
    ]
  ) {
    assert.ok(lines.includes(expected), expected);
  }
  assert.ok(lines.includes("[stuck] forever 1"));
});

Deno.test("examples/main lists the I/O examples with their narrow flags", () => {
  const flags = Object.fromEntries(EXAMPLES.map((e) => [e.name, e.flags]));
  assert.deepEqual(flags.file_io, [
    "--allow-read=examples/data",
    "--allow-write=examples/data",
  ]);
  assert.deepEqual(flags.database, [
    "--unstable-kv",
    "--allow-read=examples/data",
    "--allow-write=examples/data",
  ]);
  assert.deepEqual(flags.subprocess, ["--allow-run=deno"]);
});
