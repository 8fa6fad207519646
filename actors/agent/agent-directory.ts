/**
 * Which exec agents are alive: follows `<ns>.agent.*.heartbeat` and keeps each
 * agent's last announcement. An agent is alive while its last heartbeat is
 * younger than `staleMs`. Names the agents a job may run on: the one it names,
 * or those carrying every asked label, least busy first.
 *
 * @module
 */
import type { Bus, Subscription } from "../../bus/bus.ts";
import { type AgentInfo, decodeMessage } from "../../bus/agent-protocol.ts";

/** Chooses agents for exec jobs. */
export interface AgentSelector {
  agent?: string | undefined;
  labels?: Record<string, string> | undefined;
}

export class AgentDirectory {
  #bus: Bus;
  #staleMs: number;
  #seen = new Map<string, { info: AgentInfo; at: number }>();
  #subscription: Subscription | undefined;
  #loop: Promise<void> | undefined;

  constructor(bus: Bus, options: { staleMs?: number } = {}) {
    this.#bus = bus;
    this.#staleMs = options.staleMs ?? 7000;
  }

  /** Starts following heartbeats (idempotent). */
  start(): void {
    if (this.#subscription) return;
    const subscription = this.#bus.subscribe(this.#bus.subjects.agentHeartbeats);
    this.#subscription = subscription;
    this.#loop = (async () => {
      for await (const record of subscription) {
        try {
          const info = decodeMessage<AgentInfo>(record.data);
          if (typeof info.name === "string") this.#seen.set(info.name, { info, at: Date.now() });
        } catch {
          // a foreign publisher's bytes: not an agent
        }
      }
    })().catch(() => {});
  }

  /** Live agents, by name. */
  list(): AgentInfo[] {
    const now = Date.now();
    return [...this.#seen.values()].filter((s) => now - s.at < this.#staleMs).map((s) => s.info).sort((
      a,
      b,
    ) => a.name.localeCompare(b.name));
  }

  /** Whether `name` announced itself lately. */
  isAlive(name: string): boolean {
    const seen = this.#seen.get(name);
    return seen !== undefined && Date.now() - seen.at < this.#staleMs;
  }

  /** Names to try for a job: the named agent (alive or not: it answers or it doesn't), or the live ones with every label, least busy first. */
  candidates(selector: AgentSelector): string[] {
    if (selector.agent) return [selector.agent];
    const wanted = Object.entries(selector.labels ?? {});
    return this.list()
      .filter((a) => wanted.every(([k, v]) => a.labels[k] === v))
      .sort((a, b) => a.running - b.running)
      .map((a) => a.name);
  }

  async close(): Promise<void> {
    await this.#subscription?.close();
    await this.#loop;
  }
}
