/**
 * The pure builders: bubblewrap's arguments, the join-then-exec command, the
 * launch plan, and output sequencing and capping.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { describe, it } from "node:test";
import { buildSandboxArgs, sandboxHostname } from "../../../adapters/exec/mod.ts";
import { buildJoinCommand } from "../../../adapters/exec/join-command.ts";
import { planLaunch } from "../../../adapters/exec/launch-plan.ts";
import { OutputCapture } from "../../../adapters/exec/output-capture.ts";
import type { OutputChunk } from "../../../adapters/exec/output-capture.ts";

const dirs = { work: "/j/work", tmp: "/j/tmp", home: "/j/home" };
const base = {
  dirs,
  cwd: "",
  hostname: "troupe-x",
  network: "host" as const,
  uid: 65534,
  gid: 65534,
  env: {},
  systemPaths: [{ kind: "ro-bind", source: "/usr", dest: "/usr" }, {
    kind: "symlink",
    target: "usr/bin",
    dest: "/bin",
  }] as const,
};

describe("buildSandboxArgs()", () => {
  it("unshares user, pid, ipc and uts, maps an unprivileged uid, starts a new session", () => {
    const { args } = buildSandboxArgs(base);
    for (
      const flag of [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
      ]
    ) {
      assert.ok(args.includes(flag), flag);
    }
    assert.equal(args.includes("--unshare-net"), false);
    assert.deepEqual(args.slice(args.indexOf("--uid"), args.indexOf("--uid") + 4), [
      "--uid",
      "65534",
      "--gid",
      "65534",
    ]);
    assert.equal(args[args.indexOf("--hostname") + 1], "troupe-x");
  });

  it("binds system paths read-only and only the job's own dirs writable", () => {
    const { args } = buildSandboxArgs(base);
    const joined = args.join(" ");
    assert.match(joined, /--ro-bind \/usr \/usr --symlink usr\/bin \/bin/);
    assert.match(joined, /--bind \/j\/work \/work --bind \/j\/tmp \/tmp --bind \/j\/home \/home\/troupe/);
    assert.equal(args.filter((a) => a === "--bind").length, 3);
    assert.doesNotMatch(joined, /\/root|--bind \/ /);
  });

  it("denies the network with a namespace of its own, and sets cwd and the whole environment", () => {
    const { args, cwd } = buildSandboxArgs({
      ...base,
      network: "none",
      cwd: "a/b",
      env: { X: "1 2", PWD: "/lie" },
    });
    assert.ok(args.includes("--unshare-net"));
    assert.equal(cwd, "/work/a/b");
    assert.equal(args[args.indexOf("--chdir") + 1], "/work/a/b");
    assert.deepEqual(args.slice(args.indexOf("--clearenv")), [
      "--clearenv",
      "--setenv",
      "X",
      "1 2",
      "--setenv",
      "PWD",
      "/work/a/b",
    ]);
  });

  it("gives outbound a namespace of its own and has bwrap report its pid and wait before the command runs", () => {
    const { args } = buildSandboxArgs({ ...base, network: "outbound", setupFds: { info: 5, block: 6 } });
    assert.ok(args.includes("--unshare-net"));
    assert.deepEqual(args.slice(args.indexOf("--info-fd"), args.indexOf("--info-fd") + 4), [
      "--info-fd",
      "5",
      "--block-fd",
      "6",
    ]);
    assert.equal(buildSandboxArgs({ ...base, network: "none" }).args.includes("--info-fd"), false);
  });

  it("with a disk limit makes each writable directory a tmpfs of that size, binding no host directory, and makes the cwd", () => {
    const { args } = buildSandboxArgs({ ...base, cwd: "a/b", diskBytes: 1048576 });
    const joined = args.join(" ");
    for (const dir of ["/dev/shm", "/work", "/tmp", "/home/troupe"]) {
      assert.ok(joined.includes(`--size 1048576 --tmpfs ${dir}`), dir);
    }
    assert.equal(args.includes("--bind"), false);
    assert.doesNotMatch(joined, /\/j\//);
    assert.ok(
      args.indexOf("--dir") > args.lastIndexOf("--tmpfs") && args[args.indexOf("--dir") + 1] === "/work/a/b",
    );
  });

  it("shows a resolv.conf of the job's when given one", () => {
    const { args } = buildSandboxArgs({ ...base, network: "outbound", resolvConf: "/j/resolv.conf" });
    assert.ok(args.join(" ").includes("--ro-bind /j/resolv.conf /etc/resolv.conf"));
  });

  it("derives a hostname from the job id", () => {
    assert.equal(sandboxHostname("J_42.Build-7-and-more"), "troupe-j-42-build-7");
    assert.equal(sandboxHostname("..."), "troupe-job");
  });
});

describe("buildJoinCommand()", () => {
  function run(
    file: string,
    args: string[],
  ): Promise<{ pid: number; status: number | null; stdout: string; report: string }> {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "ignore", "pipe"] });
    let stdout = "";
    let report = "";
    child.stdout?.on("data", (d) => (stdout += d));
    (child.stdio[3] as Readable).on("data", (d) => (report += d));
    return new Promise((resolve) =>
      child.on("close", (status) => resolve({ pid: child.pid as number, status, stdout, report }))
    );
  }

  it("joins every cgroup, reports on fd 3, then execs argv literally (no injection)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-join-test-"));
    try {
      const procs = [join(dir, "a procs"), join(dir, "b;procs")];
      const argv = ["printf", "%s|", "$(id)", "`id`", "--", '"; rm -rf /'];
      const { file, args } = buildJoinCommand({ procsFiles: procs, argv, closeInheritedFds: true });
      const ran = await run(file, args);
      assert.equal(ran.stdout, '$(id)|`id`|--|"; rm -rf /|');
      assert.equal(ran.report, "joined\n");
      for (const file of procs) assert.equal(readFileSync(file, "utf8"), `${ran.pid}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 125 and names the cgroup it could not join", async () => {
    const { file, args } = buildJoinCommand({
      procsFiles: ["/nonexistent/cgroup.procs"],
      argv: ["true"],
      closeInheritedFds: false,
    });
    const ran = await run(file, args);
    assert.equal(ran.status, 125);
    assert.equal(ran.report, "cannot-join /nonexistent/cgroup.procs\n");
  });
});

describe("planLaunch()", () => {
  const jobRoot = { root: "/j", ...dirs };
  const common = {
    jobId: "j1",
    argv: ["id"],
    env: { SECRET: "s" },
    cwd: "",
    hostCwd: "/j/work",
    network: "host" as const,
    jobRoot,
    procsFiles: ["/cg/cgroup.procs"],
  };
  const sandbox = {
    bwrapPath: "/usr/bin/bwrap",
    dropPrivileges: ["/usr/bin/setpriv", "--reuid", "65534"],
    uid: 65534,
    systemPaths: [],
  };

  it("starts the sandbox from / so that no host path is in its pid 1's environment (PWD)", () => {
    const plan = planLaunch({ ...common, sandbox });
    assert.equal(plan.cwd, "/");
    assert.doesNotMatch(JSON.stringify(plan.env), /\/j/);
  });

  it("keeps bwrap's info and block fds open through the join shell for outbound, and only then", () => {
    const outbound = planLaunch({ ...common, network: "outbound", sandbox });
    assert.equal(outbound.networkSetup, true);
    assert.match(outbound.args[1] ?? "", /case \$n in 0\|1\|2\|3\|4\|5\|6\)/);
    assert.ok((outbound.fd4 ?? "").includes("--info-fd\u00005\u0000--block-fd\u00006\u0000"));
    const none = planLaunch({ ...common, network: "none", sandbox });
    assert.equal(none.networkSetup, false);
    assert.match(none.args[1] ?? "", /case \$n in 0\|1\|2\|3\|4\)/);
  });

  it("keeps the environment and bwrap's arguments off the command line when isolated", () => {
    const plan = planLaunch({
      ...common,
      sandbox: {
        bwrapPath: "/usr/bin/bwrap",
        dropPrivileges: ["/usr/bin/setpriv", "--reuid", "65534"],
        uid: 65534,
        systemPaths: [],
      },
    });
    assert.deepEqual(plan.env, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
    assert.deepEqual(plan.args.slice(plan.args.indexOf("--") + 1), [
      "/usr/bin/setpriv",
      "--reuid",
      "65534",
      "/usr/bin/bwrap",
      "--args",
      "4",
      "--",
      "id",
    ]);
    assert.doesNotMatch(plan.args.join(" "), /SECRET/);
    assert.match(plan.fd4 ?? "", /--setenv\0SECRET\0s\0/);
  });

  it("runs the command itself with its environment when not isolated", () => {
    const plan = planLaunch(common);
    assert.equal(plan.fd4, undefined);
    assert.equal(plan.cwd, "/j/work");
    assert.deepEqual(plan.args.slice(plan.args.indexOf("--") + 1), ["id"]);
    assert.equal(plan.env.SECRET, "s");
    assert.equal(plan.env.HOME, "/j/home");
  });
});

describe("OutputCapture", () => {
  it("numbers chunks across streams, cuts the one crossing the cap, counts what it drops", () => {
    const chunks: OutputChunk[] = [];
    const truncations: unknown[] = [];
    const capture = new OutputCapture({
      maxBytes: 10,
      onOutput: (c) => chunks.push(c),
      onTruncated: (t) => truncations.push(t),
    });
    capture.push("stdout", new Uint8Array(4));
    capture.push("stderr", new Uint8Array(0));
    capture.push("stderr", new Uint8Array(4));
    capture.push("stdout", new Uint8Array(5));
    capture.push("stdout", new Uint8Array(7));
    assert.deepEqual(chunks.map((c) => [c.seq, c.stream, c.data.byteLength]), [[0, "stdout", 4], [
      1,
      "stderr",
      4,
    ], [2, "stdout", 2]]);
    assert.deepEqual(truncations, [{ lastSeq: 2, limitBytes: 10 }]);
    assert.deepEqual(capture.totals, {
      outputBytes: 20,
      forwardedBytes: 10,
      droppedBytes: 10,
      outputTruncated: true,
    });
  });

  it("reports the cap even when it falls between chunks", () => {
    const truncations: unknown[] = [];
    const capture = new OutputCapture({ maxBytes: 4, onTruncated: (t) => truncations.push(t) });
    capture.push("stdout", new Uint8Array(4));
    capture.push("stdout", new Uint8Array(1));
    assert.deepEqual(truncations, [{ lastSeq: 0, limitBytes: 4 }]);
  });
});
