import { exportSPKI } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TOKEN_BYTES } from '../src/consent/verify.js';
import { REASONS, type ReasonCode } from '../src/index.js';
import { buildApps, FRAMEWORKS } from './support/apps.js';
import { expectNoLeak, expectOneAudit, expectProblem, send } from './support/assertions.js';
import { guardOptions, type Keys, makeKeys, tokenFor } from './support/fixture.js';
import {
  b64url,
  claims,
  compactSign,
  es256Raw,
  HEADER,
  hs256,
  invalidLength,
  nowSec,
  unsigned,
} from './support/forge.js';

const trusted = await makeKeys();
/** The attacker's own key pair, published under the trusted key's kid. */
const attacker = await makeKeys('ES256', 'test-key-1');
const attackerJwk = { ...attacker.publicJwk, kid: 'attacker-key' };
const PROFILE = '/users/user-1/profile';

interface Attack {
  name: string;
  token: (keys: Keys) => string | Promise<string>;
  code: ReasonCode;
  path?: string;
  withdraw?: boolean;
  /** Send the token twice instead of once. */
  twice?: boolean;
}

const sign = (payload: unknown, header: Record<string, unknown> = HEADER) =>
  compactSign(trusted.privateKey, payload, header);

const ATTACKS: Attack[] = [
  // alg: none, every casing, empty signature. Not in the asymmetric allowlist → jose refuses the alg.
  ...['none', 'None', 'NONE', 'nOnE'].map(
    (alg): Attack => ({
      name: `alg "${alg}" with an empty signature`,
      token: () => unsigned({ ...HEADER, alg }, claims()),
      code: 'token_invalid',
    }),
  ),
  {
    name: 'ES256 header with an empty signature',
    token: () => unsigned(HEADER, claims()),
    code: 'token_invalid',
  },
  // Key confusion: HS256 "signed" with the public key as the HMAC secret.
  {
    name: 'HS256 key confusion with the public JWK JSON as secret',
    token: (keys) => hs256(JSON.stringify(keys.publicJwk), claims()),
    code: 'token_invalid',
  },
  {
    name: 'HS256 key confusion with the public key PEM as secret',
    token: async (keys) => hs256(await exportSPKI(keys.publicKey), claims()),
    code: 'token_invalid',
  },
  // Keys and key ids
  {
    name: 'token signed by an unknown key with the trusted kid',
    token: () => compactSign(attacker.privateKey, claims()),
    code: 'token_invalid',
  },
  {
    name: 'unknown kid',
    token: () => sign(claims(), { ...HEADER, kid: 'rotated-away' }),
    code: 'token_invalid',
  },
  {
    name: 'kid with path traversal (../../etc/passwd)',
    token: () => sign(claims(), { ...HEADER, kid: '../../etc/passwd' }),
    code: 'token_invalid',
  },
  {
    name: "kid with SQL injection (' OR 1=1 --)",
    token: () => sign(claims(), { ...HEADER, kid: "' OR 1=1 --" }),
    code: 'token_invalid',
  },
  {
    name: 'jku header pointing at an attacker JWKS is ignored',
    token: () =>
      compactSign(attacker.privateKey, claims(), { ...HEADER, jku: 'http://127.0.0.1:1/jwks.json' }),
    code: 'token_invalid',
  },
  {
    name: 'x5u header pointing at an attacker certificate is ignored',
    token: () =>
      compactSign(attacker.privateKey, claims(), { ...HEADER, x5u: 'http://127.0.0.1:1/cert.pem' }),
    code: 'token_invalid',
  },
  {
    name: 'embedded jwk header with the attacker key is ignored',
    token: () => compactSign(attacker.privateKey, claims(), { ...HEADER, jwk: attacker.publicJwk }),
    code: 'token_invalid',
  },
  {
    name: 'embedded jwk header with its own kid is ignored',
    token: () =>
      compactSign(attacker.privateKey, claims(), { ...HEADER, kid: 'attacker-key', jwk: attackerJwk }),
    code: 'token_invalid',
  },
  // Explicit typing (RFC 8725 §3.11)
  {
    name: 'typ "JWT" (an ID token)',
    token: () => sign(claims(), { ...HEADER, typ: 'JWT' }),
    code: 'token_invalid',
  },
  {
    name: 'missing typ',
    token: () => sign(claims(), { alg: 'ES256', kid: 'test-key-1' }),
    code: 'token_invalid',
  },
  // Claims checked by jose
  {
    name: 'wrong issuer',
    token: (keys) => tokenFor(keys, { issuer: 'https://evil.test' }),
    code: 'token_invalid',
  },
  {
    name: 'wrong audience',
    token: (keys) => tokenFor(keys, { audience: 'another-api' }),
    code: 'token_invalid',
  },
  {
    name: 'expired token (issued two hours ago for one hour)',
    token: (keys) => tokenFor(keys, { now: nowSec() - 7200, expiresInSec: 3600 }),
    code: 'token_expired',
  },
  {
    name: 'nbf in the future',
    token: () => sign(claims({ nbf: nowSec() + 600 })),
    code: 'token_not_yet_valid',
  },
  {
    name: 'iat in the future beyond the clock tolerance (no nbf)',
    token: () => sign(claims({ iat: nowSec() + 600, nbf: undefined })),
    code: 'token_not_yet_valid',
  },
  // Malformed compact serialisations: refused before any parsing.
  { name: 'one segment', token: () => b64url(claims()), code: 'token_malformed' },
  { name: 'two segments', token: () => `${b64url(HEADER)}.${b64url(claims())}`, code: 'token_malformed' },
  {
    name: 'four segments',
    token: async () => `${await sign(claims())}.${b64url('extra')}`,
    code: 'token_malformed',
  },
  {
    name: 'bad base64url characters (standard base64 + and /)',
    token: () => `${b64url(HEADER)}.${b64url(claims())}+/.${b64url('sig')}`,
    code: 'token_malformed',
  },
  {
    name: 'bad base64url characters (percent-encoding and spaces)',
    token: () => `${b64url(HEADER)}.%7B%7D.${b64url('sig')}`,
    code: 'token_malformed',
  },
  // jose cannot base64url-decode a segment whose length is 1 mod 4 (ERR_JWS_INVALID → token_malformed).
  {
    name: 'protected header of invalid base64 length',
    token: () => `${invalidLength(b64url(HEADER))}.${b64url(claims())}.${b64url('sig')}`,
    code: 'token_malformed',
  },
  {
    name: 'validly signed payload segment of invalid base64 length',
    token: () => es256Raw(trusted.privateKey, b64url(HEADER), invalidLength(b64url(claims()))),
    code: 'token_malformed',
  },
  // Payload shape, signed with the REAL trusted key. jose raises ERR_JWT_INVALID ("JWT Claims Set must
  // be a top-level JSON object"), which the verifier maps to claims_invalid (401).
  { name: 'non-JSON payload', token: () => sign('this is not json'), code: 'claims_invalid' },
  { name: 'payload is a JSON array', token: () => sign([claims()]), code: 'claims_invalid' },
  { name: 'payload is a JSON number', token: () => sign(42), code: 'claims_invalid' },
  { name: 'payload is JSON null', token: () => sign(null), code: 'claims_invalid' },
  // Size limit, checked before parsing; a validly signed token is still refused.
  {
    name: `validly signed token above ${DEFAULT_MAX_TOKEN_BYTES} characters`,
    token: () => sign(claims({ pad: 'x'.repeat(DEFAULT_MAX_TOKEN_BYTES) })),
    code: 'token_too_large',
  },
  {
    name: 'garbage token above the size limit',
    token: () => `${'A'.repeat(DEFAULT_MAX_TOKEN_BYTES)}.B.C`,
    code: 'token_too_large',
  },
  // Claims of the wrong type, validly signed. jose rejects a non-numeric iat itself (reason "invalid");
  // everything else fails the consent schema. Both are claims_invalid (401).
  { name: 'sub as a number', token: () => sign(claims({ sub: 12345 })), code: 'claims_invalid' },
  {
    name: 'grants as a string',
    token: () => sign(claims({}, { grants: 'everything' })),
    code: 'claims_invalid',
  },
  {
    name: 'unknown consentType value',
    token: () =>
      sign(
        claims(
          {},
          {
            grants: [
              {
                purpose: 'account.profile',
                categories: ['contact'],
                ops: ['use'],
                consentType: 'implied',
                givenAt: 1,
              },
            ],
          },
        ),
      ),
    code: 'claims_invalid',
  },
  { name: 'iat as a string', token: () => sign(claims({ iat: String(nowSec()) })), code: 'claims_invalid' },
  { name: 'missing jti', token: () => sign(claims({ jti: undefined })), code: 'claims_invalid' },
  // The token's transfer `mechanism` is no longer read (the policy declares it, Art. 38), so its
  // absence is no attack; a guardian method outside the enum is (Art. 31, compared, never free text).
  {
    name: 'guardian consent method outside the enum',
    token: () =>
      sign(claims({}, { subject: { ageBand: 'under14', guardian: { id: 'g-1', method: 'sms_click' } } })),
    code: 'claims_invalid',
  },
  // crit: an extension the verifier does not understand must be refused (RFC 7515 §4.1.11).
  {
    name: 'crit header with an unknown extension',
    token: () =>
      compactSign(
        trusted.privateKey,
        claims(),
        { ...HEADER, crit: ['x-evil'], 'x-evil': true },
        { 'x-evil': true },
      ),
    code: 'token_invalid',
  },
  // Consent-level attacks with otherwise perfect tokens
  {
    name: 'token for another subject',
    token: (keys) => tokenFor(keys),
    path: '/users/user-2/profile',
    code: 'subject_mismatch',
  },
  {
    name: 'replay of a withdrawn consent id',
    token: (keys) => tokenFor(keys),
    withdraw: true,
    code: 'consent_withdrawn',
  },
  {
    name: 'token sent twice (duplicate header values)',
    token: (keys) => tokenFor(keys),
    twice: true,
    code: 'token_ambiguous',
  },
];

for (const framework of FRAMEWORKS) {
  describe(`attack corpus (${framework})`, () => {
    it('control: a hand-forged token signed by the trusted key is accepted', async () => {
      const setup = guardOptions(trusted);
      const apps = buildApps(setup);
      const res = await send(apps[framework], { path: PROFILE, token: await sign(claims()) });
      expect(res.status).toBe(200);
      expect(res.body.reason).toBe('consent_valid');
    });

    for (const attack of ATTACKS) {
      it(`${attack.name} → ${REASONS[attack.code].status} ${attack.code}`, async () => {
        const setup = guardOptions(trusted);
        const apps = buildApps(setup);
        const token = await attack.token(trusted);
        if (attack.withdraw) {
          const jti = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti;
          await setup.guard.withdraw(jti);
        }
        const path = attack.path ?? PROFILE;
        const res = await send(
          apps[framework],
          attack.twice ? { path, headers: { 'pipl-consent': [token, token] } } : { path, token },
        );
        expectProblem(res, attack.code);
        expectNoLeak(res, token);
        expect(apps.calls[framework]).toBe(0);
        const subject = attack.path ? 'user-2' : 'user-1';
        expectOneAudit(setup.audit.records, { decision: 'deny', reason: attack.code, subject }, [token]);
      });
    }
  });
}
