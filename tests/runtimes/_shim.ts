/**
 * Loaded before the test files on Node and Bun (never on Deno): gives them
 * the little of `Deno` they use, so the same files run on all three.
 *
 * - `Deno.test` registers with `node:test`, which Node's runner and
 *   `bun test` both run. A test listed in `deno_only.ts` is registered as
 *   skipped with its reason; `ignore: true` skips too. Deno's sanitizers
 *   and `permissions` have no equivalent there and are not emulated.
 * - `Deno.env.get` reads `process.env`; `Deno.inspect` is `util.inspect`.
 * - `gc()` is `Bun.gc(true)` on Bun, where `--expose-gc` does not exist
 *   (Node gets the flag).
 *
 * Nothing else of `Deno` is defined, so an adapter called here meets the
 * same missing `Deno.connect` (and friends) as a user's program on Node.
 */
import { test } from "node:test";
import process from "node:process";
import { inspect } from "node:util";
import { DENO_ONLY_TESTS } from "./deno_only.ts";

type TestFn = () => void | Promise<void>;

interface TestDefinition {
  name: string;
  fn: TestFn;
  ignore?: boolean;
  only?: boolean;
}

function register(
  nameOrDefinition: string | TestDefinition,
  optionsOrFn?: Omit<TestDefinition, "name" | "fn"> | TestFn,
  maybeFn?: TestFn,
): void {
  const definition: TestDefinition = typeof nameOrDefinition === "string"
    ? typeof optionsOrFn === "function"
      ? { name: nameOrDefinition, fn: optionsOrFn }
      : { ...optionsOrFn, name: nameOrDefinition, fn: maybeFn! }
    : nameOrDefinition;
  const { name, fn } = definition;
  const entry = Object.hasOwn(DENO_ONLY_TESTS, name)
    ? DENO_ONLY_TESTS[name]
    : undefined;
  const onBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const listed = entry?.bunOnly && !onBun ? undefined : entry;
  const skip = listed !== undefined
    ? `${listed.bunOnly ? "not on Bun" : "needs Deno"}: ${listed.reason}`
    : definition.ignore
    ? "ignored"
    : false;
  // No test context is passed: the suite's tests take none.
  test(name, { skip, only: definition.only }, () => fn());
}

const global = globalThis as Record<string, unknown>;
if (global.Deno === undefined) {
  global.Deno = {
    test: register,
    env: { get: (key: string) => process.env[key] },
    inspect,
  };
}
const bun = global.Bun as { gc(force: boolean): void } | undefined;
if (typeof global.gc !== "function" && bun !== undefined) {
  global.gc = () => bun.gc(true);
}
