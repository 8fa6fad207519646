/**
 * The `exec` plugin's manifest: a command on an exec agent. Offered where
 * agents are reachable (the `agentLink` port).
 *
 * @module
 */
import type { JobKind } from "../../machines/job-kind.ts";
import { type PluginManifest, PortName } from "../plugin.ts";
import type { AgentLink } from "./exec-kind.ts";
import { EXEC_KIND, execPayloadSchema } from "./schema.ts";

/** `exec`. */
export const execManifest: PluginManifest = {
  name: "exec-job",
  description: "Runs commands on exec agents, sandboxed and limited",
  kinds: [{
    ...EXEC_KIND,
    schema: execPayloadSchema,
    requires: [PortName.agentLink],
    async load(context) {
      const { createExecKind } = await import("./exec-kind.ts");
      return createExecKind({ link: context.ports[PortName.agentLink] as AgentLink }) as unknown as JobKind;
    },
  }],
};
