import assert from "node:assert/strict";
import {
  CancelledError,
  createSubprocessExec,
  createSubprocessShell,
  createTask,
  DEVNULL,
  gather,
  PIPE,
  type Process,
  run,
  sleep,
  StreamReader,
  type SubprocessOptions,
} from "../mod.ts";

const decode = (bytes: Uint8Array | null) =>
  bytes === null ? null : new TextDecoder().decode(bytes);

Deno.test("createSubprocessExec() pipes stdout and stderr as StreamReaders", async () => {
  await run(async () => {
    const proc = await createSubprocessExec(
      "sh",
      ["-c", "echo hello; echo world; echo oops >&2"],
      { stdout: PIPE, stderr: PIPE },
    );
    assert.ok(proc.pid > 0);
    assert.equal(proc.stdin, null);
    assert.equal(decode(await proc.stdout!.readLine()), "hello\n");
    const lines: string[] = [];
    for await (const line of proc.stdout!) lines.push(decode(line)!);
    assert.deepEqual(lines, ["world\n"]);
    assert.equal(decode(await proc.stderr!.read()), "oops\n");
    assert.equal(await proc.wait(), 0);
    assert.equal(proc.returncode, 0);
    assert.match(String(proc), /^<Process \d+: sh -c "echo hello/);
  });
});

Deno.test("Process.communicate() moves megabytes both ways without deadlock", async () => {
  await run(async () => {
    const input = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 253);
    const proc = await createSubprocessExec("sh", ["-c", "tee /dev/stderr"], {
      stdin: PIPE,
      stdout: PIPE,
      stderr: PIPE,
    });
    const [out, err] = await proc.communicate(input);
    assert.equal(proc.returncode, 0);
    assert.deepEqual(out, input);
    assert.deepEqual(err, input);
  });
});

Deno.test("Process.communicate() takes text, and ignores a child that does not read its input", async () => {
  await run(async () => {
    const cat = await createSubprocessExec("sh", ["-c", "cat"], {
      stdin: PIPE,
      stdout: PIPE,
    });
    const [out, err] = await cat.communicate("héllo");
    assert.equal(decode(out), "héllo");
    assert.equal(err, null);

    const deaf = await createSubprocessExec("sh", ["-c", "exit 0"], {
      stdin: PIPE,
    });
    assert.deepEqual(
      await deaf.communicate(new Uint8Array(1024 * 1024)),
      [null, null],
    );
    assert.equal(deaf.returncode, 0);

    const closed = await createSubprocessExec("sh", ["-c", "cat"], {
      stdin: PIPE,
      stdout: PIPE,
    });
    const [empty] = await closed.communicate(); // stdin is closed all the same
    assert.equal(empty!.length, 0);
  });
});

Deno.test("Process.returncode is the exit status, or -N for signal N", async () => {
  await run(async () => {
    const three = await createSubprocessShell("exit 3");
    assert.equal(three.returncode, null);
    assert.equal(await three.wait(), 3);

    const selfKilled = await createSubprocessShell("kill -TERM $$");
    assert.equal(await selfKilled.wait(), -15);

    const sleeper = await createSubprocessExec("sh", ["-c", "exec sleep 30"]);
    sleeper.terminate();
    assert.equal(await sleeper.wait(), -15);

    const killed = await createSubprocessExec("sh", ["-c", "exec sleep 30"]);
    killed.kill();
    assert.equal(await killed.wait(), -9);
    killed.kill(); // after exit: nothing happens, as in asyncio

    const interrupted = await createSubprocessExec("sh", [
      "-c",
      "exec sleep 30",
    ]);
    interrupted.sendSignal("SIGINT");
    assert.equal(await interrupted.wait(), -2);
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => interrupted.sendSignal(9 as any),
      /Cannot send signal: expected a signal name such as "SIGTERM", got a number/,
    );
  });
});

Deno.test("Process.wait() resolves once the child exited and its pipes are drained", async () => {
  await run(async () => {
    const proc = await createSubprocessExec(
      "sh",
      ["-c", "head -c 20000 /dev/zero; echo done >&2"],
      { stdout: PIPE, stderr: PIPE },
    );
    assert.equal(await proc.wait(), 0);
    // Everything is buffered by now: reading needs no child.
    assert.equal((await proc.stdout!.read()).length, 20000);
    assert.equal(decode(await proc.stderr!.readLine()), "done\n");
    assert.ok(proc.stdout!.atEof() || (await proc.stdout!.read()).length === 0);
  });
});

Deno.test("Process.wait() cancelled leaves the child running and usable; nothing leaks", async () => {
  await run(async () => {
    const proc = await createSubprocessExec("sh", ["-c", "exec sleep 30"], {
      stdout: PIPE,
    });
    const waiting = createTask(() => proc.wait());
    await sleep(10);
    waiting.cancel();
    await assert.rejects(waiting, CancelledError);
    assert.equal(proc.returncode, null);
    proc.kill();
    assert.equal(await proc.wait(), -9);
  });
});

Deno.test("Process.communicate() cancelled closes stdin; the child can still be killed and waited", async () => {
  await run(async () => {
    const proc = await createSubprocessExec("sh", ["-c", "exec sleep 30"], {
      stdin: PIPE,
      stdout: PIPE,
      stderr: PIPE,
    });
    const talking = createTask(() =>
      proc.communicate(new Uint8Array(1024 * 1024))
    );
    await sleep(20);
    talking.cancel();
    await assert.rejects(talking, CancelledError);
    assert.ok(proc.stdin!.isClosing());
    assert.equal(proc.returncode, null);
    proc.kill();
    assert.equal(await proc.wait(), -9);
  });
});

Deno.test("Process with await using kills a child still running and releases its pipes", async () => {
  let kept: Process | undefined;
  await run(async () => {
    await using proc = await createSubprocessExec(
      "sh",
      ["-c", "exec sleep 30"],
      { stdin: PIPE, stdout: PIPE, stderr: PIPE },
    );
    kept = proc;
  });
  assert.equal(kept!.returncode, -9);
});

Deno.test("createSubprocessExec() runs many children concurrently", async () => {
  await run(async () => {
    const count = 40;
    const outputs = await gather(
      Array.from({ length: count }, (_, i) => async () => {
        const proc = await createSubprocessExec(
          "sh",
          ["-c", `echo child ${i}; echo err ${i} >&2; exit ${i % 5}`],
          { stdout: PIPE, stderr: PIPE },
        );
        const [out, err] = await proc.communicate();
        return [decode(out), decode(err), proc.returncode];
      }),
    );
    outputs.forEach(([out, err, code], i) => {
      assert.equal(out, `child ${i}\n`);
      assert.equal(err, `err ${i}\n`);
      assert.equal(code, i % 5);
    });
  });
});

Deno.test("createSubprocessExec() with DEVNULL gives no streams", async () => {
  await run(async () => {
    const proc = await createSubprocessExec("sh", ["-c", "echo hidden"], {
      stdin: DEVNULL,
      stdout: DEVNULL,
      stderr: DEVNULL,
    });
    assert.equal(proc.stdout, null);
    assert.deepEqual(await proc.communicate(), [null, null]);
    assert.equal(proc.returncode, 0);
  });
});

Deno.test("createSubprocessShell() runs a command line through sh", async () => {
  await run(async () => {
    const proc = await createSubprocessShell("echo $((1 + 2)) 2>&1", {
      stdout: PIPE,
    });
    const [out] = await proc.communicate();
    assert.equal(decode(out), "3\n");
  });
});

Deno.test("createSubprocessExec() and createSubprocessShell() reject bad input clearly", async () => {
  await run(async () => {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      createSubprocessExec(42 as any),
      /Cannot spawn: expected a command name, got a number/,
    );
    await assert.rejects(
      createSubprocessExec(""),
      /Cannot spawn: expected a command name, got an empty string/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      createSubprocessExec("sh", ["-c", 1 as any]),
      /Cannot spawn: expected the arguments as an array of strings or file URLs, got an array with a number/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      createSubprocessExec("sh", [], { stderr: "stdout" as any }),
      /stderr: STDOUT \(merging stderr into stdout\) has no Deno\.Command equivalent/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      createSubprocessExec("sh", [], { stdout: -1 as any }),
      /Cannot spawn: expected stdout to be PIPE, DEVNULL or "inherit", got a number/,
    );
    await assert.rejects(
      createSubprocessShell("  "),
      /Cannot spawn: expected a shell command line, got an empty string/,
    );
    await assert.rejects(
      createSubprocessExec("no-such-program-asyncio"),
      (error) => {
        assert.ok(error instanceof Deno.errors.NotFound);
        assert.match((error as Error).message, /no-such-program-asyncio/);
        return true;
      },
    );
    const proc = await createSubprocessShell("exit 0");
    await assert.rejects(
      proc.communicate("input"),
      /Cannot communicate: input was given, but stdin is not PIPE/,
    );
    await proc.wait();
  });
});

Deno.test("Process: a read of stdout blocked on a silent child is cancelled at once and loses nothing", async () => {
  await run(async () => {
    await using proc = await createSubprocessShell(
      'read line; echo "got $line"',
      { stdin: PIPE, stdout: PIPE },
    );
    const reading = createTask(() => proc.stdout!.readLine());
    await sleep(10);
    reading.cancel();
    await sleep(0);
    assert.ok(reading.done(), "cancelled at once");
    await assert.rejects(reading, CancelledError);
    proc.stdin!.write("ping\n");
    assert.equal(decode(await proc.stdout!.readLine()), "got ping\n");
    assert.equal(await proc.wait(), 0);
  });
});

Deno.test("Process with await using does not wait for a grandchild that holds its pipes", async () => {
  let grandchild = "";
  const kill = () =>
    new Deno.Command("sh", { args: ["-c", `kill ${grandchild}`] }).output();
  try {
    await run(async () => {
      const disposing = createTask(async () => {
        // The shell exits at once; its background `sleep` keeps stdout
        // and stderr open, as a daemon started with `&` does.
        await using proc = await createSubprocessShell(
          "sleep 30 & echo $!",
          { stdout: PIPE, stderr: PIPE },
        );
        grandchild = decode(await proc.stdout!.readLine())!.trim();
      });
      for (let i = 0; i < 100 && !disposing.done(); i++) await sleep(10);
      const disposed = disposing.done();
      if (!disposed) await kill(); // lets it end, to fail fast
      await disposing;
      assert.ok(disposed, "disposed while the grandchild runs");
    });
  } finally {
    if (grandchild !== "") await kill();
  }
});

Deno.test("communicate() is typed by the options: a piped stream's bytes need no `!`", async () => {
  await run(async () => {
    const proc = await createSubprocessExec("sh", ["-c", "printf out"], {
      stdout: PIPE,
    });
    const [out, err] = await proc.communicate();
    const bytes: Uint8Array = out; // compiles: stdout is PIPE
    // @ts-expect-error: stderr is not piped, so it is null
    const never: Uint8Array = err;
    assert.equal(new TextDecoder().decode(bytes), "out");
    assert.equal(never, null);
    const reader: StreamReader = proc.stdout; // no `!` either
    assert.ok(reader instanceof StreamReader);
    // Options whose type does not say: both are possible.
    const options: SubprocessOptions = { stdout: PIPE };
    const loose = await createSubprocessExec("sh", ["-c", "true"], options);
    const [maybe] = await loose.communicate();
    // @ts-expect-error: Uint8Array | null
    const strict: Uint8Array = maybe;
    assert.ok(strict instanceof Uint8Array);
  });
});

Deno.test("createSubprocessExec() takes file URLs among the arguments, as asyncio takes paths", async () => {
  await run(async () => {
    const proc = await createSubprocessExec(
      "sh",
      ["-c", 'printf %s "$1"', "sh", new URL("file:///tmp/a%20b")],
      { stdout: PIPE },
    );
    const [out] = await proc.communicate();
    assert.equal(new TextDecoder().decode(out), "/tmp/a b");
    assert.match(String(proc), /\/tmp\/a b/);
    await assert.rejects(
      createSubprocessExec("sh", [new URL("https://example.com/x")]),
      (error) =>
        error instanceof TypeError &&
        /^Cannot spawn: expected an argument as a string or a file: URL, got https:\/\/example.com\/x/
          .test(error.message),
    );
  });
});
