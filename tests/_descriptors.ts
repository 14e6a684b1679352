/**
 * How many file descriptors this process has open, to check that sockets
 * and files really are closed. Deno grants `/proc/self` only with
 * `--allow-all`, so a shell counts them (the test task allows `sh`).
 */

/**
 * Counts this process's open descriptors (Linux).
 *
 * @returns The count, minus the pipe the count itself is read through.
 */
export async function openDescriptors(): Promise<number> {
  const { stdout } = await new Deno.Command("sh", {
    args: ["-c", `ls /proc/${Deno.pid}/fd | wc -l`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return Number(new TextDecoder().decode(stdout).trim());
}
