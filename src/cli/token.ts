import { parseArgs } from 'node:util';
import { decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { issueConsentToken } from '../consent/issue.js';
import { ALLOWED_ALGORITHMS, type ConsentAlgorithm } from '../consent/verify.js';
import { PiplConfigError } from '../errors/errors.js';
import { parseConsentFile } from './consent-file.js';
import { readJson } from './files.js';
import { UsageError } from './sources.js';

/**
 * `pipl-guard token issue --key private.jwk --consent consent.json`: a consent token for local
 * testing, signed with the same claim schema the verifier enforces. `consent.json` holds the
 * `issueConsentToken` options without the key: issuer, audience, subject, notice, grants, ...
 */
export async function issueToken(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: 'string' },
      consent: { type: 'string' },
      alg: { type: 'string' },
      'expires-in': { type: 'string' },
    },
  });
  if (!values.key || !values.consent)
    throw new UsageError('token issue needs --key private.jwk and --consent consent.json');
  // The `keys generate` output ({ privateJwk, jwks }) works as it is, so does a bare private JWK.
  const keyFile = readJson(values.key, '--key') as JWK | { privateJwk?: JWK } | null;
  const key = (
    keyFile && typeof keyFile === 'object' && 'privateJwk' in keyFile ? keyFile.privateJwk : keyFile
  ) as JWK;
  if (typeof key !== 'object' || key === null || !('d' in key))
    throw new UsageError('--key must be a private JWK');
  const alg = (values.alg ?? key.alg) as ConsentAlgorithm | undefined;
  if (!alg || !(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(
      `name the algorithm with --alg (one of ${ALLOWED_ALGORITHMS.join(', ')}) or in the JWK's "alg"`,
    );
  }
  const consent = parseConsentFile(readJson(values.consent, '--consent'));
  const expires = values['expires-in'] === undefined ? undefined : Number(values['expires-in']);
  if (expires !== undefined && !(expires > 0)) throw new UsageError('--expires-in is a number of seconds');
  try {
    const token = await issueConsentToken({
      ...consent,
      privateKey: key,
      alg,
      ...(key.kid ? { kid: key.kid } : {}),
      ...(expires ? { expiresInSec: expires } : {}),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    if (error instanceof PiplConfigError) throw new UsageError(error.message);
    throw new UsageError(`cannot sign: ${(error as Error).message}`);
  }
}

/** `pipl-guard token inspect <token>`: header and claims, decoded but NOT verified. */
export function inspectToken(args: string[]): number {
  const token = args[0];
  if (!token) throw new UsageError('token inspect needs a token');
  try {
    const header = decodeProtectedHeader(token);
    const claims = decodeJwt(token);
    const note = 'decoded only: the signature, issuer, audience and expiry were NOT checked';
    process.stdout.write(`${JSON.stringify({ note, header, claims }, null, 2)}\n`);
    return 0;
  } catch {
    throw new UsageError('not a compact JWT (header.payload.signature)');
  }
}
