import { createHash } from 'node:crypto';
import {
  CompactSign,
  type CryptoKey,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWK,
  type KeyObject,
} from 'jose';
import { z } from 'zod';
import { PiplConfigError } from '../errors/errors.js';
import { isSm2Jwk, SM2_ALG, sm2Sign, sm2Verify } from './sm2.js';

/** `typ` of a checkpoint JWS. */
export const CHECKPOINT_TYPE = 'pipl-audit-checkpoint+jws';

/**
 * A signed statement "chain X had N records ending in hash H at time T", modelled on CloudTrail
 * digest files and Certificate Transparency signed tree heads. Because each record's hash covers
 * the one before, `lastHash` commits to the whole chain up to `lastSeq`; `prevCheckpoint` chains
 * checkpoints so one cannot be dropped unnoticed.
 */
export interface CheckpointPayload {
  type: 'pipl-audit-checkpoint';
  /** Chain name. No file paths: archives must stay verifiable after they are moved. */
  chain: string;
  /** Number of records covered (lastSeq + 1). */
  size: number;
  lastSeq: number;
  lastHash: string;
  /** SHA-256 (hex) of the previous checkpoint's JWS text, or null for the first. */
  prevCheckpoint: string | null;
  /** Time range of the records covered since the previous checkpoint (RFC 3339). */
  firstTime: string | null;
  lastTime: string | null;
  issuedAt: string;
  /** Why it was issued. */
  trigger: 'records' | 'interval' | 'close' | 'rotation' | 'start' | 'fork';
  /**
   * Fork marker (trigger `fork`): records `fromSeq..toSeq` of this chain were stored by someone
   * other than its writer (who holds the signing key). `lastSeq`/`lastHash` are the writer's own
   * last record before them; `toHash` pins the last foreign one, after which the writer carried on.
   */
  fork?: { fromSeq: number; toSeq: number; toHash: string };
}

const checkpointPayloadSchema = z.object({
  type: z.literal('pipl-audit-checkpoint'),
  chain: z.string(),
  size: z.number().int().nonnegative(),
  lastSeq: z.number().int().min(-1),
  lastHash: z.string(),
  prevCheckpoint: z.string().nullable(),
  firstTime: z.string().nullable(),
  lastTime: z.string().nullable(),
  issuedAt: z.string(),
  trigger: z.enum(['records', 'interval', 'close', 'rotation', 'start', 'fork']),
  fork: z
    .object({
      fromSeq: z.number().int().nonnegative(),
      toSeq: z.number().int().nonnegative(),
      toHash: z.string(),
    })
    .optional(),
});

export interface CheckpointSigner {
  /** Private key: Ed25519 (default alg EdDSA), P-256 (ES256), or an SM2 JWK (`SM2SM3`, needs sm-crypto-v2). */
  key: KeyObject | CryptoKey | JWK;
  alg?: 'EdDSA' | 'Ed25519' | 'ES256' | typeof SM2_ALG;
  /** Key id printed in verification reports; required so keys can rotate. */
  kid: string;
}

/** Signs a checkpoint payload as a compact JWS. */
export async function signCheckpoint(payload: CheckpointPayload, signer: CheckpointSigner): Promise<string> {
  if (signer.alg === SM2_ALG) {
    if (!isSm2Jwk(signer.key)) throw new PiplConfigError('alg SM2SM3 needs an SM2 JWK (kty EC, crv SM2)');
    const header = { alg: SM2_ALG, kid: signer.kid, typ: CHECKPOINT_TYPE };
    const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
    return `${input}.${await sm2Sign(input, signer.key)}`;
  }
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: signer.alg ?? 'EdDSA', kid: signer.kid, typ: CHECKPOINT_TYPE })
    .sign(signer.key as CryptoKey);
}

/** SHA-256 hex of a checkpoint's JWS text: what the next checkpoint's `prevCheckpoint` holds. */
export function checkpointDigest(jws: string): string {
  return createHash('sha256').update(jws).digest('hex');
}

export type CheckpointCheck =
  | { ok: true; payload: CheckpointPayload; kid: string }
  | {
      ok: false;
      kid: string | undefined;
      reason: 'signature' | 'unknown_key' | 'malformed';
      message: string;
    };

/**
 * Verifies one checkpoint's signature against a key set (public JWKs). Accepts `EdDSA`, `Ed25519`
 * (RFC 9864) and `ES256`; nothing else.
 */
export async function verifyCheckpoint(jws: string, keys: JSONWebKeySet): Promise<CheckpointCheck> {
  let kid: string | undefined;
  let alg: string | undefined;
  try {
    ({ kid, alg } = decodeProtectedHeader(jws));
  } catch {
    return { ok: false, kid, reason: 'malformed', message: 'not a compact JWS' };
  }
  if (alg === SM2_ALG) return verifySm2Checkpoint(jws, keys, kid);
  try {
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(keys), {
      algorithms: ['EdDSA', 'Ed25519', 'ES256'],
    });
    if (protectedHeader.typ !== CHECKPOINT_TYPE) {
      return {
        ok: false,
        kid,
        reason: 'malformed',
        message: `unexpected typ ${String(protectedHeader.typ)}`,
      };
    }
    const parsed = checkpointPayloadSchema.safeParse(JSON.parse(new TextDecoder().decode(payload)));
    if (!parsed.success)
      return { ok: false, kid, reason: 'malformed', message: 'payload does not match the schema' };
    return { ok: true, payload: parsed.data, kid: kid ?? '' };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_JWKS_NO_MATCHING_KEY')
      return { ok: false, kid, reason: 'unknown_key', message: 'no key with this kid' };
    return { ok: false, kid, reason: 'signature', message: 'signature verification failed' };
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** SM2 checkpoints: JOSE libraries have no SM2, so the compact JWS is checked here (RFC 7515 §5.2). */
async function verifySm2Checkpoint(
  jws: string,
  keys: JSONWebKeySet,
  kid: string | undefined,
): Promise<CheckpointCheck> {
  const [header, body, signature] = jws.split('.') as [string, string, string];
  const key = keys.keys.find((k) => isSm2Jwk(k) && k.kid === kid);
  if (!key || !isSm2Jwk(key))
    return { ok: false, kid, reason: 'unknown_key', message: 'no key with this kid' };
  if (!(await sm2Verify(`${header}.${body}`, signature, key)))
    return { ok: false, kid, reason: 'signature', message: 'signature verification failed' };
  let parsed: ReturnType<typeof checkpointPayloadSchema.safeParse>;
  try {
    const typ = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { typ?: unknown }).typ;
    if (typ !== CHECKPOINT_TYPE)
      return { ok: false, kid, reason: 'malformed', message: `unexpected typ ${String(typ)}` };
    parsed = checkpointPayloadSchema.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString()));
  } catch {
    return { ok: false, kid, reason: 'malformed', message: 'payload is not JSON' };
  }
  if (!parsed.success)
    return { ok: false, kid, reason: 'malformed', message: 'payload does not match the schema' };
  return { ok: true, payload: parsed.data, kid: kid ?? '' };
}
