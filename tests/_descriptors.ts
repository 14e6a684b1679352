/**
 * How many file descriptors this process has open, to check that sockets
 * and files really are closed. Deno grants `/proc/self` only with
 * `--allow-all`, so a child shell counts them (the test tasks allow `sh`).
 */

const decoder = new TextDecoder();

/**
 * Counts this process's open descriptors (Linux). The count includes the
 * pipe to the counting shell, the same in every count.
 *
 * @returns The count.
 * @throws {Error} If the shell cannot count them.
 */
export async function openDescriptors(): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `ls /proc/${Deno.pid}/fd | wc -l`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const count = Number.parseInt(decoder.decode(out.stdout), 10);
  if (!out.success || !(count > 0)) {
    throw new Error(`Cannot count descriptors: ${decoder.decode(out.stderr)}`);
  }
  return count;
}
