// Test TLS material, made with the system openssl.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** A self-signed certificate for localhost and 127.0.0.1 in `dir` (cert.pem, key.pem). */
export function makeCert(dir: string): { cert: string; key: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}
