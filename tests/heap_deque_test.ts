import assert from "node:assert/strict";
import { TimerHeap } from "../src/_heap.ts";
import { Deque } from "../src/_deque.ts";

Deno.test("TimerHeap pops by deadline, ties in insertion order", () => {
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const heap = new TimerHeap<number>();
  const entries: [number, number][] = [];
  for (let i = 0; i < 5000; i++) {
    const when = Math.floor(random() * 100); // many ties
    heap.push(when, i);
    entries.push([when, i]);
  }
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const popped: number[] = [];
  while (heap.length > 0) popped.push(heap.pop()!);
  assert.deepEqual(popped, entries.map((e) => e[1]));
  assert.equal(heap.pop(), undefined);
  assert.equal(heap.peekWhen(), Infinity);
});

Deno.test("TimerHeap.filter() keeps order", () => {
  const heap = new TimerHeap<number>();
  for (let i = 0; i < 100; i++) heap.push(100 - (i % 10), i);
  heap.filter((i) => i % 3 === 0);
  const popped: number[] = [];
  while (heap.length > 0) popped.push(heap.pop()!);
  const expected = [...Array(100).keys()].filter((i) => i % 3 === 0)
    .sort((a, b) => (100 - (a % 10)) - (100 - (b % 10)) || a - b);
  assert.deepEqual(popped, expected);
});

Deno.test("Deque pushes, shifts, unshifts and removes across growth", () => {
  const deque = new Deque<number>(2);
  const model: number[] = [];
  for (let i = 0; i < 100; i++) {
    deque.push(i);
    model.push(i);
    if (i % 3 === 0) assert.equal(deque.shift(), model.shift());
    if (i % 7 === 0) {
      deque.unshift(-i);
      model.unshift(-i);
    }
  }
  assert.equal(deque.remove(50), true);
  model.splice(model.indexOf(50), 1);
  assert.equal(deque.remove(1234), false);
  assert.equal(deque.pop(), model.pop());
  assert.equal(deque.peekFront(), model[0]);
  assert.deepEqual([...deque], model);
  assert.equal(deque.length, model.length);
  deque.clear();
  assert.equal(deque.shift(), undefined);
  assert.equal(deque.length, 0);
});
