/**
 * The sandbox's network modes under real bubblewrap and slirp4netns: from
 * inside a command, the host's loopback services (a TCP listener standing in
 * for the API, the test harness's real NATS and PostgreSQL) and the host's own
 * addresses are out of reach in `outbound` (the default) and `none`; an
 * address outside (a network namespace of the test's, behind a veth pair) is
 * reachable in `outbound` only; `host` only where the agent allows it. Each
 * probe is also run where it must succeed, so a probe that cannot connect at
 * all would fail the tests.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { hostAddresses, outboundResolvConf, slirpDns } from "../../../adapters/exec/outbound-network.ts";
import type { CommandSpecInput, SandboxOptions } from "../../../adapters/exec/mod.ts";
import { jobId, makeWorkRoot, requireSandboxHost, runToEnd } from "./sandbox-host.ts";

/** Tries each `name host port` target with bash's /dev/tcp; prints `reached NAME` or `blocked NAME`. */
const probeScript = `for t in "$@"; do read -r name host port <<< "$t"; ` +
  `if timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then echo "reached $name"; else echo "blocked $name"; fi; done`;

function urlTarget(name: string, variable: string): string {
  const value = process.env[variable];
  assert.ok(
    value,
    `${variable} is unset: run this file through test/run.ts, which starts NATS and PostgreSQL`,
  );
  const url = new URL(value);
  return `${name} ${url.hostname} ${url.port}`;
}

function listen(host: string): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.end();
  });
  return new Promise((resolve) =>
    server.listen(
      0,
      host,
      () => resolve({ server, port: (server.address() as AddressInfo).port, connections: () => count }),
    )
  );
}

function ip(...args: string[]): void {
  const ran = spawnSync("ip", args, { encoding: "utf8" });
  assert.equal(ran.status, 0, `ip ${args.join(" ")}: ${ran.stderr}`);
}

/**
 * A TCP server answering `outside-ok` in a network namespace of its own (`unshare --net`, no
 * /run/netns mount), reached from the host through a veth pair.
 */
async function startOutside(): Promise<{ address: string; port: number; stop: () => void }> {
  const n = process.pid % 250;
  const hostSide = `tv${process.pid}a`;
  const nsSide = `tv${process.pid}b`;
  const address = `198.18.${n}.2`;
  const port = 18_080;
  const dir = mkdtempSync(join(tmpdir(), "troupe-outside-"));
  let server: ChildProcess | undefined;
  const stop = () => {
    server?.kill("SIGKILL");
    spawnSync("ip", ["link", "del", hostSide]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const script = join(dir, "server.mjs");
    writeFileSync(
      script,
      `import { createServer } from "node:net";\n` +
        `createServer((s) => s.end("outside-ok\\n")).listen(${port}, "0.0.0.0", () => console.log("listening"));\n`,
    );
    const deno = "Deno" in globalThis;
    server = spawn("unshare", ["--net", "--", process.execPath, ...(deno ? ["run", "-A"] : []), script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const started = server;
    await new Promise<void>((resolve, reject) => {
      started.stdout?.on("data", (d) => String(d).includes("listening") && resolve());
      started.on("exit", (code) => reject(new Error(`The outside server ended (exit ${code})`)));
    });
    const pid = String(started.pid);
    ip("link", "add", hostSide, "type", "veth", "peer", "name", nsSide);
    ip("link", "set", nsSide, "netns", pid);
    ip("addr", "add", `198.18.${n}.1/30`, "dev", hostSide);
    ip("link", "set", hostSide, "up");
    for (const args of [["addr", "add", `${address}/30`, "dev", nsSide], ["link", "set", nsSide, "up"]]) {
      const ran = spawnSync("nsenter", [`--target=${pid}`, "--net", "--", "ip", ...args], {
        encoding: "utf8",
      });
      assert.equal(ran.status, 0, `ip ${args.join(" ")} in the outside namespace: ${ran.stderr}`);
    }
    return { address, port, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

describe("sandbox network modes", () => {
  const workRoot = makeWorkRoot();
  let api: Awaited<ReturnType<typeof listen>>;
  let anyAddress: Awaited<ReturnType<typeof listen>>;
  let outside: Awaited<ReturnType<typeof startOutside>>;
  before(async () => {
    await requireSandboxHost();
    api = await listen("127.0.0.1");
    anyAddress = await listen("0.0.0.0");
    outside = await startOutside();
  });
  after(() => {
    api?.server.close();
    anyAddress?.server.close();
    outside?.stop();
    workRoot.remove();
  });

  const run = (
    spec: Omit<CommandSpecInput, "command"> & { command: string[] },
    options: Partial<SandboxOptions> = {},
  ) => runToEnd(spec, { jobId: jobId("net"), workRoot: workRoot.path, ...options });
  const probe = (
    targets: string[],
    network?: CommandSpecInput["network"],
    options: Partial<SandboxOptions> = {},
  ) =>
    run({
      command: ["bash", "-c", probeScript, "probe", ...targets],
      ...(network === undefined ? {} : { network }),
    }, options);
  const loopbackServices = () => [
    `api 127.0.0.1 ${api.port}`,
    urlTarget("nats", "TROUPE_TEST_NATS_URL"),
    urlTarget("postgres", "TROUPE_TEST_PG_URL"),
  ];

  it("outbound, the default, reaches none of the host's loopback services (API, NATS, PostgreSQL), nor through slirp's gateway", async () => {
    const before = api.connections();
    const targets = [
      ...loopbackServices(),
      `gateway-api 10.0.2.2 ${api.port}`,
      `gateway-nats 10.0.2.2 ${new URL(process.env.TROUPE_TEST_NATS_URL ?? "").port}`,
    ];
    const { stdout, result } = await probe(targets);
    assert.equal(result.network, "outbound");
    assert.deepEqual(stdout.trim().split("\n"), [
      "blocked api",
      "blocked nats",
      "blocked postgres",
      "blocked gateway-api",
      "blocked gateway-nats",
    ]);
    assert.equal(api.connections(), before, "the API stand-in saw no connection");
  });

  it("host networking reaches the host's loopback services, and only on an agent that allows it", async () => {
    const before = api.connections();
    const { stdout, result } = await probe(loopbackServices(), "host", { allowHostNetwork: true });
    assert.equal(result.network, "host");
    assert.deepEqual(stdout.trim().split("\n"), ["reached api", "reached nats", "reached postgres"]);
    assert.ok(api.connections() > before);
    await assert.rejects(probe(loopbackServices(), "host"), {
      name: "PermanentError",
      code: "NETWORK_UNAVAILABLE",
      message: /asks for host networking, which this agent does not allow: .*--host-network/,
    });
  });

  it("outbound reaches none of the host's own addresses (a listener on 0.0.0.0), which host networking does", async () => {
    const addresses = hostAddresses();
    assert.ok(
      addresses.includes(`198.18.${process.pid % 250}.1`),
      `the veth address is one of the host's: ${addresses.join(" ")}`,
    );
    const targets = addresses.map((a) => `${a} ${a} ${anyAddress.port}`);
    const before = anyAddress.connections();
    const outbound = await probe(targets);
    assert.deepEqual(outbound.stdout.trim().split("\n"), addresses.map((a) => `blocked ${a}`));
    assert.equal(anyAddress.connections(), before);
    const host = await probe(targets, "host", { allowHostNetwork: true });
    assert.deepEqual(host.stdout.trim().split("\n"), addresses.map((a) => `reached ${a}`));
  });

  it("outbound reaches an address outside through the host's routing and gets its answer; none does not", async () => {
    const read = ["bash", "-c", `exec 3<>/dev/tcp/${outside.address}/${outside.port} && cat <&3`];
    const outbound = await run({ command: read });
    assert.equal(outbound.result.exitCode, 0, outbound.stderr);
    assert.equal(outbound.stdout, "outside-ok\n");
    const none = await run({ command: read, network: "none" });
    assert.notEqual(none.result.exitCode, 0);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /unreachable/i);
  });

  it("outbound reaches no network the agent bars (a control plane elsewhere, cloud metadata), and refuses a bad entry", async () => {
    const read = ["bash", "-c", `exec 3<>/dev/tcp/${outside.address}/${outside.port} && cat <&3`];
    const barred = await run({ command: read }, {
      blockedNetworks: [`${outside.address.replace(/\.\d+$/, ".0")}/30`, "169.254.169.254"],
    });
    assert.notEqual(barred.result.exitCode, 0);
    assert.equal(barred.stdout, "");
    assert.match(barred.stderr, /No route to host/);
    await assert.rejects(run({ command: ["true"] }, { blockedNetworks: ["10.0.0.0/8\nroute flush all"] }), {
      code: "NETWORK_UNAVAILABLE",
      message: /^Barred network .* is not an IPv4 address or CIDR$/,
    });
  });

  it("none (and network false) has only its own loopback: no other interface, nothing outside or on the host", async () => {
    const targets = [`outside ${outside.address} ${outside.port}`, ...loopbackServices()];
    for (const network of ["none", false] as const) {
      const links = await run({ command: ["ip", "-o", "link"], network });
      assert.deepEqual(links.stdout.trim().split("\n").map((line) => line.split(":")[1]?.trim()), ["lo"]);
      const { stdout, result } = await probe(targets, network);
      assert.equal(result.network, "none");
      assert.deepEqual(stdout.trim().split("\n"), [
        "blocked outside",
        "blocked api",
        "blocked nats",
        "blocked postgres",
      ]);
    }
  });

  it("outbound has its own loopback and tap0 (10.0.2.100) and routes every host address nowhere", async () => {
    const { stdout } = await run({ command: ["bash", "-c", "ip -o -4 addr; ip route"] });
    assert.match(stdout, /\blo\b.*127\.0\.0\.1/);
    assert.match(stdout, /\btap0\b.*10\.0\.2\.100/);
    assert.match(stdout, /^default via 10\.0\.2\.2 dev tap0/m);
    for (const address of hostAddresses()) {
      assert.match(stdout, new RegExp(`^unreachable ${address.replaceAll(".", "\\.")}\\b`, "m"));
    }
  });

  it("outbound is refused with a clear message where slirp4netns is missing, and nothing is left behind", async () => {
    const id = jobId("noslirp");
    await assert.rejects(
      runToEnd({ command: ["true"] }, {
        jobId: id,
        workRoot: workRoot.path,
        slirp4netnsPath: "/nonexistent/slirp4netns",
      }),
      {
        code: "NETWORK_UNAVAILABLE",
        message:
          /needs outbound network.*slirp4netns is not installed \(apt-get install slirp4netns\); or run it with network "none"/,
      },
    );
    const none = await runToEnd({ command: ["true"], network: "none" }, {
      jobId: id,
      workRoot: workRoot.path,
      slirp4netnsPath: "/nonexistent/slirp4netns",
    });
    assert.equal(none.result.exitCode, 0);
  });

  it("a command without a sandbox may not ask for a network it would not get", async () => {
    await assert.rejects(run({ command: ["true"], network: "none" }, { isolation: false }), {
      code: "NETWORK_UNAVAILABLE",
      message: /--no-isolation/,
    });
    const { result } = await run({ command: ["true"] }, { isolation: false });
    assert.equal(result.network, "host");
  });
});

describe("outboundResolvConf()", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-resolv-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (text: string) => {
    const path = join(dir, `r${Math.random()}`);
    writeFileSync(path, text);
    return path;
  };

  it("keeps a host file whose name servers the sandbox can reach", () => {
    assert.equal(
      outboundResolvConf(file("search example.org\nnameserver 10.255.255.53\n"), ["192.0.2.2"]),
      undefined,
    );
  });

  it("puts slirp's forwarder first in place of a loopback, own-address or IPv6 name server", () => {
    const text = outboundResolvConf(
      file("nameserver 127.0.0.53\nnameserver 192.0.2.2\nnameserver ::1\noptions edns0\n"),
      ["192.0.2.2"],
    );
    assert.equal(text, `nameserver ${slirpDns}\noptions edns0\n`);
    assert.equal(outboundResolvConf(join(dir, "missing"), []), `nameserver ${slirpDns}\n`);
  });
});
