import { PiplConfigError } from '../errors/errors.js';

/**
 * JWS `alg` of SM2-signed checkpoints: the SM2 signature of GM/T 0003.2 (GB/T 32918.2) with SM3 and
 * the default user id. JOSE registers no SM2 algorithm, so this is a private-use name; the signature
 * is raw r‖s (64 bytes), like ES256's.
 */
export const SM2_ALG = 'SM2SM3';
/** The default distinguishing identifier of GM/T 0009 (what OpenSSL's `distid` must be set to). */
export const SM2_USER_ID = '1234567812345678';

/** An SM2 key as a JWK: `kty: 'EC'`, `crv: 'SM2'`, base64url coordinates (and `d` when private). */
export interface Sm2Jwk {
  kty: 'EC';
  crv: 'SM2';
  x: string;
  y: string;
  d?: string;
  kid?: string;
  alg?: string;
  use?: string;
}

interface Sm2Library {
  doSignature(
    msg: string,
    privateKey: string,
    options: { hash: true; publicKey: string; userId: string; der?: false },
  ): string;
  doVerifySignature(
    msg: string,
    signature: string,
    publicKey: string,
    options: { hash: true; userId: string; der?: false },
  ): boolean;
  getPublicKeyFromPrivateKey(privateKey: string): string;
  generateKeyPairHex(): { privateKey: string; publicKey: string };
}

let loaded: Promise<Sm2Library> | undefined;

/** Loads the optional `sm-crypto-v2` package, only when an SM2 key is used. */
export function loadSm2(): Promise<Sm2Library> {
  loaded ??= import('sm-crypto-v2').then(
    (module) => (module as unknown as { sm2: Sm2Library }).sm2,
    () => {
      loaded = undefined;
      throw new PiplConfigError(
        'SM2 checkpoints need the optional package sm-crypto-v2: npm install sm-crypto-v2@1',
      );
    },
  );
  return loaded;
}

const hex = (b64url: string) => Buffer.from(b64url, 'base64url').toString('hex').padStart(64, '0');
const b64url = (hexText: string) => Buffer.from(hexText.padStart(64, '0'), 'hex').toString('base64url');

/** Is this JWK an SM2 key? */
export function isSm2Jwk(key: unknown): key is Sm2Jwk {
  return (
    typeof key === 'object' && key !== null && (key as Sm2Jwk).kty === 'EC' && (key as Sm2Jwk).crv === 'SM2'
  );
}

/** Uncompressed public key hex (`04‖x‖y`), as sm-crypto-v2 and OpenSSL write it. */
export function sm2PublicHex(jwk: Sm2Jwk): string {
  return `04${hex(jwk.x)}${hex(jwk.y)}`;
}

/**
 * A new SM2 key pair as JWKs.
 *
 * @example
 * ```ts
 * const { privateJwk, publicJwk } = await generateSm2Jwk('cp-2026');
 * ```
 */
export async function generateSm2Jwk(kid: string): Promise<{ privateJwk: Sm2Jwk; publicJwk: Sm2Jwk }> {
  const sm2 = await loadSm2();
  const { privateKey, publicKey } = sm2.generateKeyPairHex();
  const publicJwk: Sm2Jwk = {
    kty: 'EC',
    crv: 'SM2',
    x: b64url(publicKey.slice(2, 66)),
    y: b64url(publicKey.slice(66, 130)),
    kid,
    alg: SM2_ALG,
  };
  return { privateJwk: { ...publicJwk, d: b64url(privateKey) }, publicJwk: { ...publicJwk, use: 'sig' } };
}

/** Signs `signingInput` (the JWS `header.payload`), returning the base64url raw r‖s signature. */
export async function sm2Sign(signingInput: string, key: Sm2Jwk): Promise<string> {
  if (!key.d) throw new PiplConfigError('the SM2 checkpoint key has no private part (d)');
  const sm2 = await loadSm2();
  const signature = sm2.doSignature(signingInput, hex(key.d), {
    hash: true,
    publicKey: sm2PublicHex(key),
    userId: SM2_USER_ID,
  });
  return Buffer.from(signature, 'hex').toString('base64url');
}

/** Verifies a base64url raw r‖s SM2 signature over `signingInput`. */
export async function sm2Verify(signingInput: string, signature: string, key: Sm2Jwk): Promise<boolean> {
  const raw = Buffer.from(signature, 'base64url');
  if (raw.length !== 64) return false;
  const sm2 = await loadSm2();
  try {
    return sm2.doVerifySignature(signingInput, raw.toString('hex'), sm2PublicHex(key), {
      hash: true,
      userId: SM2_USER_ID,
    });
  } catch {
    return false;
  }
}
