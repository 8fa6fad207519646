/**
 * What this host can do for sandboxed commands: is bubblewrap there and does it
 * pass a self-check (a real sandbox running `true`), which cgroup version,
 * which limits can really be enforced (found by making a throwaway cgroup and
 * writing each limit), and which network modes it offers. An agent registers this report; `startSandboxedProcess()`
 * uses the bubblewrap part to refuse early and clearly.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { findBlockDevice } from "./block-device.ts";
import { detectCgroupLayout } from "./cgroup-layout.ts";
import { findExecutable } from "./find-executable.ts";
import { JobCgroup } from "./cgroup.ts";
import type { Limits, NetworkMode } from "./command-spec.ts";
import { findOutboundTools } from "./outbound-network.ts";
import { buildSandboxArgs } from "./sandbox-args.ts";
import { describeSystemPaths } from "./system-paths.ts";

/** Whether bubblewrap can isolate commands here. */
export interface BwrapStatus {
  usable: boolean;
  path?: string;
  version?: string;
  /** Runs bwrap as the sandbox uid when the agent is root (util-linux `setpriv`). */
  setprivPath?: string;
  /** Why it is not usable. */
  reason?: string;
}

/** What `probeIsolation()` found. */
export interface IsolationReport {
  bwrap: BwrapStatus;
  cgroup: { version: "v1" | "v2" | "none"; root: string; reason?: string };
  /** Each limit: enforceable here or not, and how or why not. */
  limits: Record<keyof Limits, { usable: boolean; via?: string; reason?: string }>;
  /** The network modes a sandboxed command may ask for here, and why `outbound` or `host` is not offered. */
  network: {
    modes: NetworkMode[];
    outbound: { usable: boolean; reason?: string };
    host: { usable: boolean; reason?: string };
  };
}

/** Options of `probeIsolation()` and `probeBwrap()`. */
export interface ProbeIsolationOptions {
  /** bubblewrap's path; default: found on `PATH`. */
  bwrapPath?: string;
  /** Default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** Directory under each hierarchy where job cgroups go. Default `troupe`. */
  cgroupParent?: string;
  /** The sandbox's uid and gid when the agent runs as root. Default 65534. */
  sandboxUid?: number;
  /** Where job roots go: an I/O limit throttles the device holding it. */
  workRoot?: string;
  /** The agent allows host networking (`--host-network`). Default false. */
  hostNetwork?: boolean;
}

function run(argv: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: "/usr/bin:/bin" },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", (error) => resolve({ code: null, out: error.message }));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out: out.trim() });
    });
  });
}

/** The command prefix that runs bwrap as `uid` when the agent is root (empty otherwise). */
export function dropPrivileges(setprivPath: string | undefined, uid: number): string[] {
  if (setprivPath === undefined) return [];
  return [
    setprivPath,
    "--reuid",
    String(uid),
    "--regid",
    String(uid),
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
  ];
}

const bwrapChecks = new Map<string, Promise<BwrapStatus>>();

async function checkBwrap(path: string | undefined, uid: number): Promise<BwrapStatus> {
  if (path === undefined) {
    return { usable: false, reason: "bubblewrap (bwrap) is not installed or not on PATH" };
  }
  const root = process.getuid?.() === 0;
  const setprivPath = root ? findExecutable("setpriv") : undefined;
  if (root && setprivPath === undefined) {
    return {
      usable: false,
      path,
      reason: "setpriv (util-linux) is missing: as root, bwrap must run as the sandbox uid",
    };
  }
  if (!existsSync("/bin/bash")) {
    return { usable: false, path, reason: "/bin/bash is missing (it starts the sandbox)" };
  }
  const version = await run([path, "--version"]);
  const empty = mkdtempSync(join(tmpdir(), "troupe-bwrap-probe-"));
  let selfCheck;
  try {
    chmodSync(empty, 0o755);
    const { args } = buildSandboxArgs({
      dirs: { work: empty, tmp: empty, home: empty },
      cwd: "",
      hostname: "troupe-probe",
      network: "none",
      uid,
      gid: uid,
      systemPaths: describeSystemPaths(),
      env: {},
    });
    selfCheck = await run([...dropPrivileges(setprivPath, uid), path, ...args, "--", "/bin/true"]);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  const status: BwrapStatus = {
    usable: selfCheck.code === 0,
    path,
    version: version.out.replace(/^bubblewrap /, ""),
  };
  if (setprivPath !== undefined) status.setprivPath = setprivPath;
  if (selfCheck.code !== 0) {
    status.reason = `bwrap fails its self-check (exit ${selfCheck.code}): ${selfCheck.out || "no output"}`;
  }
  return status;
}

/** Checks bubblewrap once per process (per path and uid) and remembers the answer. */
export function probeBwrap(options: ProbeIsolationOptions = {}): Promise<BwrapStatus> {
  const path = options.bwrapPath ?? findExecutable("bwrap");
  const uid = options.sandboxUid ?? 65534;
  const key = `${path}:${uid}`;
  let check = bwrapChecks.get(key);
  if (check === undefined) bwrapChecks.set(key, check = checkBwrap(path, uid));
  return check;
}

/**
 * Reports this host's isolation capabilities, for an agent to register.
 *
 * @example
 * ```ts
 * const report = await probeIsolation();
 * if (!report.bwrap.usable) console.error(report.bwrap.reason);
 * ```
 */
export async function probeIsolation(options: ProbeIsolationOptions = {}): Promise<IsolationReport> {
  const layout = detectCgroupLayout(options.cgroupRoot === undefined ? {} : { root: options.cgroupRoot });
  const cgroup: IsolationReport["cgroup"] = { version: layout.version, root: layout.root };
  if (layout.version === "none") cgroup.reason = layout.reason;
  const samples: Required<Omit<Limits, "diskMB">> = {
    cpuPercent: 100,
    memoryMB: 1024 * 1024,
    ioBps: 100 * 1024 ** 3,
    pids: 4_194_304,
  };
  const limits = {} as IsolationReport["limits"];
  const bwrap = await probeBwrap(options);
  limits.diskMB = bwrap.usable
    ? {
      usable: true,
      via:
        "a tmpfs of that size for /work, /tmp, /home/troupe and /dev/shm (bubblewrap --size), counted in the memory limit",
    }
    : { usable: false, reason: "It sizes the sandbox's writable directories: bubblewrap is not usable" };
  const ioDevice = options.workRoot === undefined ? undefined : findBlockDevice(options.workRoot);
  for (const [limit, value] of Object.entries(samples) as [keyof typeof samples, number][]) {
    if (limit === "ioBps" && ioDevice === undefined) {
      limits.ioBps = {
        usable: false,
        reason: options.workRoot === undefined
          ? "Depends on the work root's device: probe with workRoot"
          : "The work root is not on a block device the kernel can throttle",
      };
      continue;
    }
    try {
      const probe = JobCgroup.create({
        layout,
        name: `probe-${process.pid}-${limit}`,
        limits: { [limit]: value },
        ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
        ...(limit === "ioBps" && ioDevice !== undefined ? { ioDevice } : {}),
      });
      limits[limit] = { usable: true, via: probe?.applied[limit]?.via ?? "" };
      await probe?.remove();
    } catch (error) {
      limits[limit] = { usable: false, reason: (error as Error).message };
    }
  }
  const outbound = findOutboundTools();
  const network: IsolationReport["network"] = {
    modes: bwrap.usable ? ["none"] : [],
    outbound: outbound.usable
      ? { usable: true }
      : { usable: false, reason: `Outbound network is unavailable: ${outbound.reason}` },
    host: options.hostNetwork === true
      ? { usable: true }
      : { usable: false, reason: "The agent does not allow host networking (start it with --host-network)" },
  };
  if (!bwrap.usable) network.outbound = { usable: false, reason: "Outbound network needs bubblewrap" };
  if (network.outbound.usable) network.modes.push("outbound");
  if (network.host.usable) network.modes.push("host");
  return { bwrap, cgroup, limits, network };
}
