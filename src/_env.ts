/**
 * The Deno adapter for the environment: whether `AIO_ASYNCIO_DEBUG` asks
 * for debug mode, as `PYTHONASYNCIODEBUG` does for asyncio. Reading it
 * needs `--allow-env=AIO_ASYNCIO_DEBUG`; without that permission the
 * variable counts as unset, and nothing prompts.
 */

/** The variable that turns debug mode on for every new loop. */
export const DEBUG_VARIABLE = "AIO_ASYNCIO_DEBUG";

/**
 * Whether `AIO_ASYNCIO_DEBUG` is set to something other than `""` or `"0"`.
 *
 * @returns `false` too when it cannot be read.
 */
export function debugFromEnvironment(): boolean {
  if (typeof Deno === "undefined" || Deno.permissions === undefined) {
    return false;
  }
  try {
    const status = Deno.permissions.querySync({
      name: "env",
      variable: DEBUG_VARIABLE,
    });
    if (status.state !== "granted") return false;
    const value = Deno.env.get(DEBUG_VARIABLE);
    return value !== undefined && value !== "" && value !== "0";
  } catch {
    return false;
  }
}
