/** Collects what `console.log` prints while `fn` runs, one string per call. */
export async function captureLog(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(
      args.map((a) => (typeof a === "string" ? a : Deno.inspect(a))).join(" "),
    );
  };
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines;
}
