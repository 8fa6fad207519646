/** Runs the troupe CLI in a child process of the same runtime as the test. */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
export { freePort } from "../harness/free-port.ts";

const root = new URL("../..", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;

/** The argv that runs `main.ts` on this runtime. */
export function cliArgv(args: string[]): [string, string[]] {
  return isDeno
    ? [process.execPath, ["run", "-A", `${root}main.ts`, ...args]]
    : [process.execPath, [`${root}main.ts`, ...args]];
}

/** Starts the CLI and returns the child (output collected). */
export function startCli(
  args: string[],
  env: Record<string, string>,
): ChildProcess & { output: () => string } {
  const [cmd, argv] = cliArgv(args);
  const child = spawn(cmd, argv, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = cliArgv(args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI ${args.join(" ")} timed out; output: ${stdout}${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Waits for a child to exit; returns its code. */
export function exited(child: ChildProcess, timeoutMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("child did not exit")), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
