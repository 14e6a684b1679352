/**
 * Words for values in error messages and logs, shared by every layer:
 * `describe` names a value's kind ("a string", "null", "a Task"), `repr`
 * shows a short form of the value itself, as Python's `reprlib.repr`, and
 * `describeAddress` an address. The argument checks that use them are in
 * `_checks.ts`. `mod.ts` never exports this file.
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
