/**
 * Issue 6 item 13: `withdraw(jti, until)` must outlive every token the verifier still accepts.
 *
 * Attack: the consent service re-issues short-lived tokens for one consent record (same `jti`). The
 * application withdraws with the `exp` of an older token, already in the past: the Redis store wrote
 * nothing and the memory store forgot at once, so the current token for the withdrawn consent passed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryRevocationStore } from '../../src/index.js';
import { buildApps, FRAMEWORKS } from '../support/apps.js';
import { expectProblem, send } from '../support/assertions.js';
import { AUDIENCE, guardOptions, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';

const keys = await makeKeys();
const PROFILE = '/users/user-1/profile';
const MAX_AGE = 3600;
const TOLERANCE = 5;
const GRACE = 600;

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);
const nowSec = () => Math.floor(Date.now() / 1000);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

/** A verifier that accepts tokens at most MAX_AGE seconds after `iat`, whatever their `exp`. */
function setup() {
  return guardOptions(keys, {
    consent: {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      jwks: { keys: [keys.publicJwk] },
      maxTokenAgeSec: MAX_AGE,
      clockToleranceSec: TOLERANCE,
      cache: false,
    },
  });
}

for (const framework of FRAMEWORKS) {
  describe(`conformance withdrawal lifetime (${framework})`, () => {
    it('withdraw(jti, until in the past) is refused with a clear error, and the token stays refusable', async () => {
      const s = setup();
      const apps = buildApps(s);
      const current = await tokenFor(keys, { consentId: 'c-past', expiresInSec: 86_400, now: nowSec() });
      const olderExp = nowSec() - 30; // the exp of a token issued earlier for the same consent
      await expect(s.guard.withdraw('c-past', olderExp)).rejects.toThrow(
        /`until` .* is in the past.*omit `until`/,
      );
      // The caller learns of the mistake; withdrawing without `until` then works.
      await s.guard.withdraw('c-past');
      expectProblem(await send(apps[framework], { path: PROFILE, token: current }), 'consent_withdrawn');
    });

    it('a short until is kept as long as the verifier accepts a token (maxTokenAgeSec + tolerance)', async () => {
      const s = setup();
      const apps = buildApps(s);
      const current = await tokenFor(keys, { consentId: 'c-short', expiresInSec: 86_400, now: nowSec() });
      expect((await send(apps[framework], { path: PROFILE, token: current })).status).toBe(200);
      await s.guard.withdraw('c-short', nowSec() + 60);

      // Past `until` + grace, but the token still verifies (iat + maxTokenAgeSec is ahead): refused.
      vi.setSystemTime(T0 + (60 + GRACE + 1) * 1000);
      expectProblem(await send(apps[framework], { path: PROFILE, token: current }), 'consent_withdrawn');
      vi.setSystemTime(T0 + (MAX_AGE - 1) * 1000);
      expectProblem(await send(apps[framework], { path: PROFILE, token: current }), 'consent_withdrawn');

      // Once no token can verify any more, the withdrawal may be forgotten: the token itself is refused.
      vi.setSystemTime(T0 + (MAX_AGE + TOLERANCE + GRACE + 1) * 1000);
      expectProblem(await send(apps[framework], { path: PROFILE, token: current }), 'token_expired');
      expect(apps.calls[framework]).toBe(1);
    });
  });
}

describe('memory revocation store', () => {
  it('refuses an until in the past and keeps one in the future past the grace period', () => {
    const store = memoryRevocationStore();
    expect(() => store.revoke('c-1', nowSec() - 1)).toThrow(RangeError);
    expect(store.isRevoked('c-1')).toBe(false);
    expect(() => store.revoke('c-1', Number.NaN)).toThrow(RangeError);
    store.revoke('c-2', nowSec() + 10);
    vi.setSystemTime(T0 + (10 + GRACE - 1) * 1000);
    expect(store.isRevoked('c-2')).toBe(true);
    vi.setSystemTime(T0 + (10 + GRACE + 1) * 1000);
    expect(store.isRevoked('c-2')).toBe(false);
  });
});
