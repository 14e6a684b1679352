/**
 * Byte helpers for the streams: encoding strings, and searching a region
 * of a buffer without scanning past its end.
 */

import { describe } from "./_describe.ts";

const encoder = new TextEncoder();

/** An empty byte array, shared: never write into it. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * UTF-8 bytes of a string; a Uint8Array as is.
 *
 * @param data Bytes or text.
 * @param what The operation, for the error message.
 * @param name The argument's name, for the error message.
 * @returns The bytes.
 * @throws {TypeError} If `data` is neither.
 */
export function toBytes(
  data: Uint8Array | string,
  what: string,
  name = "data",
): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new TypeError(
    `Cannot ${what}: expected ${name} as a Uint8Array or a string, got ${
      describe(data)
    }`,
  );
}

/**
 * Where `needle` first occurs in `buffer[from, to)`, or -1.
 *
 * @param buffer The buffer.
 * @param needle The bytes to find; not empty.
 * @param from The first index to look at.
 * @param to The end of the region (exclusive).
 * @returns The index in `buffer`, or -1.
 */
export function indexOfBytes(
  buffer: Uint8Array,
  needle: Uint8Array,
  from: number,
  to: number,
): number {
  const last = to - needle.length;
  if (from > last) return -1;
  const first = needle[0];
  // indexOf on a view stops at the region's end and runs natively.
  const region = buffer.subarray(from, to);
  let i = region.indexOf(first);
  if (needle.length === 1) return i < 0 ? -1 : from + i;
  const limit = last - from;
  outer: while (i >= 0 && i <= limit) {
    for (let j = 1; j < needle.length; j++) {
      if (region[i + j] !== needle[j]) {
        i = region.indexOf(first, i + 1);
        continue outer;
      }
    }
    return from + i;
  }
  return -1;
}

/**
 * Copies are carved out of shared slabs, as Node's Buffer pool does for
 * small buffers: in V8, allocating an ArrayBuffer costs tens of
 * microseconds (the garbage collector accounts for every one), while
 * copying 64 KiB into a slab costs under one. A slab is 16 times the size
 * of the copies it holds (8 KiB to 1 MiB), so a copy someone keeps keeps
 * at most 16 times its size alive; copies over 64 KiB get their own.
 */
const MIN_SLAB = 8 * 1024;
const MAX_POOLED = 64 * 1024;
const slabs = new Map<number, { bytes: Uint8Array; offset: number }>();

/**
 * A copy of `source[from, from + count)`, from a shared slab unless large.
 *
 * @param source The bytes.
 * @param from The first index.
 * @param count How many bytes.
 * @returns The copy; nothing else writes to it.
 */
export function copyBytes(
  source: Uint8Array,
  from: number,
  count: number,
): Uint8Array {
  let out: Uint8Array;
  if (count === 0) return new Uint8Array(0);
  if (count > MAX_POOLED) {
    out = new Uint8Array(count);
  } else {
    let size = MIN_SLAB;
    while (size < count * 16) size *= 2;
    let slab = slabs.get(size);
    if (slab === undefined || slab.bytes.length - slab.offset < count) {
      slab = { bytes: new Uint8Array(size), offset: 0 };
      slabs.set(size, slab);
    }
    out = slab.bytes.subarray(slab.offset, slab.offset + count);
    slab.offset = (slab.offset + count + 7) & ~7; // keep 8-byte alignment
  }
  out.set(source.subarray(from, from + count));
  return out;
}
