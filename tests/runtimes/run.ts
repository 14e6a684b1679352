/**
 * Runs the core's test files on Node or Bun: `deno task test:node` (the
 * Node on PATH, 20 in CI), `deno task test:node24` (Node 24 LTS) and
 * `deno task test:bun`, optionally followed by test files to run only
 * those. The same `tests/*_test.ts` files `deno test` runs, less the
 * Deno-only ones listed in `deno_only.ts`, which are printed first.
 *
 * How, in a temporary directory that is removed afterwards:
 * 1. npm installs the npm packages of `deno.json`'s import map (the tests'
 *    `@sinonjs/fake-timers`), plus, for Node, TypeScript. Node 24 and Bun
 *    themselves come from the `node` and `bun` npm packages. Versions are
 *    pinned here.
 * 2. For Node, every `.ts` file of `mod.ts`, `src/`, `tests/`, `examples/`
 *    and `bench/` is transpiled on its own (TypeScript's `transpileModule`,
 *    relative `.ts` imports rewritten to `.js`), as JSR's npm layer ships
 *    the package; `using` is lowered for Node before 24, which cannot
 *    parse it, and kept for Node 24. Bun runs the `.ts` files as they
 *    are.
 * 3. `node --test` or `bun test` runs them with `_shim.ts` loaded first.
 * 4. The package is laid out as JSR's npm layer ships it, and
 *    `consumer.mjs` imports it as a user's program would (skipped when
 *    test files are named). The last line says how many passed (the
 *    package check counts as one), failed and were skipped.
 */
import { createRequire } from "node:module";
import { DENO_ONLY_FILES, DENO_ONLY_TESTS } from "./deno_only.ts";

/** The pinned versions, all from the npm registry. */
export const BUN_VERSION = "1.4.5";
export const NODE24_VERSION = "24.21.0";
export const TYPESCRIPT_VERSION = "5.9.3";

/** One runtime's run may take this long before it is stopped. */
const RUN_TIMEOUT_MS = 10 * 60_000;
/** One test may take this long (Bun's default of 5 s is too short here). */
const TEST_TIMEOUT_MS = 120_000;

const ROOT = new URL("../../", import.meta.url);
const COPIED_DIRS = ["src", "tests", "examples", "bench"];
const SKIPPED_DIRS = new Set(["tests/.tmp", "examples/data"]);

/**
 * A runtime other than Deno that the core runs on: the Node on PATH, the
 * pinned Node 24, or the pinned Bun.
 */
export type Runtime = "node" | "node24" | "bun";

const RUNTIMES: readonly Runtime[] = ["node", "node24", "bun"];

function isRuntime(name: string | undefined): name is Runtime {
  return RUNTIMES.includes(name as Runtime);
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Every file under `dir` (relative to the root), in sorted order. */
async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    const name = `${dir}/${entry.name}`;
    if (entry.isDirectory && !SKIPPED_DIRS.has(name)) {
      files.push(...await walk(name));
    } else if (entry.isFile) {
      files.push(name);
    }
  }
  return files.sort();
}

/** Checks that every entry of the Deno-only list still names something. */
async function checkList(): Promise<string[]> {
  const problems: string[] = [];
  for (const file of Object.keys(DENO_ONLY_FILES)) {
    if (!await exists(new URL(file, ROOT))) {
      problems.push(`${file} is listed as Deno-only but does not exist`);
    }
  }
  for (const [name, { file }] of Object.entries(DENO_ONLY_TESTS)) {
    const source = await Deno.readTextFile(new URL(file, ROOT)).catch(() => "");
    if (!source.includes(JSON.stringify(name))) {
      problems.push(`${file} has no test named ${JSON.stringify(name)}`);
    }
  }
  return problems;
}

function printList(runtime: Runtime): void {
  console.log(`== not run on ${runtime}: they need Deno`);
  for (const [file, reason] of Object.entries(DENO_ONLY_FILES)) {
    console.log(`   ${file}: ${reason}`);
  }
  for (const [name, { file, reason }] of Object.entries(DENO_ONLY_TESTS)) {
    console.log(`   ${file} "${name}": ${reason}`);
  }
}

async function command(
  program: string,
  args: string[],
  options: { cwd?: string; quiet?: boolean } = {},
): Promise<string> {
  const output = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    stdout: "piped",
    stderr: options.quiet ? "piped" : "inherit",
  }).output();
  if (!output.success) {
    const detail = new TextDecoder().decode(output.stderr).trim();
    throw new Error(
      `Cannot run ${program} ${args.join(" ")}: exit code ${output.code}${
        detail ? `\n${detail}` : ""
      }`,
    );
  }
  return new TextDecoder().decode(output.stdout).trim();
}

/** `npm install` specs for the import map's `npm:` entries. */
async function importMapPackages(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { imports?: Record<string, string> };
  return Object.entries(config.imports ?? {})
    .filter(([, target]) => target.startsWith("npm:"))
    .map(([name, target]) => `${name}@${target}`);
}

interface Transpiler {
  transpileModule(
    source: string,
    options: { compilerOptions: Record<string, unknown>; fileName: string },
  ): { outputText: string };
  ScriptTarget: Record<string, number>;
  ModuleKind: Record<string, number>;
}

/**
 * Writes the tree a runtime runs into `dir`: transpiled for `nodeMajor`,
 * or as it is for Bun (`nodeMajor` undefined).
 */
async function layOut(
  dir: string,
  nodeMajor: number | undefined,
): Promise<void> {
  const files = ["mod.ts"];
  for (const sub of COPIED_DIRS) files.push(...await walk(sub));
  let ts: Transpiler | undefined;
  if (nodeMajor !== undefined) {
    ts = createRequire(import.meta.url)(
      `${dir}/node_modules/typescript/lib/typescript.js`,
    ) as Transpiler;
  }
  for (const file of files) {
    const from = new URL(file, ROOT);
    await Deno.mkdir(`${dir}/${file.replace(/[^/]*$/, "")}`, {
      recursive: true,
    });
    if (ts === undefined || !file.endsWith(".ts")) {
      await Deno.copyFile(from, `${dir}/${file}`);
      continue;
    }
    const { outputText } = ts.transpileModule(await Deno.readTextFile(from), {
      fileName: file,
      compilerOptions: {
        // Node 24 parses `using`; before it, it must be lowered.
        target: nodeMajor! >= 24
          ? ts.ScriptTarget.ESNext
          : ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        rewriteRelativeImportExtensions: true,
      },
    });
    await Deno.writeTextFile(
      `${dir}/${file.replace(/\.ts$/, ".js")}`,
      outputText,
    );
  }
  await Deno.writeTextFile(
    `${dir}/package.json`,
    JSON.stringify({ private: true, type: "module" }),
  );
}

/** Runs `program`, echoing its output, and returns the output too. */
async function tee(
  program: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; text: string }> {
  const child = new Deno.Command(program, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", FORCE_COLOR: "0" },
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    sink: { write(bytes: Uint8Array): Promise<number> },
  ) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  await Promise.all([
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  const { code } = await child.status;
  return { code, text };
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function parseCounts(runtime: Runtime, text: string): Counts | undefined {
  const read = (pattern: RegExp) => {
    const matches = [...text.matchAll(pattern)];
    return matches.length === 0
      ? undefined
      : Number(matches[matches.length - 1][1]);
  };
  const [passed, failed, skipped] = runtime !== "bun"
    ? [
      read(/^ℹ pass (\d+)$/gm),
      read(/^ℹ fail (\d+)$/gm),
      read(/^ℹ skipped (\d+)$/gm),
    ]
    : [
      read(/^\s*(\d+) pass$/gm),
      read(/^\s*(\d+) fail$/gm),
      read(/^\s*(\d+) skip$/gm) ?? 0,
    ];
  if (passed === undefined || failed === undefined) return undefined;
  return { passed, failed, skipped: skipped ?? 0 };
}

async function npxBinary(pkg: string): Promise<string> {
  console.log(`== installing ${pkg} from the npm registry`);
  return await command("npx", [
    "-y",
    pkg,
    "-e",
    "console.log(process.execPath)",
  ], { quiet: true });
}

/**
 * Lays out the repository in `dir` for `runtime` (transpiled for Node, as
 * is for Bun) with the npm packages it needs, and finds the runtime.
 *
 * @param runtime Which Node or Bun.
 * @param dir An empty directory.
 * @returns The program to run and its name and version, as
 * "Node v20.20.2".
 */
export async function prepare(
  runtime: Runtime,
  dir: string,
): Promise<{ program: string; version: string }> {
  const program = runtime === "bun"
    ? await npxBinary(`bun@${BUN_VERSION}`)
    : runtime === "node24"
    ? await npxBinary(`node@${NODE24_VERSION}`)
    : "node";
  const raw = await command(program, ["--version"]);
  const version = runtime === "bun" ? `Bun ${raw}` : `Node ${raw}`;
  const nodeMajor = runtime === "bun"
    ? undefined
    : Number(/^v(\d+)/.exec(raw)?.[1]);
  if (nodeMajor !== undefined && !(nodeMajor >= 20)) {
    throw new Error(
      `Cannot run on ${version}: the core needs Node 20 or newer`,
    );
  }
  const packages = [
    ...await importMapPackages(),
    `typescript@${TYPESCRIPT_VERSION}`,
  ];
  console.log(`== installing ${packages.join(", ")} from the npm registry`);
  await command("npm", [
    "install",
    "--prefix",
    dir,
    "--no-save",
    "--no-package-lock",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packages,
  ], { quiet: true });
  await layOut(dir, nodeMajor);
  return { program, version };
}

/** What `consumer.mjs` prints when the package is right. */
const EXPECTED = [
  "cleaned up",
  "the core exports openConnection: false",
  'TypeError: Cannot open connection: this runtime has no Deno.connect (the stream, file, subprocess and signal adapters need Deno; on Node and Bun, import the core from "@aio/asyncio/core")',
  "a file outside the exports: refused",
];

/**
 * Lays the package out in `dir/consumer/node_modules/@aio/asyncio` as
 * JSR's npm layer ships it — each published `.ts` file transpiled alone to
 * `.js`, `package.json` exports from `deno.json`'s — and runs
 * `consumer.mjs` beside it, as a user's program.
 *
 * @returns Whether it printed `EXPECTED`.
 */
async function checkPackage(program: string, dir: string): Promise<boolean> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { name: string; version: string; exports: Record<string, string> };
  const ts = createRequire(import.meta.url)(
    `${dir}/node_modules/typescript/lib/typescript.js`,
  ) as Transpiler;
  const consumer = `${dir}/consumer`;
  const root = `${consumer}/node_modules/${config.name}`;
  for (const file of ["mod.ts", ...await walk("src")]) {
    if (!file.endsWith(".ts")) continue;
    await Deno.mkdir(`${root}/${file.replace(/[^/]*$/, "")}`, {
      recursive: true,
    });
    const { outputText } = ts.transpileModule(
      await Deno.readTextFile(new URL(file, ROOT)),
      {
        fileName: file,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          rewriteRelativeImportExtensions: true,
        },
      },
    );
    await Deno.writeTextFile(
      `${root}/${file.replace(/\.ts$/, ".js")}`,
      outputText,
    );
  }
  const exports = Object.fromEntries(
    Object.entries(config.exports).map((
      [key, path],
    ) => [key, path.replace(/\.ts$/, ".js")]),
  );
  await Deno.writeTextFile(
    `${root}/package.json`,
    JSON.stringify({
      name: config.name,
      version: config.version,
      type: "module",
      exports,
    }),
  );
  await Deno.copyFile(
    new URL("tests/runtimes/consumer.mjs", ROOT),
    `${consumer}/consumer.mjs`,
  );
  const output = await new Deno.Command(program, {
    args: ["consumer.mjs"],
    cwd: consumer,
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  const ok = output.success &&
    JSON.stringify(lines) === JSON.stringify(EXPECTED);
  if (!ok) {
    console.log(`exit code ${output.code}; printed:`);
    for (const line of lines) console.log(`   ${line}`);
    console.log("expected:");
    for (const line of EXPECTED) console.log(`   ${line}`);
  }
  return ok;
}

async function main(args: string[]): Promise<number> {
  const [runtime, ...only] = args;
  if (!isRuntime(runtime)) {
    console.error(`Usage: run.ts ${RUNTIMES.join("|")} [tests/x_test.ts ...]`);
    return 2;
  }
  const problems = await checkList();
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    return 1;
  }
  printList(runtime);
  const tests = only.length > 0
    ? only
    : (await walk("tests")).filter((file) =>
      file.endsWith("_test.ts") && !Object.hasOwn(DENO_ONLY_FILES, file)
    );

  const dir = await Deno.makeTempDir({ prefix: "aio_runtimes_" });
  try {
    const { program, version } = await prepare(runtime, dir);
    const runArgs = runtime !== "bun"
      ? [
        "--expose-gc",
        "--import",
        "./tests/runtimes/_shim.js",
        "--test",
        "--test-reporter=spec",
        `--test-timeout=${TEST_TIMEOUT_MS}`,
        ...tests.map((file) => file.replace(/\.ts$/, ".js")),
      ]
      : [
        "test",
        "--preload",
        "./tests/runtimes/_shim.ts",
        "--timeout",
        String(TEST_TIMEOUT_MS),
        ...tests.map((file) => `./${file}`),
      ];
    console.log(`== ${version}: ${tests.length} test files`);
    const { code, text } = await tee(program, runArgs, dir);
    const counts = parseCounts(runtime, text);
    if (counts === undefined) {
      console.log(`${version}: no test summary found (exit code ${code})`);
      return 1;
    }
    console.log(`== ${version}: the package as npm users get it`);
    const packaged = only.length > 0 || await checkPackage(program, dir);
    console.log(packaged ? "ok" : "FAILED");
    // The package check counts as one test.
    const passed = counts.passed + (only.length > 0 ? 0 : packaged ? 1 : 0);
    const failed = counts.failed + (packaged ? 0 : 1);
    console.log(
      `${version}: ${passed} passed, ${failed} failed, ${counts.skipped} skipped (Deno-only)`,
    );
    return code === 0 && failed === 0 && passed > 0 ? 0 : 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
