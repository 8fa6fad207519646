/**
 * The CLI's schedule and inventory commands: `troupe schedules
 * [list|show|create|update|delete|run]`, `troupe resources` and
 * `troupe discovery-runs`. They speak the HTTP API's routes, over HTTP or, with
 * NATS_URL, in-process against a local core: one code path either way.
 *
 * @module
 */
import type { Command } from "commander";
import { positiveInt } from "./options.ts";
import type { ApiCall } from "./jobs-client.ts";

/** What the commands need from main.ts. */
export interface InventoryCommandDeps {
  withApi<T>(fn: (call: ApiCall) => Promise<T>): Promise<T>;
  /** Prints a line with its control characters escaped (printable.ts), or a value as JSON. */
  print(value: unknown): void;
  parseJson(text: string | undefined, what: string): unknown;
}

type ScheduleJson = Record<string, unknown> & { id: string };

const enc = encodeURIComponent;

function scheduleLine(s: ScheduleJson): string {
  const state = s.enabled ? String(s.status) : "disabled";
  const error = (s.lastError as { message?: string } | null)?.message;
  return `${s.id.padEnd(24)} ${String(s.kind).padEnd(22)} every ${
    String(s.intervalSeconds).padStart(6)
  }s  next ${s.nextRunAt}  ${state}${error ? `  ${error.slice(0, 120)}` : ""}`;
}

/** Adds the commands to `program`. */
export function addInventoryCommands(program: Command, deps: InventoryCommandDeps): void {
  const { withApi, print, parseJson } = deps;
  const schedules = program.command("schedules").description(
    "Manage schedules: jobs that run every interval (discovery syncs, ...)",
  );

  schedules.command("list", { isDefault: true })
    .description("List schedules")
    .option("--kind <kind>")
    .option("--json", "print JSON")
    .action(async (opts: { kind?: string; json?: boolean }) => {
      await withApi(async (call) => {
        const { schedules: rows } = await call<{ schedules: ScheduleJson[] }>(
          "GET",
          `/schedules${opts.kind ? `?kind=${enc(opts.kind)}` : ""}`,
        );
        if (opts.json) return print(rows);
        if (rows.length === 0) return print("No schedules");
        for (const row of rows) print(scheduleLine(row));
      });
    });

  schedules.command("show")
    .description("Show a schedule")
    .argument("<id>")
    .action(async (id: string) => {
      await withApi(async (call) => print(await call("GET", `/schedules/${enc(id)}`)));
    });

  schedules.command("create")
    .description(
      'Create a schedule: troupe schedules create aws-prod --kind discovery.aws --every 1h --payload \'{"scope":"123456789012"}\'',
    )
    .argument("<id>", "1-64 letters, digits, _ or -")
    .requiredOption("--kind <kind>", "the job kind to run")
    .requiredOption("--every <interval>", "seconds, or a duration like 90s, 15m, 1h, 1d")
    .option("--payload <json>", "the job's payload")
    .option("--org <org>")
    .option("--disabled", "create it disabled")
    .option("--start-at <date>", "first run (ISO 8601); default now")
    .action(
      async (
        id: string,
        opts: {
          kind: string;
          every: string;
          payload?: string;
          org?: string;
          disabled?: boolean;
          startAt?: string;
        },
      ) => {
        const interval = /^\d+$/.test(opts.every) ? Number(opts.every) : opts.every;
        await withApi(async (call) => {
          const row = await call<ScheduleJson>("POST", "/schedules", {
            id,
            kind: opts.kind,
            interval,
            ...(opts.payload !== undefined ? { payload: parseJson(opts.payload, "--payload") } : {}),
            ...(opts.org ? { org: opts.org } : {}),
            ...(opts.disabled ? { enabled: false } : {}),
            ...(opts.startAt ? { nextRunAt: opts.startAt } : {}),
          });
          print(scheduleLine(row));
        });
      },
    );

  schedules.command("update")
    .description("Change a schedule")
    .argument("<id>")
    .option("--kind <kind>")
    .option("--every <interval>")
    .option("--payload <json>")
    .option("--enable", "enable it")
    .option("--disable", "disable it")
    .action(
      async (
        id: string,
        opts: { kind?: string; every?: string; payload?: string; enable?: boolean; disable?: boolean },
      ) => {
        await withApi(async (call) => {
          const row = await call<ScheduleJson>("PATCH", `/schedules/${enc(id)}`, {
            ...(opts.kind ? { kind: opts.kind } : {}),
            ...(opts.every ? { interval: /^\d+$/.test(opts.every) ? Number(opts.every) : opts.every } : {}),
            ...(opts.payload !== undefined ? { payload: parseJson(opts.payload, "--payload") } : {}),
            ...(opts.enable ? { enabled: true } : opts.disable ? { enabled: false } : {}),
          });
          print(scheduleLine(row));
        });
      },
    );

  schedules.command("delete")
    .description("Delete a schedule")
    .argument("<id>")
    .action(async (id: string) => {
      await withApi(async (call) => {
        await call("DELETE", `/schedules/${enc(id)}`);
        print(`${id} deleted`);
      });
    });

  schedules.command("run")
    .description("Make a schedule due now (skipped if its last run is still open)")
    .argument("<id>")
    .action(async (id: string) => {
      await withApi(async (call) =>
        print(scheduleLine(await call<ScheduleJson>("POST", `/schedules/${enc(id)}/run`)))
      );
    });

  program.command("resources")
    .description("List inventory found by discovery (live resources unless --state)")
    .option("--provider <provider>", "aws, gcp, azure or kubernetes")
    .option("--scope <scope>", "account, project, subscription or cluster")
    .option("--type <type>", "e.g. ec2.instance, pod")
    .option("--category <category>", "compute, network, data, service, identity")
    .option("--region <region>")
    .option("--name <text>", "name contains (case-insensitive)")
    .option("--state <state>", "live, deleted or all", "live")
    .option("--limit <n>", "at most", (v) => positiveInt(v, "--limit"), 100)
    .option("--json", "print JSON")
    .action(async (opts: Record<string, string | number | boolean | undefined>) => {
      const query = new URLSearchParams();
      for (const key of ["provider", "scope", "type", "category", "region", "name", "state", "limit"]) {
        if (opts[key] !== undefined) query.set(key, String(opts[key]));
      }
      await withApi(async (call) => {
        const page = await call<{ resources: Record<string, unknown>[]; nextCursor: string | null }>(
          "GET",
          `/resources?${query}`,
        );
        if (opts.json) return print(page);
        if (page.resources.length === 0) return print("No resources");
        for (const r of page.resources) {
          print(
            `${String(r.provider).padEnd(10)} ${String(r.scope).padEnd(14)} ${String(r.type).padEnd(22)} ${
              String(r.region ?? "-").padEnd(14)
            } ${r.name ?? r.externalId}${r.deletedAt ? "  (deleted)" : ""}`,
          );
        }
        if (page.nextCursor) {
          print(`... more: narrow the filters or use --json (nextCursor ${page.nextCursor})`);
        }
      });
    });

  program.command("discovery-runs")
    .description("Recent discovery syncs: status, counts, failed pages")
    .option("--provider <provider>")
    .option("--scope <scope>")
    .option("--limit <n>", "at most", (v) => positiveInt(v, "--limit"), 20)
    .action(async (opts: { provider?: string; scope?: string; limit: number }) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.provider) query.set("provider", opts.provider);
      if (opts.scope) query.set("scope", opts.scope);
      await withApi(async (call) => {
        const { runs } = await call<{ runs: unknown[] }>("GET", `/discovery/runs?${query}`);
        print(runs.length === 0 ? "No discovery runs" : runs);
      });
    });
}
