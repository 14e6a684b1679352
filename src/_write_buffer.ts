/**
 * `WriteBuffer`: the bytes a StreamWriter has accepted and its sink has
 * not taken yet — the write side of what CPython's transports keep
 * beneath `streams.py`. It knows nothing of sinks, tasks or water marks:
 * the writer decides when to send and when to wait.
 *
 * `write` copies into the queue, `queue[0, queued)`. A sink write in flight
 * reads `flight[sent, flightEnd)`, an array `write` no longer touches, so
 * bytes are copied once however far writes run ahead of the sink. When a
 * flight lands, the queue flies next and the landed array becomes the
 * queue: two arrays take turns while data streams, one stays when idle.
 *
 * @module
 */
import { EMPTY_BYTES } from "./_bytes.ts";

/** The queue starts at this size, and grows as needed. */
const FIRST_WRITE_BUFFER = 16 * 1024;
/** An idle buffer gives back an array larger than this. */
const MAX_IDLE_WRITE_BUFFER = 1024 * 1024;

/** A writer's byte buffer: a queue and a flight. */
export class WriteBuffer {
  #queue: Uint8Array = EMPTY_BYTES;
  #queued = 0;
  #flight: Uint8Array = EMPTY_BYTES;
  #sent = 0;
  #flightEnd = 0;

  /** Bytes accepted and not yet taken by the sink: queued and in flight. */
  get size(): number {
    return this.#queued + this.#flightEnd - this.#sent;
  }

  /** Bytes queued and not yet in flight. */
  get queued(): number {
    return this.#queued;
  }

  /** Bytes of the flight the sink has not taken yet. */
  get flying(): number {
    return this.#flightEnd - this.#sent;
  }

  /**
   * Copies `bytes` to the back of the queue.
   *
   * @param bytes The bytes.
   */
  write(bytes: Uint8Array): void {
    const n = bytes.length;
    const queue = this.#queue;
    if (queue.length - this.#queued < n) {
      const grown = new Uint8Array(
        Math.max(this.#queued + n, 2 * queue.length, FIRST_WRITE_BUFFER),
      );
      grown.set(queue.subarray(0, this.#queued));
      this.#queue = grown;
    }
    this.#queue.set(bytes, this.#queued);
    this.#queued += n;
  }

  /** Makes the whole queue the flight; the landed flight's array queues. */
  takeOff(): void {
    const landed = this.#flight;
    this.#flight = this.#queue;
    this.#sent = 0;
    this.#flightEnd = this.#queued;
    this.#queue = landed;
    this.#queued = 0;
  }

  /**
   * What the sink is to take next: the rest of the flight. Valid until
   * `sent` or `takeOff`.
   *
   * @returns A view of the flight's array.
   */
  flight(): Uint8Array {
    return this.#flight.subarray(this.#sent, this.#flightEnd);
  }

  /**
   * The sink took `n` more bytes of the flight.
   *
   * @param n How many.
   */
  sent(n: number): void {
    this.#sent += n;
  }

  /**
   * Nothing is queued or flying: keeps one array for the next writes,
   * unless it grew large.
   */
  idle(): void {
    const landed = this.#flight;
    this.#flight = EMPTY_BYTES;
    this.#sent = this.#flightEnd = 0;
    this.#queue = landed.length > MAX_IDLE_WRITE_BUFFER ? EMPTY_BYTES : landed;
  }

  /**
   * Drops everything not yet taken. A sink write in flight keeps reading
   * its view until it settles.
   */
  drop(): void {
    this.#queue = EMPTY_BYTES;
    this.#queued = 0;
    this.#sent = this.#flightEnd;
  }
}
