/**
 * The one list of plugins this build has. Every process imports it at start,
 * so it holds manifests only (cheap: zod, types, schemas); each plugin's
 * implementation and SDK load on the first job of one of its kinds.
 *
 * Adding a plugin: a folder under adapters/ of the shape adapters/plugin.ts
 * describes, and one line here.
 *
 * @module
 */
import type { PluginManifest } from "../../adapters/plugin.ts";
import { noopManifest } from "../../adapters/noop/manifest.ts";
import { execManifest } from "../../adapters/exec-job/manifest.ts";
import { awsIamManifest } from "../../adapters/aws-iam/manifest.ts";
import { awsDiscoveryManifest } from "../../adapters/discovery/aws/manifest.ts";
import { gcpDiscoveryManifest } from "../../adapters/discovery/gcp/manifest.ts";
import { azureDiscoveryManifest } from "../../adapters/discovery/azure/manifest.ts";
import { kubernetesDiscoveryManifest } from "../../adapters/discovery/kubernetes/manifest.ts";
import { ldapManifest } from "../../adapters/ldap/manifest.ts";
import { googleWorkspaceManifest } from "../../adapters/google-workspace/manifest.ts";
import { oktaManifest } from "../../adapters/okta/manifest.ts";
import { authentikManifest } from "../../adapters/authentik/manifest.ts";

/** Every plugin, in the order `troupe --help` and `/status` list them. */
export const PLUGINS: readonly PluginManifest[] = [
  noopManifest,
  execManifest,
  awsIamManifest,
  awsDiscoveryManifest,
  gcpDiscoveryManifest,
  azureDiscoveryManifest,
  kubernetesDiscoveryManifest,
  ldapManifest,
  googleWorkspaceManifest,
  oktaManifest,
  authentikManifest,
];
