/**
 * Where the Kubernetes discovery provider finds its kubeconfig — the target's
 * `credentials.kubeconfig`, else the injected path (one or a `KUBECONFIG`-style
 * list), else the SDK's default (`KUBECONFIG`) — and how it refuses a missing
 * context or a broken kubeconfig without quoting it. Checked by the bearer
 * token each choice makes the SDK send to the stand-in.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { PermanentError } from "../../../../machines/errors.ts";
import type { DiscoveryTarget } from "../../../../adapters/discovery/provider.ts";
import {
  createKubernetesDiscoveryProvider,
  type KubernetesDiscoveryOptions,
} from "../../../../adapters/discovery/kubernetes/mod.ts";
import { kubeconfigFor, type KubeStandIn, startKubeStandIn } from "./stand-in.ts";
import { sampleCluster } from "./fixtures.ts";

const signal = () => new AbortController().signal;
const rejects = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("expected a rejection");
};

describe("kubernetes discovery: kubeconfig", () => {
  let k8s: KubeStandIn;
  let dir: string;
  const other = "path-token-fedcba9876543210";
  before(async () => {
    k8s = await startKubeStandIn(sampleCluster());
    dir = mkdtempSync(join(tmpdir(), "troupe-k8s-"));
  });
  after(async () => {
    await k8s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    k8s.requests.length = 0;
  });

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }
  /** Plans `target` and reads the namespaces' first page; returns the Authorization header the SDK sent. */
  async function authorizationUsed(target: DiscoveryTarget, options: KubernetesDiscoveryOptions = {}) {
    const [namespaces] = await createKubernetesDiscoveryProvider(options).plan(target, signal());
    assert.equal(namespaces?.name, "namespace");
    await namespaces.fetchPage(undefined, signal()).catch(() => undefined);
    assert.equal(k8s.requests.length, 1);
    return k8s.requests[0]?.authorization;
  }

  it("defaultScope() is the kubeconfig's current context, from the credentials or the path", async () => {
    const provider = createKubernetesDiscoveryProvider({
      kubeconfigPath: file("ctx.yaml", kubeconfigFor(k8s.url, other, ["staging", "prod"])),
    });
    assert.equal(await provider.defaultScope?.(undefined, signal()), "staging");
    const inline = { kubeconfig: kubeconfigFor(k8s.url, k8s.token, ["eu-1", "prod"]) };
    assert.equal(await provider.defaultScope?.(inline, signal()), "eu-1");
    const none = JSON.parse(kubeconfigFor(k8s.url, k8s.token, ["a", "b"])) as Record<string, unknown>;
    delete none["current-context"];
    const error = await rejects(provider.defaultScope!({ kubeconfig: JSON.stringify(none) }, signal()));
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /no current context.*"a", "b"/);
    assert.doesNotMatch(error.message, new RegExp(k8s.token));
  });

  it("credentials.kubeconfig wins over the injected path", async () => {
    const path = file("path.yaml", kubeconfigFor(k8s.url, other));
    const target = {
      scope: "prod",
      org: null,
      credentials: { kubeconfig: kubeconfigFor(k8s.url, k8s.token) },
    };
    assert.equal(await authorizationUsed(target, { kubeconfigPath: path }), `Bearer ${k8s.token}`);
  });

  it("without credentials.kubeconfig, the injected path; a KUBECONFIG-style list is merged", async () => {
    const path = file("path.yaml", kubeconfigFor(k8s.url, other));
    assert.equal(
      await authorizationUsed({ scope: "prod", org: null, credentials: {} }, { kubeconfigPath: path }),
      `Bearer ${other}`,
    );

    k8s.requests.length = 0;
    const first = file(
      "first.yaml",
      JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] }),
    );
    const second = file("second.yaml", kubeconfigFor(k8s.url, k8s.token, ["staging", "prod"]));
    const list = [first, second].join(delimiter);
    assert.equal(
      await authorizationUsed({ scope: "staging", org: null }, { kubeconfigPath: list }),
      `Bearer ${k8s.token}`,
    );
  });

  it("without either, the SDK's default, which reads KUBECONFIG", async () => {
    const path = file("env.yaml", kubeconfigFor(k8s.url, other, ["from-env"]));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = path;
    try {
      assert.equal(await authorizationUsed({ scope: "from-env", org: null }), `Bearer ${other}`);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it("a missing context is permanent and names the context, not the token", async () => {
    const target = {
      scope: "nope",
      org: null,
      credentials: { kubeconfig: kubeconfigFor(k8s.url, k8s.token, ["prod", "dev"]) },
    };
    const error = await rejects(createKubernetesDiscoveryProvider().plan(target, signal()));
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "K8S_CONTEXT_NOT_FOUND");
    assert.equal(
      error.message,
      'Kubernetes context "nope" not found in kubeconfig (contexts: "prod", "dev")',
    );
    assert.ok(!JSON.stringify(error).includes(k8s.token));
    assert.equal(k8s.requests.length, 0);
  });

  it("a kubeconfig that is not YAML is refused without quoting it", async () => {
    const broken = `clusters: [\n  token: ${k8s.token}\n  : : {`;
    const error = await rejects(
      createKubernetesDiscoveryProvider().plan({
        scope: "prod",
        org: null,
        credentials: { kubeconfig: broken },
      }, signal()),
    );
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "K8S_BAD_KUBECONFIG");
    assert.match(error.message, /^Cannot load kubeconfig from credentials\.kubeconfig: /);
    assert.ok(!error.message.includes(k8s.token));
    assert.equal(error.cause, undefined, "no cause that would quote the text");

    const notText = await rejects(
      createKubernetesDiscoveryProvider().plan(
        { scope: "prod", org: null, credentials: { kubeconfig: 42 } },
        signal(),
      ),
    );
    assert.ok(notText instanceof PermanentError);
    assert.equal(notText.message, "Kubernetes credentials.kubeconfig must be kubeconfig YAML text");

    const missing = await rejects(
      createKubernetesDiscoveryProvider({ kubeconfigPath: join(dir, "absent.yaml") }).plan({
        scope: "prod",
        org: null,
      }, signal()),
    );
    assert.ok(missing instanceof PermanentError);
    assert.match(missing.message, /^Cannot load kubeconfig from file ".*absent\.yaml": ENOENT$/);
  });

  it("an http: server without insecure-skip-tls-verify is refused at plan time", async () => {
    const strict = JSON.parse(kubeconfigFor(k8s.url, k8s.token));
    delete strict.clusters[0].cluster["insecure-skip-tls-verify"];
    const error = await rejects(
      createKubernetesDiscoveryProvider().plan(
        { scope: "prod", org: null, credentials: { kubeconfig: JSON.stringify(strict) } },
        signal(),
      ),
    );
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /uses http:, which the SDK allows only with insecure-skip-tls-verify: true/);
  });

  it("refuses a page size that is not a positive integer", () => {
    assert.throws(
      () => createKubernetesDiscoveryProvider({ pageSize: 0 }),
      /pageSize must be a positive integer/,
    );
  });
});
