/**
 * The adapters' check that the host is Deno. The core runs on Node and Bun
 * too, and `mod.ts` loads there, so an adapter called there must say what
 * is missing rather than fail with "Deno is not defined" from deep inside.
 * Each adapter checks the very function it is about to call, which also
 * lets a partial `Deno` (a shim) through only where it suffices.
 */

/**
 * Throws unless `Deno[api]` is a function.
 *
 * @param action What the adapter was asked to do, as "open connection".
 * @param api The `Deno` member it needs, as "connect".
 * @throws {TypeError} If this runtime has no such function.
 */
export function requireDeno(action: string, api: string): void {
  const deno = (globalThis as { Deno?: Record<string, unknown> }).Deno;
  if (typeof deno?.[api] === "function") return;
  throw new TypeError(
    `Cannot ${action}: this runtime has no Deno.${api} (the stream, file, ` +
      `subprocess and signal adapters need Deno; on Node and Bun, import ` +
      `the core from "@aio/asyncio/core")`,
  );
}
