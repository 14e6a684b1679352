/**
 * What a `KvQueue` writes into Deno KV: the envelope each queue message
 * carries, the keys a queue keeps beside the queue (pending markers,
 * parked items, done markers, dead letters), the options every enqueue
 * gets, and the checks of the values users pass in. Deno KV's limits
 * live here too, each as measured on Deno 2.9.6. `mod.ts` never exports
 * this file.
 */
import { checkNumber } from "./_checks.ts";
import { describe, repr } from "./_describe.ts";

/** The property that marks a message as a KvQueue's, with its kind. */
export const MARK = "aio.kv";

/**
 * An item's identity: what names its dead letter, its pending marker and
 * the key `once` guards. A Deno KV key part, symbols excepted.
 */
export type ItemKey = string | number | bigint | boolean | Uint8Array;

/** A queue message carrying one item. */
export interface ItemEnvelope<T> {
  readonly [MARK]: "item";
  /** This put's own identity: its pending marker's name. */
  readonly id: string;
  readonly key: ItemKey;
  readonly item: T;
  /** The attempt this copy of the message is, from 1. */
  readonly attempt: number;
  /** On a dead letter KvQueue wrote: why the last attempt failed. */
  readonly error?: string;
}

/** A message whose only job is to make Deno KV look at its queue again. */
export interface TickEnvelope {
  readonly [MARK]: "tick";
}

/** Deno KV's limits on queue messages (Deno 2.9.6, local SQLite). */
export const KV_LIMITS = {
  /** `enqueue`'s `delay`: 30 days in milliseconds. */
  maxDelay: 30 * 24 * 60 * 60 * 1000,
  /** Each interval of `backoffSchedule`: one hour. */
  maxBackoff: 60 * 60 * 1000,
  /** Intervals in one `backoffSchedule`. */
  maxBackoffIntervals: 5,
  /** A serialized message, envelope included. */
  maxMessageBytes: 64 * 1024,
} as const;

/**
 * Whether `value` is a message carrying an item, with every field a
 * KvQueue needs to settle it.
 */
export function isItem(value: unknown): value is ItemEnvelope<unknown> {
  if (typeof value !== "object" || value === null) return false;
  const fields = value as Record<string, unknown>;
  return fields[MARK] === "item" && typeof fields.id === "string" &&
    "key" in fields && "item" in fields &&
    Number.isInteger(fields.attempt) && (fields.attempt as number) >= 1;
}

/** Whether `value` is a tick. */
export function isTick(value: unknown): value is TickEnvelope {
  return typeof value === "object" && value !== null &&
    (value as Record<string, unknown>)[MARK] === "tick";
}

/** The tick message. */
export const TICK: TickEnvelope = { [MARK]: "tick" };

/** The keys one queue keeps in its database. */
export class QueueKeys {
  readonly prefix: Deno.KvKey;
  readonly deadLetter: Deno.KvKey;

  constructor(prefix: Deno.KvKey, deadLetter: Deno.KvKey) {
    this.prefix = prefix;
    this.deadLetter = deadLetter;
  }

  /**
   * Set while a put item is not yet finished, by any process; one per
   * put, so that two items with one key are counted apart.
   */
  pending(id: string): Deno.KvKey {
    return [...this.prefix, "pending", id];
  }

  get pendingPrefix(): Deno.KvKey {
    return [...this.prefix, "pending"];
  }

  /** Where a consumer with no room parks an item, oldest first. */
  parked(at: number, key: ItemKey): Deno.KvKey {
    return [...this.prefix, "parked", at, key];
  }

  get parkedPrefix(): Deno.KvKey {
    return [...this.prefix, "parked"];
  }

  /** The done-marker `once` sets. */
  done(key: ItemKey): Deno.KvKey {
    return [...this.prefix, "done", key];
  }

  /** The item's dead letter. */
  dead(key: ItemKey): Deno.KvKey {
    return [...this.deadLetter, key];
  }
}

/**
 * The options for enqueuing a copy of an item (at its `attempt`): Deno KV's own
 * retries stand in for a worker that dies holding the copy (a crash is
 * never seen by a handler), so the copy gets the retries that remain
 * (Deno KV takes at most five), and once they are spent KV writes the
 * message to the dead letter and over the pending marker.
 */
export function enqueueOptions(
  keys: QueueKeys,
  backoff: readonly number[],
  envelope: ItemEnvelope<unknown>,
  delay = 0,
): {
  delay: number;
  backoffSchedule: number[];
  keysIfUndelivered: Deno.KvKey[];
} {
  const attempt = envelope.attempt;
  return {
    delay,
    backoffSchedule: backoff.slice(
      attempt - 1,
      attempt - 1 + KV_LIMITS.maxBackoffIntervals,
    ),
    keysIfUndelivered: [keys.dead(envelope.key), keys.pending(envelope.id)],
  };
}

/**
 * Turns Deno KV's errors about a message it cannot take into ours, which
 * name the argument; other errors pass unchanged.
 */
export function itemError(action: string, error: unknown): unknown {
  if (!(error instanceof TypeError)) return error;
  if (/could not be cloned/.test(error.message)) {
    return new TypeError(
      `Cannot ${action}: expected item as a structured-cloneable value (Deno KV's value rules): ${error.message}`,
      { cause: error },
    );
  }
  if (/payload too large/.test(error.message)) {
    return new RangeError(
      `Cannot ${action}: item is too large: a Deno KV message holds at most ${KV_LIMITS.maxMessageBytes} bytes serialized, the queue's envelope included`,
      { cause: error },
    );
  }
  return error;
}

/** Checks an item key: a string, number, bigint, boolean or Uint8Array. */
export function checkItemKey(
  action: string,
  name: string,
  value: unknown,
): ItemKey {
  if (
    typeof value === "string" || typeof value === "bigint" ||
    typeof value === "boolean" || value instanceof Uint8Array ||
    (typeof value === "number" && !Number.isNaN(value))
  ) {
    return value;
  }
  throw new TypeError(
    `Cannot ${action}: expected ${name} as a string, number, bigint, boolean or Uint8Array, got ${
      typeof value === "number" ? "NaN" : describe(value)
    }`,
  );
}

/** Checks a Deno KV key: an array of key parts. */
export function checkKvKey(
  action: string,
  name: string,
  value: unknown,
): Deno.KvKey {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Cannot ${action}: expected ${name} as a Deno KV key (an array of key parts), got ${
        describe(value)
      }`,
    );
  }
  value.forEach((part, i) => checkItemKey(action, `${name}[${i}]`, part));
  return value;
}

/** Checks a backoff schedule: delays in ms, each within Deno KV's hour. */
export function checkBackoff(
  action: string,
  value: unknown,
): readonly number[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Cannot ${action}: expected backoffSchedule as an array of delays in milliseconds, got ${
        describe(value)
      }`,
    );
  }
  if (value.length > 100) {
    throw new RangeError(
      `Cannot ${action}: expected backoffSchedule with at most 100 delays, got ${value.length}`,
    );
  }
  value.forEach((delay, i) =>
    checkNumber(
      action,
      `backoffSchedule[${i}]`,
      delay,
      `an integer from 0 to ${KV_LIMITS.maxBackoff} (Deno KV's limit)`,
      (n) => Number.isInteger(n) && n >= 0 && n <= KV_LIMITS.maxBackoff,
    )
  );
  return [...value];
}

/** Words for a failed attempt's error, short enough for a dead letter. */
export function errorText(error: unknown): string {
  const text = error instanceof Error
    ? `${error.name}: ${error.message}`
    : repr(error);
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}
