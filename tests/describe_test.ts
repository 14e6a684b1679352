import assert from "node:assert/strict";
import { Future, Lock, newEventLoop } from "../mod.ts";
import { describe, repr } from "../src/_describe.ts";

Deno.test("describe() names a value's kind with an article, classes by name", () => {
  const loop = newEventLoop();
  const cases: [unknown, string][] = [
    [undefined, "undefined"],
    [null, "null"],
    ["5", "a string"],
    [5, "a number"],
    [true, "a boolean"],
    [Symbol("s"), "a symbol"],
    [5n, "a bigint"],
    [() => {}, "a function"],
    [[1], "an array"],
    [{}, "an object"],
    [Object.create(null), "an object"],
    [Promise.resolve(), "a promise"],
    [{ then() {} }, "a promise"],
    [new Future({ loop }), "a Future"],
    [new Lock(), "a Lock"],
    [new Uint8Array(1), "a Uint8Array"],
    [new Error("e"), "an Error"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(describe(value), expected, Deno.inspect(value));
  }
  loop.close();
});

Deno.test("repr() shows a short form of any value and never throws", () => {
  const throwing = {
    toString() {
      throw new Error("no");
    },
  };
  const cases: [unknown, string][] = [
    ["db", '"db"'],
    ["x".repeat(50), `"${"x".repeat(37)}..."`],
    [3, "3"],
    [NaN, "NaN"],
    [5n, "5n"],
    [Symbol("s"), "Symbol(s)"],
    [undefined, "undefined"],
    [null, "null"],
    [function named() {}, "named"],
    [() => {}, "<anonymous function>"],
    [[1, [2, [3]]], "[1, [...]]"],
    [[1, 2, 3, 4, 5, 6, 7], "[1, 2, 3, 4, 5, 6, ...]"],
    [{ a: 1, b: { c: 2 } }, "{a: 1, b: {...}}"],
    [Object.create(null), "{}"],
    [new Lock(), "<Lock [unlocked]>"],
    [new Error("boom"), "Error: boom"],
    [new Map(), "<Map>"],
    [Promise.resolve(), "<promise>"],
    [throwing, "<object>"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(repr(value), expected, Deno.inspect(value));
  }
});
