/**
 * Temporary directories for tests, under `tests/.tmp/` so that the test
 * task can grant `--allow-write=tests/.tmp` and nothing wider.
 */
const ROOT = new URL("./.tmp/", import.meta.url).pathname;

/**
 * Runs `fn` with a fresh directory, removed afterwards whatever happens.
 *
 * @param fn Gets the directory's path.
 * @returns What `fn` returns.
 */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  await Deno.mkdir(ROOT, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ROOT });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
