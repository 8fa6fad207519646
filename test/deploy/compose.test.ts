/**
 * compose.yaml is for users (no Docker here): this checks it parses, wires the
 * services the README promises, and uses only variables and commands Troupe knows.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { CONFIG_VARIABLES } from "../../actors/process/config.ts";
import { runCli } from "../support/cli.ts";

const root = new URL("../..", import.meta.url).pathname;

interface Service {
  image?: string;
  build?: string | { context: string; target?: string };
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(`${root}compose.yaml`, "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const readme = readFileSync(`${root}README.md`, "utf8");
/**
 * A command's troupe arguments when it is `node [V8 flags] main.ts <args>` (exec form: node is PID 1 and
 * receives signals itself), else undefined.
 */
function troupeArgs(argv: string[] | undefined): string[] | undefined {
  if (argv?.[0] !== "node") return undefined;
  const at = argv.indexOf("main.ts");
  return at > 0 && argv.slice(1, at).every((a) => a.startsWith("--")) ? argv.slice(at + 1) : undefined;
}
const troupeServices = Object.entries(compose.services).filter(([, s]) =>
  troupeArgs(s.command) !== undefined
);
const published = (s: Service) => (s.ports ?? []).map((p) => p.split(":")[0]);

describe("compose.yaml", () => {
  it("has NATS with JetStream on a volume, PostgreSQL, and Jaeger with OTLP and its UI", () => {
    const { nats, postgres, jaeger } = compose.services;
    assert.ok(nats?.command?.includes("-js"), "nats runs with -js");
    assert.ok(
      nats?.volumes?.some((v) => v.endsWith(":/data")) && nats.command?.includes("/data"),
      "JetStream stores on a volume",
    );
    assert.ok(postgres?.image?.startsWith("postgres"));
    assert.deepEqual(published(jaeger!).sort(), ["16686", "4317", "4318"]);
  });

  it("runs troupe's gateway, worker and agent, wired by env to nats, postgres and jaeger", () => {
    const names = troupeServices.map(([name]) => name);
    for (const role of ["gateway", "worker", "agent"]) assert.ok(names.includes(role), `a ${role} service`);
    for (const [name, service] of troupeServices) {
      const env = service.environment ?? {};
      assert.match(env.NATS_URL ?? "", /^nats:\/\/nats:4222$/, `${name} NATS_URL`);
      assert.match(env.DATABASE_URL ?? "", /@postgres:5432\//, `${name} DATABASE_URL`);
      assert.match(
        env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "",
        /^http:\/\/jaeger:431[78]$/,
        `${name} OTLP endpoint`,
      );
    }
    const gateway = compose.services.gateway!;
    assert.equal(gateway.environment?.HOST, "0.0.0.0");
    assert.ok(gateway.environment?.TROUPE_API_TOKENS, "a gateway beyond loopback needs auth");
    assert.deepEqual(published(gateway), [gateway.environment?.PORT]);
  });

  it("uses only variables Troupe reads (or the standard OTEL_* ones)", () => {
    for (const [name, service] of troupeServices) {
      for (const key of Object.keys(service.environment ?? {})) {
        assert.ok(
          CONFIG_VARIABLES.includes(key) || key.startsWith("OTEL_"),
          `${name}: ${key} is not a Troupe variable`,
        );
      }
    }
  });

  it("runs only commands the CLI has", async () => {
    const help = await runCli(["--help"], {});
    assert.equal(help.code, 0);
    for (const [name, service] of troupeServices) {
      const command = troupeArgs(service.command)![0]!;
      assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, "m"), `${name} runs "troupe ${command}"`);
    }
  });

  it("matches the README: docker compose up, the API port and Jaeger's UI", () => {
    assert.match(readme, /docker compose up/);
    assert.match(readme, /16686/);
    assert.match(readme, new RegExp(`localhost:${compose.services.gateway!.environment!.PORT}`));
  });

  it("builds Troupe's services from the Dockerfile instead of mounting the repository without its dependencies", () => {
    for (const [name, service] of troupeServices) {
      assert.ok(!(service.volumes ?? []).some((v) => v.startsWith(".:")), `${name} mounts no checkout`);
      assert.match(service.image ?? "", /^troupe(-agent)?:local$/, `${name} runs the built image`);
    }
    const targets = new Set(dockerfile.stages);
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build === undefined) continue;
      const target = typeof service.build === "string" ? undefined : service.build.target;
      if (target) assert.ok(targets.has(target), `${name} builds stage "${target}" of the Dockerfile`);
    }
    assert.equal(
      compose.services.agent?.build && typeof compose.services.agent.build === "object" &&
        compose.services.agent.build.target,
      "agent",
    );
  });
});

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's instructions (continuations joined, comments dropped), refusing unknown ones. */
function parseDockerfile(text: string): { instructions: Instruction[]; stages: string[] } {
  const known = new Set([
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "ONBUILD",
  ]);
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
  const instructions = lines.map((line) => {
    const [op = "", ...rest] = line.split(/\s+/);
    if (!known.has(op.toUpperCase())) throw new Error(`Unknown Dockerfile instruction "${op}" in: ${line}`);
    return { op: op.toUpperCase(), args: rest.join(" ") };
  });
  const stages = instructions.filter((i) => i.op === "FROM").map((i) =>
    /\bAS\s+(\S+)/i.exec(i.args)?.[1] ?? ""
  );
  return { instructions, stages };
}

const dockerfile = parseDockerfile(readFileSync(`${root}Dockerfile`, "utf8"));

describe("Dockerfile", () => {
  it("parses, starts from Node 24, installs production dependencies with npm ci from the lockfile", () => {
    const from = dockerfile.instructions.filter((i) => i.op === "FROM");
    assert.match(from[0]?.args ?? "", /^node:24[-.\w]*\s+AS\s+base$/);
    const runs = dockerfile.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    assert.ok(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), "npm ci --omit=dev");
    const copies = dockerfile.instructions.filter((i) => i.op === "COPY").map((i) => i.args.split(/\s+/));
    assert.ok(copies.some((c) => c.includes("package-lock.json")), "the lockfile is copied before npm ci");
    for (const parts of copies) {
      for (const source of parts.slice(0, -1)) {
        assert.ok(existsSync(`${root}${source}`), `COPY ${source} exists`);
      }
    }
  });

  it("copies every source folder main.ts needs, and its commands are CLI commands run by node as PID 1", async () => {
    const copied = new Set(
      dockerfile.instructions.filter((i) => i.op === "COPY").flatMap((i) => i.args.split(/\s+/).slice(0, -1)),
    );
    for (const folder of ["machines", "bus", "adapters", "actors", "main.ts"]) {
      assert.ok(copied.has(folder), `COPY ${folder}`);
    }
    const help = await runCli(["--help"], {});
    for (const cmd of dockerfile.instructions.filter((i) => i.op === "CMD")) {
      const argv = JSON.parse(cmd.args) as string[];
      const args = troupeArgs(argv);
      assert.ok(args, `exec form, node main.ts: node receives signals itself (${cmd.args})`);
      assert.match(help.stdout, new RegExp(`^\\s+${args[0]}\\b`, "m"), `CMD runs "troupe ${args[0]}"`);
    }
    const agentApt = dockerfile.instructions.filter((i) => i.op === "RUN" && /apt-get install/.test(i.args))
      .map((i) => i.args).join(" ");
    assert.match(agentApt, /bubblewrap/);
    assert.match(agentApt, /slirp4netns/);
  });

  it("parseDockerfile() refuses an unknown instruction (the check can fail)", () => {
    assert.throws(
      () => parseDockerfile("FROM node:24\nRUNN echo\n"),
      /Unknown Dockerfile instruction "RUNN"/,
    );
  });
});
