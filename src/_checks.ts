/**
 * Argument checks, shared by every layer: each turns a bad argument into a
 * TypeError or RangeError that names it, before any arithmetic or property
 * read can fail with an engine message ("Cannot convert a Symbol value to
 * a number"), and `isThenable`, what `await` treats as a promise. The
 * words for values come from `_describe.ts`. `mod.ts` never exports this
 * file.
 */
import { describe } from "./_describe.ts";

/** Whether `value` has a `then` method, as `await` sees it. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/**
 * Checks that `value` is a number for which `valid` holds, refusing
 * Symbols and BigInts before any arithmetic.
 *
 * @param action What was attempted, after "Cannot": "advance virtual clock".
 * @param name The argument's name.
 * @param value The argument.
 * @param expected What it should be, after "as": "a finite number >= 0".
 * @param valid Whether a number is in range.
 * @returns The number.
 * @throws {TypeError} If `value` is not a number.
 * @throws {RangeError} If `valid` refuses it (NaN included, unless `valid`
 * accepts it).
 */
export function checkNumber(
  action: string,
  name: string,
  value: unknown,
  expected: string,
  valid: (n: number) => boolean,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action}: expected ${name} as ${expected}, got ${
        describe(value)
      }`,
    );
  }
  if (!valid(value)) {
    throw new RangeError(
      `Cannot ${action}: expected ${name} as ${expected}, got ${value}`,
    );
  }
  return value;
}

/**
 * Checks that `value` is a function.
 *
 * @param action What was attempted, after "Cannot".
 * @param name The argument's name.
 * @param value The argument.
 * @throws {TypeError} If it is not a function.
 */
export function checkFunction(
  action: string,
  name: string,
  value: unknown,
): void {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${action}: expected ${name} as a function, got ${
        describe(value)
      }`,
    );
  }
}

/**
 * Checks an options argument: `undefined`, or an object (not `null`, not
 * a promise that should have been awaited, not a primitive).
 *
 * @param action What was attempted, after "Cannot".
 * @param options The argument.
 * @param name Its name; "options" by default.
 * @throws {TypeError} If it is neither.
 */
export function checkOptions(
  action: string,
  options: unknown,
  name = "options",
): void {
  if (options === undefined) return;
  if (
    options === null || typeof options !== "object" || isThenable(options)
  ) {
    throw new TypeError(
      `Cannot ${action}: expected ${name} as an object, got ${
        describe(options)
      }`,
    );
  }
}

/**
 * Checks an optional boolean option.
 *
 * @param action What was attempted, after "Cannot".
 * @param name The option's name.
 * @param value Its value.
 * @throws {TypeError} If it is neither `undefined` nor a boolean.
 */
export function checkBoolean(
  action: string,
  name: string,
  value: unknown,
): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: expected ${name} as a boolean, got ${describe(value)}`,
    );
  }
}

/**
 * Checks a `clock` option: `undefined`, or an object with a `now()` method
 * (and, if present, `jumpTo` and `subscribe` methods and an
 * `autojumpThreshold` >= 0), as the `Clock` interface says.
 *
 * @param action What was attempted, after "Cannot".
 * @param clock The option.
 * @throws {TypeError} If it is not such an object.
 * @throws {RangeError} If its `autojumpThreshold` is negative or NaN.
 */
export function checkClock(action: string, clock: unknown): void {
  if (clock === undefined) return;
  const methods = clock as Record<string, unknown>;
  if (
    clock === null || typeof clock !== "object" ||
    typeof methods.now !== "function" ||
    (methods.jumpTo !== undefined && typeof methods.jumpTo !== "function") ||
    (methods.subscribe !== undefined && typeof methods.subscribe !== "function")
  ) {
    throw new TypeError(
      `Cannot ${action}: expected clock as a Clock (an object with a now() method), got ${
        describe(clock)
      }`,
    );
  }
  if (methods.autojumpThreshold !== undefined) {
    checkNumber(
      action,
      "clock.autojumpThreshold",
      methods.autojumpThreshold,
      "a number >= 0",
      (n) => n >= 0,
    );
  }
}

/**
 * Checks a duration or deadline in milliseconds; `null` and `undefined`
 * mean "none" and come back as `null`.
 */
export function checkTime(
  action: string,
  name: string,
  value: unknown,
): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action}: expected ${name} as a number of milliseconds or null, got ${
        describe(value)
      }`,
    );
  }
  if (Number.isNaN(value)) {
    throw new RangeError(`Cannot ${action}: ${name} is NaN`);
  }
  return value;
}
