/**
 * Table-driven checks of argument validation: each public entry point is
 * fed bad values and must refuse each one at the call, with the right
 * error class and a message in the project's form ("Cannot x: ...") that
 * names the argument — not an engine message such as "Cannot convert a
 * Symbol value to a number", and not a failure later on.
 */
import assert from "node:assert/strict";

/** A resolved promise: what `fn()` gives where `fn` was wanted. */
export const PROMISE: Promise<number> = Promise.resolve(1);

/** Every kind of bad value the tables draw from. */
export const BAD_VALUES: readonly unknown[] = [
  undefined,
  null,
  "5",
  true,
  Symbol("bad"),
  5n,
  NaN,
  -1,
  {},
  PROMISE,
];

/** What callers pass where a function is wanted, by mistake. */
export const NOT_FUNCTIONS: readonly unknown[] = [
  undefined,
  null,
  "5",
  true,
  Symbol("s"),
  5n,
  {},
  PROMISE,
];

/** The values of a table, by the error each must raise. */
export interface Refusals {
  TypeError?: readonly unknown[];
  RangeError?: readonly unknown[];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Checks that `call(value)` throws (or returns a promise that rejects
 * with) a TypeError or RangeError as `refusals` says, whose message is
 * "Cannot …: …" and names `name`.
 *
 * @param what The entry point, for failure messages.
 * @param name The argument's name as the message must say it.
 * @param call Calls the entry point with the value.
 * @param refusals The bad values by error class.
 */
export async function assertRefuses(
  what: string,
  name: string,
  // deno-lint-ignore no-explicit-any
  call: (value: any) => unknown,
  refusals: Refusals,
): Promise<void> {
  const naming = new RegExp(
    `^Cannot [^:]+: .*(?<![\\w.])${escape(name)}(?![\\w[])`,
  );
  for (const errorClass of [TypeError, RangeError]) {
    for (const value of refusals[errorClass.name as keyof Refusals] ?? []) {
      const label = `${what} with ${Deno.inspect(value)}`;
      let error: unknown;
      let returned: unknown;
      try {
        returned = call(value);
      } catch (e) {
        error = e;
      }
      if (error === undefined) {
        assert.ok(
          returned instanceof Promise,
          `${label}: accepted, returned ${Deno.inspect(returned)}`,
        );
        error = await returned.then(
          () => assert.fail(`${label}: accepted`),
          (e) => e,
        );
      }
      assert.ok(
        error instanceof errorClass && error.constructor === errorClass,
        `${label}: expected a ${errorClass.name}, got ${Deno.inspect(error)}`,
      );
      assert.match(error.message, naming, `${label}: does not name ${name}`);
    }
  }
}
