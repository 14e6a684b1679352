import assert from "node:assert/strict";
import { InvalidStateError, newEventLoop } from "../mod.ts";
import { assertRefuses, PROMISE } from "./_bad_args.ts";

const fixture = (name: string) =>
  new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Spawns a fixture, waits for "ready", sends `signal`, collects the output. */
async function signalled(
  name: string,
  signal: Deno.Signal,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("deno", {
    args: ["run", "--quiet", fixture(name), ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  let stdout = "";
  const reader = child.stdout.getReader();
  while (!stdout.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += decoder.decode(value, { stream: true });
  }
  child.kill(signal);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += decoder.decode(value, { stream: true });
  }
  const { code } = await child.status;
  return { code, stdout, stderr: await stderr };
}

Deno.test("run() turns Ctrl-C into cancellation of main, runs its cleanup, and exits with 130", async () => {
  const { code, stdout, stderr } = await signalled("sigint_main.ts", "SIGINT");
  assert.equal(stdout, "ready\ncancelled: CancelledError\ncleanup ran\n");
  assert.match(stderr, /KeyboardInterrupt/);
  assert.equal(code, 130);
});

Deno.test("run() whose main swallows the Ctrl-C cancellation returns normally", async () => {
  const { code, stdout } = await signalled("sigint_main.ts", "SIGINT", [
    "--swallow",
  ]);
  assert.equal(
    stdout,
    "ready\ncancelled: CancelledError\ncleanup ran\nmain returned\nafter run\n",
  );
  assert.equal(code, 0);
});

Deno.test("EventLoop.addSignalHandler() calls back on the loop when the signal arrives", async () => {
  const { code, stdout } = await signalled("signal_handler.ts", "SIGUSR1");
  assert.equal(stdout, "ready\ngot SIGUSR1\nremoved: true\n");
  assert.equal(code, 0);
});

Deno.test("EventLoop.addSignalHandler() rejects bad input and a closed loop", () => {
  const loop = newEventLoop();
  assert.throws(
    () => loop.addSignalHandler("SIGNOPE" as never, () => {}),
    TypeError,
  );
  assert.throws(
    () => loop.addSignalHandler("SIGKILL" as never, () => {}),
    TypeError,
  );
  assert.throws(() => loop.addSignalHandler("SIGUSR2", 5 as never), TypeError);
  assert.equal(loop.removeSignalHandler("SIGUSR2"), false);
  loop.addSignalHandler("SIGUSR2", () => {});
  loop.close(); // removes the listener, so the test leaks nothing
  assert.throws(
    () => loop.addSignalHandler("SIGUSR2", () => {}),
    InvalidStateError,
  );
});

Deno.test("EventLoop.addSignalHandler() refuses bad arguments at the call, naming them", async () => {
  const loop = newEventLoop();
  try {
    await assertRefuses(
      "addSignalHandler(signal)",
      "signal",
      (v) => loop.addSignalHandler(v, () => {}),
      {
        TypeError: [
          undefined,
          null,
          5,
          Symbol("s"),
          5n,
          {},
          PROMISE,
          "SIGFOO",
          "SIGKILL",
        ],
      },
    );
    await assertRefuses(
      "addSignalHandler(signal, callback)",
      "callback",
      (v) => loop.addSignalHandler("SIGUSR2", v),
      { TypeError: [undefined, null, "5", Symbol("s"), {}, PROMISE] },
    );
    assert.equal(loop.removeSignalHandler("SIGUSR2"), false);
  } finally {
    loop.close();
  }
});
