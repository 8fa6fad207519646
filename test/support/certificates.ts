/**
 * Real X.509 certificates for TLS tests, made with the openssl CLI in a temp
 * directory: a CA, a server certificate for 127.0.0.1, client certificates with
 * chosen OUs, and a foreign CA with its own client.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A key pair and its certificate (PEM), with their file paths. */
export interface Issued {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** A test PKI. */
export interface TestPki {
  dir: string;
  ca: Issued;
  server: Issued;
  /** A client certificate of this CA with `subject` (e.g. "/CN=alice/OU=admin"). */
  client(name: string, subject: string, options?: { days?: number }): Issued;
  /** A client certificate of a different CA. */
  foreignClient(name: string, subject: string): Issued;
  cleanup(): void;
}

const ssl = (dir: string, args: string[]) =>
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

function selfSigned(dir: string, name: string, subject: string): Issued {
  ssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-subj",
    subject,
    "-days",
    "2",
  ]);
  return read(dir, name);
}

function read(dir: string, name: string): Issued {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
}

function issue(dir: string, ca: string, name: string, subject: string, extensions: string, days = 2): Issued {
  ssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  ssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    String(days),
    "-extfile",
    `${name}.ext`,
  ]);
  return read(dir, name);
}

/** Makes the CA and the server certificate. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "troupe-pki-"));
  const ca = selfSigned(dir, "ca", "/CN=Troupe Test CA");
  const server = issue(
    dir,
    "ca",
    "server",
    "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  let foreign = false;
  return {
    dir,
    ca,
    server,
    client: (name, subject, options = {}) =>
      issue(dir, "ca", name, subject, "extendedKeyUsage=clientAuth\n", options.days),
    foreignClient(name, subject) {
      if (!foreign) selfSigned(dir, "foreign-ca", "/CN=Foreign CA");
      foreign = true;
      return issue(dir, "foreign-ca", name, subject, "extendedKeyUsage=clientAuth\n");
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
