/** The CLI's option parsers: one duration form for every `--timeout`. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { duration, positiveInt } from "../../../actors/cli/options.ts";
import { runCli } from "../../support/cli.ts";
import { CONFIG_VARIABLES } from "../../../actors/process/config.ts";
import { serviceHelpVariables, type ServiceVariableGroup } from "../../../actors/cli/service-help.ts";

describe("cli options", () => {
  it("duration() reads 500ms, 30s, 2m, 1h, 1.5s and 1d as milliseconds", () => {
    assert.deepEqual(
      ["500ms", "30s", "2m", "1h", "1.5s", "1d"].map((v) => duration(v, "--timeout")),
      [500, 30_000, 120_000, 3_600_000, 1500, 86_400_000],
    );
  });

  it("duration() refuses a bare number, naming the flag and suggesting units", () => {
    assert.throws(() => duration("30", "--timeout"), (error: Error & { code?: string }) => {
      assert.equal(error.code, "BAD_USAGE");
      assert.match(
        error.message,
        /^--timeout must be a duration like 500ms, 30s, 2m or 1h, at most 7d, got "30" \(add a unit: "30s" or "30ms"\)$/,
      );
      return true;
    });
  });

  it("duration() refuses zero, negatives, unknown units and more than 7 days", () => {
    for (const value of ["0s", "-5s", "5w", "8d", "abc", "", "1e3ms"]) {
      assert.throws(() => duration(value, "--timeout"), /--timeout must be a duration/, value);
    }
  });

  it("positiveInt() refuses 1.5 and 0", () => {
    assert.equal(positiveInt("3", "--limit"), 3);
    assert.throws(() => positiveInt("1.5", "--limit"), /--limit must be a positive integer, got "1.5"/);
    assert.throws(() => positiveInt("0", "--limit"), /positive integer/);
  });

  it("troupe submit and troupe run take the same --timeout form and refuse a bare number with exit 2", async () => {
    for (
      const args of [["submit", "noop", "{}", "--timeout", "30"], ["run", "--timeout", "30", "--", "true"]]
    ) {
      const { code, stderr } = await runCli(args, { TROUPE_URL: "http://127.0.0.1:9" });
      assert.equal(code, 2, `${args[0]}: ${stderr}`);
      assert.match(stderr, /--timeout must be a duration like 500ms, 30s, 2m or 1h/);
    }
  });

  it("troupe start --help lists the variables it reads, each one the configuration knows", async () => {
    const { code, stdout } = await runCli(["start", "--help"], {});
    assert.equal(code, 0);
    for (
      const name of [
        "NATS_URL",
        "DATABASE_URL",
        "TROUPE_DATA_DIR",
        "PORT",
        "TROUPE_API_TOKENS",
        "TROUPE_AGENT_MAX_PIDS",
        "LOG_LEVEL",
      ]
    ) {
      assert.match(stdout, new RegExp(`^  ${name} `, "m"), name);
    }
    const groups: ServiceVariableGroup[] = [
      "storage",
      "api",
      "worker",
      "agent",
      "discovery",
      "observability",
    ];
    for (const name of serviceHelpVariables(groups)) {
      assert.ok(CONFIG_VARIABLES.includes(name), `${name} is a configuration variable`);
    }
    for (const command of ["worker", "gateway", "scheduler", "agent"]) {
      const help = await runCli([command, "--help"], {});
      assert.match(help.stdout, /^Environment \(validated at start/m, `${command} --help`);
    }
  });
});
