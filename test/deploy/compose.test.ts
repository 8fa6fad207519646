/**
 * compose.yaml is for users (no Docker here): this checks it parses, wires the
 * services the README promises, and uses only variables and commands Troupe knows.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { CONFIG_VARIABLES } from "../../actors/config.ts";
import { runCli } from "../support/cli.ts";

const root = new URL("../..", import.meta.url).pathname;

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(`${root}compose.yaml`, "utf8"), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const readme = readFileSync(`${root}README.md`, "utf8");
const troupeServices = Object.entries(compose.services).filter(([, s]) => s.command?.[1] === "main.ts");
const published = (s: Service) => (s.ports ?? []).map((p) => p.split(":")[0]);

describe("compose.yaml", () => {
  it("has NATS with JetStream on a volume, PostgreSQL, and Jaeger with OTLP and its UI", () => {
    const { nats, postgres, jaeger } = compose.services;
    assert.ok(nats?.command?.includes("-js"), "nats runs with -js");
    assert.ok(nats?.volumes?.some((v) => v.endsWith(":/data")) && nats.command?.includes("/data"), "JetStream stores on a volume");
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
      assert.match(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "", /^http:\/\/jaeger:431[78]$/, `${name} OTLP endpoint`);
    }
    const gateway = compose.services.gateway!;
    assert.equal(gateway.environment?.HOST, "0.0.0.0");
    assert.ok(gateway.environment?.TROUPE_API_TOKENS, "a gateway beyond loopback needs auth");
    assert.deepEqual(published(gateway), [gateway.environment?.PORT]);
  });

  it("uses only variables Troupe reads (or the standard OTEL_* ones)", () => {
    for (const [name, service] of troupeServices) {
      for (const key of Object.keys(service.environment ?? {})) {
        assert.ok(CONFIG_VARIABLES.includes(key) || key.startsWith("OTEL_"), `${name}: ${key} is not a Troupe variable`);
      }
    }
  });

  it("runs only commands the CLI has", async () => {
    const help = await runCli(["--help"], {});
    assert.equal(help.code, 0);
    for (const [name, service] of troupeServices) {
      const command = service.command![2]!;
      assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, "m"), `${name} runs "troupe ${command}"`);
    }
  });

  it("matches the README: docker compose up, the API port and Jaeger's UI", () => {
    assert.match(readme, /docker compose up/);
    assert.match(readme, /16686/);
    assert.match(readme, new RegExp(`localhost:${compose.services.gateway!.environment!.PORT}`));
  });
});
