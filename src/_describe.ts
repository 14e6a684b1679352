/**
 * Words for values in error messages and logs, shared by every layer:
 * `describe` names a value's kind ("a string", "null", "a Task"), `repr`
 * shows a short form of the value itself, as Python's `reprlib.repr`, and
 * the checks turn a bad argument into a TypeError or RangeError that names
 * it — before any arithmetic or property read can fail with an engine
 * message ("Cannot convert a Symbol value to a number"). `mod.ts` never
 * exports this file.
 */

// "an object", "an Error", but "a Uint8Array" and "a URL".
function withArticle(noun: string): string {
  return /^[aeiouAEIO]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function isThenable(value: object): boolean {
  return typeof (value as PromiseLike<unknown>).then === "function";
}

/** The name of `value`'s class, unless it is a plain object or a promise. */
function className(value: object): string | undefined {
  let name: unknown;
  try {
    name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  } catch {
    return undefined;
  }
  if (typeof name !== "string" || name === "" || name === "Object") {
    return undefined;
  }
  return name === "Promise" ? undefined : name;
}

/**
 * Names a value's kind for error messages: "null", "undefined", "a
 * string", "a symbol", "an array", "a promise", or its class with an
 * article ("a Task", "a Uint8Array").
 *
 * @param value Anything.
 * @returns The words.
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (typeof value !== "object") return withArticle(typeof value);
  const name = className(value);
  if (name !== undefined) return withArticle(name);
  return isThenable(value) ? "a promise" : "an object";
}

const MAX_STRING = 40;
const MAX_ITEMS = 6;

/**
 * A short form of `value` for logs, as Python's `reprlib.repr`: strings
 * quoted and cut, numbers and symbols as written, objects through their
 * own `toString()` (a Task shows as `<Task name='Task-1' pending>`), and
 * arrays and plain objects shallowly. Never throws.
 *
 * @param value Anything.
 * @param depth How deep arrays and objects are shown; 1 by default.
 * @returns The text.
 */
export function repr(value: unknown, depth = 1): string {
  switch (typeof value) {
    case "string": {
      const text = value.length > MAX_STRING
        ? `${value.slice(0, MAX_STRING - 3)}...`
        : value;
      return JSON.stringify(text);
    }
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return value.name === "" ? "<anonymous function>" : value.name;
    case "object":
      break;
    default:
      return String(value);
  }
  if (value === null) return "null";
  try {
    if (Array.isArray(value)) {
      if (depth <= 0) return value.length === 0 ? "[]" : "[...]";
      const items = value.slice(0, MAX_ITEMS).map((item) =>
        repr(item, depth - 1)
      );
      if (value.length > MAX_ITEMS) items.push("...");
      return `[${items.join(", ")}]`;
    }
    const toString = (value as { toString?: unknown }).toString;
    if (
      typeof toString === "function" && toString !== Object.prototype.toString
    ) {
      const text = toString.call(value);
      if (typeof text === "string") return text;
    }
    const name = className(value);
    if (name !== undefined) return `<${name}>`;
    if (isThenable(value)) return "<promise>";
    const keys = Object.keys(value);
    if (depth <= 0) return keys.length === 0 ? "{}" : "{...}";
    const entries = keys.slice(0, MAX_ITEMS).map((key) =>
      `${key}: ${repr((value as Record<string, unknown>)[key], depth - 1)}`
    );
    if (keys.length > MAX_ITEMS) entries.push("...");
    return `{${entries.join(", ")}}`;
  } catch {
    return `<${describe(value).replace(/^an? /, "")}>`;
  }
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

/** `127.0.0.1:80`, `[::1]:80` or a socket path, from a Deno.Addr-shaped object. */
export function describeAddress(addr: unknown): string | undefined {
  if (addr === null || typeof addr !== "object") return undefined;
  const { hostname, port, path } = addr as {
    hostname?: unknown;
    port?: unknown;
    path?: unknown;
  };
  if (typeof hostname === "string" && typeof port === "number") {
    return hostname.includes(":")
      ? `[${hostname}]:${port}`
      : `${hostname}:${port}`;
  }
  return typeof path === "string" && path !== "" ? path : undefined;
}
