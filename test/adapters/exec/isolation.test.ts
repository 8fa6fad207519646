/**
 * startSandboxedProcess() under real bubblewrap: namespaces, uid, filesystem,
 * network, environment, argv passed literally, and the cgroup joined before
 * the command's first instruction.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { detectCgroupLayout, sandboxHostname, startSandboxedProcess } from "../../../adapters/exec/mod.ts";
import { jobId, makeWorkRoot, requireSandboxHost, runToEnd } from "./sandbox-host.ts";

/**
 * The cgroup of each controller the sandbox limits, from a `/proc/<pid>/cgroup`:
 * under v1 one line per hierarchy (`4:memory:/troupe/j1`, `2:cpu,cpuacct:/...`);
 * under v2 (`v2` true) the single `0::/troupe/j1` line holds them all. On hybrid
 * hosts both kinds appear, and which one the sandbox uses depends on the layout.
 */
function jobCgroupPaths(text: string, v2: boolean): Record<"memory" | "pids" | "cpu", string> {
  const lines = text.split("\n").filter(Boolean).map((line) => {
    const [hierarchy, controllers, ...path] = line.split(":");
    return { hierarchy, controllers: controllers ? controllers.split(",") : [], path: path.join(":") };
  });
  const unified = lines.find((l) => l.hierarchy === "0" && l.controllers.length === 0)?.path;
  const of = (controller: string) => {
    const path = v2 ? unified : lines.find((l) => l.controllers.includes(controller))?.path;
    assert.ok(path !== undefined, `no ${v2 ? "v2" : `v1 ${controller}`} line in ${JSON.stringify(text)}`);
    return path;
  };
  return { memory: of("memory"), pids: of("pids"), cpu: of("cpu") };
}

describe("jobCgroupPaths()", () => {
  it("reads a v2-only /proc/self/cgroup and a v1 or hybrid one", () => {
    const job = "/troupe/cg-1";
    assert.deepEqual(jobCgroupPaths(`0::/system.slice/x${job}\n`, true), {
      memory: `/system.slice/x${job}`,
      pids: `/system.slice/x${job}`,
      cpu: `/system.slice/x${job}`,
    });
    const hybrid = `9:name=systemd:/\n4:memory:${job}\n8:pids:${job}\n2:cpu,cpuacct:${job}\n0::/\n`;
    assert.deepEqual(jobCgroupPaths(hybrid, false), { memory: job, pids: job, cpu: job });
    assert.throws(() => jobCgroupPaths("0::/\n", false), /no v1 memory line/);
  });
});

describe("startSandboxedProcess() isolation", () => {
  const workRoot = makeWorkRoot();
  before(() => requireSandboxHost());
  after(() => workRoot.remove());
  const run = (command: string[], extra: Record<string, unknown> = {}, id = jobId("iso")) =>
    runToEnd({ command, ...extra }, { jobId: id, workRoot: workRoot.path });

  it("runs the command in a pid namespace of its own, seeing only its own processes", async () => {
    const { stdout, result } = await run(["sh", "-c", "echo $$; ls /proc | grep -E '^[0-9]+$'"]);
    assert.equal(result.exitCode, 0);
    const [self, ...pids] = stdout.trim().split("\n").map(Number);
    assert.equal(self, 2, "bwrap's init is pid 1, the command pid 2");
    assert.ok(pids.includes(1));
    assert.ok(pids.every((pid) => pid < 20), `only the sandbox's processes are visible: ${pids.join(" ")}`);
  });

  it("gives the command a hostname of its own and uid and gid 65534, inside and on the host", async () => {
    const id = jobId("host");
    const proc = await startSandboxedProcess(
      { command: ["sh", "-c", "hostname; id -u; id -g; sleep 5"] },
      { jobId: id, workRoot: workRoot.path, onOutput: (c) => (out += new TextDecoder().decode(c.data)) },
    );
    let out = "";
    for (let i = 0; i < 100 && out.split("\n").length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(out.trim().split("\n"), [sandboxHostname(id), "65534", "65534"]);
    for (const pid of proc.pids()) {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      assert.equal(uid, "65534", `host pid ${pid} runs as nobody, not root`);
    }
    await proc.stop({ graceMs: 100 });
  });

  it("shows a root of its own: no /root, no host /home, writable work, tmp and home, read-only /usr and /etc", async () => {
    const script = [
      "ls /root 2>/dev/null && echo root-visible",
      "ls /home",
      'touch /work/w /tmp/t "$HOME/h" && echo writable',
      "touch /usr/x 2>/dev/null || echo usr-readonly",
      "touch /etc/x 2>/dev/null || echo etc-readonly",
      'echo "$PWD $HOME $TMPDIR"',
    ].join("; ");
    const { stdout, result } = await run(["sh", "-c", script]);
    assert.equal(result.exitCode, 0);
    assert.deepEqual(stdout.trim().split("\n"), [
      "troupe",
      "writable",
      "usr-readonly",
      "etc-readonly",
      "/work /home/troupe /tmp",
    ]);
  });

  it("cannot see another job's directory", async () => {
    const other = jobId("other");
    const otherProc = await startSandboxedProcess(
      { command: ["sh", "-c", "echo secret > /work/s; sleep 5"] },
      {
        jobId: other,
        workRoot: workRoot.path,
      },
    );
    const otherWork = join(workRoot.path, other, "work");
    for (let i = 0; i < 100 && !existsSync(join(otherWork, "s")); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const { stdout } = await run([
      "sh",
      "-c",
      `cat ${otherWork}/s 2>&1; ls ${workRoot.path} 2>&1; ls -A /work`,
    ]);
    assert.doesNotMatch(stdout, /^secret/m);
    assert.match(stdout, /No such file or directory/);
    await otherProc.stop({ graceMs: 100 });
  });

  it("reaches a host TCP server on 127.0.0.1 only with host networking, allowed by the agent; not with network on or off", async () => {
    const received: string[] = [];
    const server = createServer((socket) => socket.on("data", (d) => received.push(String(d))));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const connect = ["bash", "-c", `echo hello > /dev/tcp/127.0.0.1/${port}`];
      const host = await runToEnd({ command: connect, network: "host" }, {
        jobId: jobId("iso"),
        workRoot: workRoot.path,
        allowHostNetwork: true,
      });
      assert.equal(host.result.exitCode, 0, host.stderr);
      for (const network of [true, false]) {
        const denied = await run(connect, { network });
        assert.notEqual(denied.result.exitCode, 0);
        assert.match(denied.stderr, /refused|unreachable/i);
      }
      assert.deepEqual(received, ["hello\n"]);
    } finally {
      server.close();
    }
  });

  it("shows the command no host path: not in its pid 1's environment, nor (with a disk limit) in its mount table", async () => {
    const script = "tr '\\0' '\\n' < /proc/1/environ; echo; cat /proc/self/mountinfo";
    for (const network of ["outbound", "none"] as const) {
      const { stdout, result } = await runToEnd({
        command: ["sh", "-c", script],
        network,
        limits: { diskMB: 4 },
      }, {
        jobId: jobId("paths"),
        workRoot: workRoot.path,
      });
      assert.equal(result.exitCode, 0);
      assert.match(stdout, /^PWD=\/$/m, "the sandbox's pid 1 starts in /");
      assert.ok(!stdout.includes(workRoot.path), `no host path of the job's root:\n${stdout}`);
    }
    // Without a disk limit the job's directories are bind mounts, whose host paths the mount table shows.
    const bound = await run(["sh", "-c", script]);
    assert.ok(
      !bound.stdout.split("\n\n")[0]?.includes(workRoot.path),
      "pid 1's environment holds no host path",
    );
  });

  it("passes argv literally, with no shell in between", async () => {
    const argv = ["$(id)", "; rm -rf /", "`whoami`", "a\nb", "'\"", "$HOME"];
    const { stdout } = await run(["printf", "%s\\n", ...argv]);
    assert.equal(stdout, argv.map((a) => `${a}\n`).join(""));
  });

  it("gives the command only its own environment, not the agent's", async () => {
    process.env.TROUPE_EXEC_TEST_SECRET = "agent-secret";
    try {
      const { stdout } = await run(["env"], { env: { GREETING: "hi there", PATH: "/usr/bin:/bin" } });
      const names = stdout.trim().split("\n").map((line) => line.split("=")[0]).sort();
      assert.deepEqual(names, ["GREETING", "HOME", "LANG", "PATH", "PWD", "TMPDIR"]);
      assert.match(stdout, /^GREETING=hi there$/m);
      assert.match(stdout, /^PATH=\/usr\/bin:\/bin$/m);
    } finally {
      delete process.env.TROUPE_EXEC_TEST_SECRET;
    }
  });

  it("feeds stdin and starts in cwd, made inside the work dir when missing", async () => {
    const { stdout } = await run(["sh", "-c", "pwd; cat"], { stdin: "from stdin\n", cwd: "a/./b/" });
    assert.equal(stdout, "/work/a/b\nfrom stdin\n");
  });

  it("puts the command in its cgroups before its first instruction", async () => {
    const id = jobId("cg");
    const { stdout } = await run(["cat", "/proc/self/cgroup"], {
      limits: { memoryMB: 64, pids: 64, cpuPercent: 100 },
    }, id);
    const layout = detectCgroupLayout();
    assert.notEqual(layout.version, "none");
    for (const [controller, path] of Object.entries(jobCgroupPaths(stdout, layout.version === "v2"))) {
      assert.ok(path.endsWith(`/troupe/${id}`), `${controller} cgroup is the job's: ${path}`);
    }
  });

  it("follows a symlink in the work dir only when it stays inside, refusing one that leaves", async () => {
    const id = jobId("link");
    const work = join(workRoot.path, id, "work");
    mkdirSync(join(work, "inside"), { recursive: true });
    writeFileSync(join(work, "inside", "f"), "");
    symlinkSync("/etc", join(work, "out"));
    symlinkSync(join(work, "inside"), join(work, "in"));
    await assert.rejects(run(["pwd"], { cwd: "out" }, id), {
      name: "ValidationError",
      field: "cwd",
      message: /symlink "out"/,
    });
    assert.equal(existsSync(join(workRoot.path, id)), false, "a refused job leaves nothing behind");
    mkdirSync(join(work, "inside"), { recursive: true });
    symlinkSync(join(work, "inside"), join(work, "in"));
    const { stdout } = await run(["pwd"], { cwd: "in" }, id);
    assert.equal(stdout, "/work/inside\n");
  });
});
