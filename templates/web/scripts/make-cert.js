// Build time only: writes a self-signed TLS certificate and its private key for the demo web service
// (the pipeline's staging stage checks the certificate). Runs in `docker build` (RUN, as root, no
// network), so it uses a pure-JS X.509 library from node_modules and node's own WebCrypto for the
// keys and the signature; the base image has no openssl. The running server does not use it.
//
// Usage: node scripts/make-cert.js [--out DIR] [--cn NAME] [--days N]
//   --out   where tls.pem (certificate, mode 0644) and tls.key (PKCS#8 ECDSA P-256 key, mode 0600,
//           owned by whoever runs this: root in the image) go; default certs
//   --cn    the subject's common name, also a DNS name in subjectAltName; default demo-web
//   --days  validity from now; default 90
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs a Reflect metadata polyfill
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const DAY_MS = 24 * 60 * 60 * 1000;

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'certs' },
    cn: { type: 'string', default: 'demo-web' },
    days: { type: 'string', default: '90' },
  },
  strict: true,
});
const fail = (message) => {
  console.error(`make-cert: error: ${message}`);
  process.exit(1);
};
const days = Number(values.days);
if (!Number.isInteger(days) || days < 1 || days > 825) fail(`--days must be an integer from 1 to 825, got '${values.days}'`);
if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(values.cn)) fail(`--cn must be a host name, got '${values.cn}'`);

x509.cryptoProvider.set(webcrypto);
const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);

// Backdated a minute: a clock slightly behind the builder's still sees it as valid.
const notBefore = new Date(Date.now() - 60_000);
const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
// A positive 16-byte serial (top bit clear), as RFC 5280 asks.
const serial = randomBytes(16);
serial[0] &= 0x7f;

const certificate = await x509.X509CertificateGenerator.createSelfSigned({
  serialNumber: serial.toString('hex'),
  name: `CN=${values.cn}`,
  notBefore,
  notAfter,
  signingAlgorithm: algorithm,
  keys,
  extensions: [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: values.cn },
      { type: 'dns', value: 'web' },
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ],
});
const certPem = certificate.toString('pem') + '\n';
const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') + '\n';

// Check what was made with node's own X.509 parser before writing anything.
const parsed = new X509Certificate(certPem);
if (parsed.subject !== `CN=${values.cn}` || !parsed.checkIssued(parsed) || !parsed.verify(parsed.publicKey) || !parsed.checkPrivateKey(createPrivateKey(keyPem))) {
  fail('the generated certificate does not match its subject or key');
}

const dir = resolve(values.out);
mkdirSync(dir, { recursive: true, mode: 0o755 });
const keyPath = join(dir, 'tls.key');
const certPath = join(dir, 'tls.pem');
// The key is never readable by anyone but its owner: created 0600 (chmod again: a file that
// already existed keeps its mode on write).
writeFileSync(keyPath, keyPem, { mode: 0o600 });
chmodSync(keyPath, 0o600);
writeFileSync(certPath, certPem, { mode: 0o644 });
chmodSync(certPath, 0o644);
chmodSync(dir, 0o755);

console.log(`make-cert: ${certPath}: subject ${parsed.subject}, valid ${parsed.validFrom} to ${parsed.validTo}, SHA-256 ${parsed.fingerprint256}`);
console.log(`make-cert: ${keyPath}: ECDSA P-256 private key (mode 0600)`);
