/**
 * The `outbound` network mode: the sandbox has a network namespace of its
 * own, connected to the outside by user-mode networking (slirp4netns), so its
 * connections leave as the agent's own sockets, through the host's routing.
 *
 * What it cannot reach: the host's loopback (`127.0.0.1` inside is the
 * sandbox's own; `--disable-host-loopback` keeps slirp's gateway `10.0.2.2`
 * from mapping to the host's), and the host's own addresses (each gets an
 * `unreachable` route in the sandbox's namespace, set before the command
 * runs; the command has no capability there to remove it). A DNS server on
 * the host's loopback or on one of its addresses is replaced by slirp's
 * forwarder, `10.0.2.3`.
 *
 * The sequence, with the agent as root: right after spawning the sandbox the
 * agent starts a small helper shell, which waits for a pid. bwrap writes
 * `{"child-pid": N}` on its info fd, brings up the sandbox's loopback and waits
 * on its block fd; the agent waits for that loopback (touching the namespace
 * while bwrap configures it makes bwrap fail) and hands N to the helper, which
 * adds the routes (`nsenter --net ip -batch`) in the background and becomes
 * slirp4netns for pid N (tap0, 10.0.2.100/24); once the routes are set and
 * slirp is ready the agent releases the block fd and the command runs. slirp4netns ends with the command (its exit fd is a pipe
 * the agent closes; it also closes if the agent dies).
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import process from "node:process";
import type { Readable, Writable } from "node:stream";
import { PermanentError } from "../../machines/errors.ts";
import { ExecErrorCode } from "./exec-errors.ts";
import { findExecutable } from "./find-executable.ts";

/** An IPv4 address or CIDR, as an agent's barred networks are written. */
export const ipv4Network =
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)(\/(3[0-2]|[12]?\d))?$/;

/** slirp's DNS forwarder inside the sandbox's network. */
export const slirpDns = "10.0.2.3";

/** The tools `outbound` needs, or why it cannot be offered. */
export interface OutboundTools {
  usable: boolean;
  slirp4netns?: string;
  nsenter?: string;
  ip?: string;
  reason?: string;
}

const found = new Map<string, OutboundTools>();

/**
 * Finds slirp4netns (on `PATH` unless `slirp4netnsPath` is given), nsenter and
 * ip, once per process; `outbound` also needs the agent to be root.
 */
export function findOutboundTools(slirp4netnsPath?: string): OutboundTools {
  const known = found.get(slirp4netnsPath ?? "");
  if (known !== undefined) return known;
  const slirp4netns = slirp4netnsPath === undefined
    ? findExecutable("slirp4netns")
    : existsSync(slirp4netnsPath)
    ? slirp4netnsPath
    : undefined;
  const nsenter = findExecutable("nsenter");
  const ip = findExecutable("ip");
  let reason: string | undefined;
  if (slirp4netns === undefined) reason = "slirp4netns is not installed (apt-get install slirp4netns)";
  else if (nsenter === undefined) reason = "nsenter (util-linux) is missing";
  else if (ip === undefined) reason = "ip (iproute2) is missing";
  else if (process.getuid?.() !== 0) {
    reason = "it needs the agent to run as root (slirp4netns must enter the sandbox's network namespace)";
  }
  const tools: OutboundTools = reason === undefined ? { usable: true } : { usable: false, reason };
  if (reason === undefined) Object.assign(tools, { slirp4netns, nsenter, ip });
  found.set(slirp4netnsPath ?? "", tools);
  return tools;
}

/** The host's own IPv4 addresses outside `127.0.0.0/8` (those on `lo` included), which the sandbox must not reach. */
export function hostAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) {
      if (address.family === "IPv4" && !address.address.startsWith("127.")) out.add(address.address);
    }
  }
  return [...out];
}

/**
 * The sandbox's `/etc/resolv.conf` when the host's will not do: name servers
 * on the host's loopback, on one of its own addresses, or IPv6 (slirp4netns
 * runs IPv4 only) are replaced by slirp's forwarder. `undefined`: the host's
 * file works as it is.
 */
export function outboundResolvConf(hostFile: string, ownAddresses: readonly string[]): string | undefined {
  let text;
  try {
    text = readFileSync(hostFile, "utf8");
  } catch {
    return `nameserver ${slirpDns}\n`;
  }
  let dropped = false;
  let kept = 0;
  const lines = text.split("\n").filter((line) => {
    const server = /^\s*nameserver\s+(\S+)/.exec(line)?.[1];
    if (server === undefined) return true;
    const usable = /^\d+\.\d+\.\d+\.\d+$/.test(server) && !server.startsWith("127.") &&
      !ownAddresses.includes(server);
    if (usable) kept++;
    else dropped = true;
    return usable;
  });
  if (!dropped && kept > 0) return undefined;
  return [`nameserver ${slirpDns}`, ...lines].join("\n");
}

/** Reads bwrap's info fd until its JSON names the sandbox's pid. */
export function readSandboxPid(info: Readable, jobId: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    const fail = (why: string) => {
      cleanup();
      reject(new PermanentError(`Cannot start job "${jobId}": ${why}`, { code: ExecErrorCode.spawnFailed }));
    };
    const onData = (data: Uint8Array) => {
      text += new TextDecoder().decode(data);
      const pid = /"child-pid"\s*:\s*(\d+)/.exec(text)?.[1];
      if (pid !== undefined) {
        cleanup();
        resolve(Number(pid));
      }
    };
    const onClose = () => fail("the sandbox ended before reporting its pid");
    const timer = setTimeout(() => fail("the sandbox did not report its pid"), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      info.off("data", onData);
      info.off("close", onClose);
    };
    info.on("data", onData);
    info.on("close", onClose);
    info.on("error", () => {});
  });
}

/**
 * Waits until bwrap brought up the loopback of the namespace of `pid` (its
 * local routes appear in `/proc/<pid>/net/fib_trie` once `lo` is up).
 */
async function waitForLoopback(pid: number, jobId: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let trie;
    try {
      trie = readFileSync(`/proc/${pid}/net/fib_trie`, "utf8");
    } catch {
      throw new PermanentError(`Cannot start job "${jobId}": the sandbox ended while it was set up`, {
        code: ExecErrorCode.spawnFailed,
      });
    }
    if (trie.includes("127.0.0.1")) return;
    if (performance.now() > deadline) {
      throw unavailable(jobId, "the sandbox's loopback did not come up in time");
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function unavailable(jobId: string, why: string): PermanentError {
  return new PermanentError(`Cannot connect job "${jobId}" to the network: ${why}`, {
    code: ExecErrorCode.networkUnavailable,
  });
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter((line) => !/^(sent|received) tapfd/.test(line)).at(-1)?.slice(
    0,
    200,
  ) || "no output";
}

/** Exit code of the helper shell without a pid on its stdin. */
const noPid = 96;

// One small shell per sandbox, spawned before the sandbox so that its cost overlaps bwrap's: it
// reads the sandbox's pid from its stdin, sets the routes with nsenter and ip in the background
// (the batch follows the pid on its stdin; a background job's own stdin would be /dev/null, hence
// fd 6), saying "routed" on fd 5, and becomes slirp4netns. fd 3: slirp writes "1" once ready;
// fd 4: its exit fd, which the agent holds open. By default slirp4netns joins the target's user namespace
// first: bwrap's innermost (--disable-userns), in which root has no say over the network
// namespace; its own (joining fails) keeps root's rights.
const helperScript =
  `n=$1 i=$2 s=$3; read -r p || exit ${noPid}; case $p in ''|*[!0-9]*) exit ${noPid};; esac; ` +
  `exec 6<&0; { "$n" --target="$p" --net -- "$i" -batch - <&6 && echo routed >&5 || echo unrouted >&5; } & ` +
  `exec 5>&- 6<&-; ` +
  `exec "$s" --configure --mtu=65520 --disable-host-loopback --enable-sandbox --enable-seccomp ` +
  `--userns-path=/proc/self/ns/user --ready-fd=3 --exit-fd=4 "$p" tap0 </dev/null`;

/** A sandbox's user-mode network, from before the sandbox starts until `stop()`. */
export interface OutboundNetwork {
  /**
   * Connects the sandbox whose pid bwrap reported: once its loopback is up,
   * the routes barring `blocked` (the host's addresses, and networks the
   * agent bars: addresses or IPv4 CIDRs), then slirp4netns.
   * Refuses with `NETWORK_UNAVAILABLE`.
   */
  connect(pid: number, blocked: readonly string[]): Promise<void>;
  /** Ends slirp4netns (or the helper still waiting). */
  stop(): void;
}

/**
 * Starts the helper of one sandbox's `outbound` network, to be connected
 * once the sandbox reports its pid.
 */
export function prepareOutbound(tools: OutboundTools, jobId: string, timeoutMs = 10_000): OutboundNetwork {
  const child: ChildProcess = spawn("/bin/sh", [
    "-c",
    helperScript,
    "troupe-net",
    tools.nsenter as string,
    tools.ip as string,
    tools.slirp4netns as string,
  ], {
    stdio: ["pipe", "ignore", "pipe", "pipe", "pipe", "pipe"],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  let err = "";
  let slirpReady = false;
  let routed = "";
  let outcome: PermanentError | "ready" | undefined;
  let settle: ((error?: PermanentError) => void) | undefined;
  const finish = (result: PermanentError | "ready") => {
    outcome ??= result;
    settle?.(outcome === "ready" ? undefined : outcome);
  };
  child.stdin?.on("error", () => {});
  child.stderr?.on("data", (d) => (err += d));
  (child.stdio[4] as Writable).on("error", () => {});
  const ready = child.stdio[3] as Readable;
  ready.on("error", () => {});
  ready.on("data", () => {
    slirpReady = true;
    if (routed === "routed\n") finish("ready");
  });
  const routes = (child.stdio as unknown[])[5] as Readable;
  routes.on("error", () => {});
  routes.on("data", (d: Uint8Array) => {
    routed += new TextDecoder().decode(d);
    if (routed === "routed\n" && slirpReady) finish("ready");
    else if (routed.startsWith("unrouted")) {
      finish(unavailable(jobId, `cannot bar the host's addresses: ${lastLine(err)}`));
    }
  });
  child.on("error", (error) => finish(unavailable(jobId, `cannot run its helper (${error.message})`)));
  child.on(
    "exit",
    (code) => finish(unavailable(jobId, `slirp4netns ended (exit ${code}): ${lastLine(err)}`)),
  );

  const stop = () => {
    child.stdin?.destroy();
    (child.stdio[4] as Writable).destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  return {
    async connect(pid, blocked) {
      await waitForLoopback(pid, jobId, timeoutMs);
      const batch = blocked.map((a) => `route add unreachable ${a.includes("/") ? a : `${a}/32`}\n`).join("");
      child.stdin?.end(`${pid}\n${batch}`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => finish(unavailable(jobId, "slirp4netns did not get ready in time")),
          timeoutMs,
        );
        settle = (error) => {
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
        if (outcome !== undefined) settle(outcome === "ready" ? undefined : outcome);
      });
      child.stderr?.destroy();
      ready.destroy();
      routes.destroy();
    },
    stop,
  };
}
