import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { generateSm2Jwk } from '../audit/sm2.js';
import { UsageError } from './sources.js';

/** `pipl-guard keys generate`: a signing key pair for checkpoints (EdDSA) or consent tokens (ES256). */
export async function generateKeys(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { alg: { type: 'string' }, kid: { type: 'string' } } });
  const alg = values.alg ?? 'EdDSA';
  if (alg !== 'EdDSA' && alg !== 'ES256' && alg !== 'SM2')
    throw new UsageError('--alg is EdDSA, ES256 or SM2');
  const kid = values.kid ?? `pipl-${new Date().toISOString().slice(0, 10)}`;
  if (alg === 'SM2') {
    // SM2 checkpoint keys (GM/T 0003): sign with alg SM2SM3; needs the optional sm-crypto-v2.
    const { privateJwk, publicJwk } = await generateSm2Jwk(kid).catch((error: Error) => {
      throw new UsageError(error.message);
    });
    process.stdout.write(`${JSON.stringify({ privateJwk, jwks: { keys: [publicJwk] } }, null, 2)}\n`);
    return 0;
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  process.stdout.write(`${JSON.stringify({ privateJwk, jwks: { keys: [publicJwk] } }, null, 2)}\n`);
  return 0;
}
