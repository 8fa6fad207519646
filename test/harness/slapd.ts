/**
 * Throwaway OpenLDAP servers for tests: Debian's slapd on free loopback ports
 * (ldap:// with StartTLS, and ldaps://), a generated slapd.conf in a temporary
 * directory, an mdb database loaded with slapadd before start (fast: 10,000
 * users in about a second), TLS from a test CA made by openssl.
 *
 * The database has a root DN for the test to write with and a read-only
 * account (`cn=reader,<suffix>`) for the provider to bind as: the root DN is
 * exempt from size limits, a real sync account is not. `sizeLimit` applies to
 * everyone else, and paged searches may read past it (`size.prtotal=unlimited`),
 * as Active Directory's MaxPageSize does.
 *
 * slapd runs as the current user (root in CI, or anyone: everything it opens
 * is in its own directory and ports above 1024).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestPki, type TestPki } from "../support/certificates.ts";
import { exitOf, freePort, waitForPort, waitForPortFree } from "./free-port.ts";

/** A running slapd. */
export interface SlapdServer {
  /** `ldap://127.0.0.1:<port>` (StartTLS available). */
  url: string;
  /** `ldaps://127.0.0.1:<port>`. */
  ldapsUrl: string;
  port: number;
  ldapsPort: number;
  suffix: string;
  rootDN: string;
  rootPassword: string;
  /** The read-only account. */
  readerDN: string;
  readerPassword: string;
  /** The CA the server's certificate chains to (PEM). */
  ca: string;
  pki: TestPki;
  dir: string;
  /** Stops slapd and removes its directory. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts slapd again on the same ports and database. */
  restart(): Promise<void>;
}

/** Options of {@link startSlapd}. */
export interface SlapdOptions {
  /** The database suffix. Default `dc=example,dc=org`. */
  suffix?: string;
  /** LDIF loaded with slapadd before start; must include the suffix entry (see test/support/ldif.ts). */
  ldif?: string;
  /** Entries a search may return (paged searches excepted). Default 500. */
  sizeLimit?: number;
}

const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";

function ensureInstalled(): void {
  if (existsSync(SLAPD) && existsSync(SLAPADD)) return;
  throw new Error(
    "slapd is not installed: install the Debian packages slapd and ldap-utils (apt-get install slapd ldap-utils)",
  );
}

const SCHEMAS = ["core", "cosine", "inetorgperson", "nis"];

function config(dir: string, pki: TestPki, suffix: string, sizeLimit: number): string {
  const rootDN = `cn=admin,${suffix}`;
  const readerDN = `cn=reader,${suffix}`;
  return [
    ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    // ppolicy defines pwdAccountLockedTime, the locked-account flag the provider reads.
    "moduleload ppolicy",
    `pidfile ${join(dir, "slapd.pid")}`,
    `argsfile ${join(dir, "slapd.args")}`,
    `TLSCACertificateFile ${pki.ca.certFile}`,
    `TLSCertificateFile ${pki.server.certFile}`,
    `TLSCertificateKeyFile ${pki.server.keyFile}`,
    `sizelimit size.soft=${sizeLimit} size.hard=${sizeLimit} size.prtotal=unlimited`,
    "database mdb",
    `suffix "${suffix}"`,
    `rootdn "${rootDN}"`,
    "rootpw secret",
    `directory ${join(dir, "db")}`,
    "maxsize 1073741824",
    "index objectClass eq",
    "index entryUUID eq",
    "index uid,cn,mail eq",
    "index member,uniqueMember,memberUid eq",
    "access to attrs=userPassword by anonymous auth by * none",
    `access to * by dn.exact="${readerDN}" read by * none`,
    "",
  ].join("\n");
}

/** The LDIF of the suffix entry and the reader account, to start an LDIF with. */
export function baseLdif(suffix = "dc=example,dc=org", readerPassword = "reader-secret-0"): string {
  const dc = /^dc=([^,]+)/i.exec(suffix)?.[1] ?? "example";
  return [
    `dn: ${suffix}`,
    "objectClass: dcObject",
    "objectClass: organization",
    `o: ${dc}`,
    `dc: ${dc}`,
    "",
    `dn: cn=reader,${suffix}`,
    "objectClass: organizationalRole",
    "objectClass: simpleSecurityObject",
    "cn: reader",
    `userPassword: ${readerPassword}`,
    "",
    "",
  ].join("\n");
}

/** Starts slapd on two free loopback ports with a fresh database loaded from `options.ldif`. */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdServer> {
  ensureInstalled();
  const suffix = options.suffix ?? "dc=example,dc=org";
  const dir = mkdtempSync(join(tmpdir(), "troupe-slapd-"));
  const pki = createTestPki();
  mkdirSync(join(dir, "db"));
  const conf = join(dir, "slapd.conf");
  writeFileSync(conf, config(dir, pki, suffix, options.sizeLimit ?? 500));
  const ldif = join(dir, "seed.ldif");
  writeFileSync(ldif, options.ldif ?? baseLdif(suffix));
  // -q: no consistency checks, the fast bulk load.
  const add = spawnSync(SLAPADD, ["-q", "-f", conf, "-l", ldif], { encoding: "utf8" });
  if (add.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    pki.cleanup();
    throw new Error(`slapadd failed: ${add.stderr || add.stdout}`);
  }
  rmSync(ldif);
  const [port, ldapsPort] = [await freePort(), await freePort()];
  let child: ChildProcess | undefined;
  let log = "";
  const launch = async () => {
    log = "";
    // -d 0: stay in the foreground (the child is slapd itself) and log nothing but errors.
    child = spawn(SLAPD, [
      "-d",
      "0",
      "-f",
      conf,
      "-h",
      `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${ldapsPort}/`,
    ], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (d) => (log = (log + d).slice(-4000)));
    const exited = exitOf(child).then(() => {
      throw new Error(`slapd exited at start: ${log}`);
    });
    await Promise.race([Promise.all([waitForPort(port), waitForPort(ldapsPort)]), exited]);
    exited.catch(() => {});
  };
  await launch();
  const server: SlapdServer = {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    port,
    ldapsPort,
    suffix,
    rootDN: `cn=admin,${suffix}`,
    rootPassword: "secret",
    readerDN: `cn=reader,${suffix}`,
    readerPassword: "reader-secret-0",
    ca: pki.ca.cert,
    pki,
    dir,
    async kill(signal = "SIGKILL") {
      if (!child) return;
      const running = child;
      child = undefined;
      running.kill(signal);
      await exitOf(running);
      await Promise.all([waitForPortFree(port), waitForPortFree(ldapsPort)]);
    },
    async stop() {
      await server.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
      pki.cleanup();
    },
    async restart() {
      await server.kill("SIGTERM");
      await launch();
    },
  };
  return server;
}
