import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConsentVerifier, isPiplGuardError } from '../../src/index.js';
import { memorySubjectStore } from '../../src/subject/memory-store.js';
import type { SubjectStore } from '../../src/subject/store.js';
import { AUDIENCE, guardOptions, ISSUER, makeKeys, tokenFor } from '../support/fixture.js';

// A token the verifier already holds is answered without a promise (`cached`), and the guard then
// decides without an `await` when the withdrawal stores answer at once (issue 10). The shortcut must
// give what the promise path gives: these compare the two, and the refusals on both.

const keys = await makeKeys();
const verifierOptions = {
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['ES256' as const],
  jwks: { keys: [keys.publicJwk] },
};

afterEach(() => {
  vi.useRealTimers();
});

describe('verifier.cached', () => {
  it('knows a token only once verify has vouched for it, and only that exact token', async () => {
    const verifier = createConsentVerifier(verifierOptions);
    const token = await tokenFor(keys);
    expect(verifier.cached?.(token)).toBeUndefined();
    const verified = await verifier.verify(token);
    expect(verifier.cached?.(token)).toBe(verified);
    // Same signature (the cache key), other payload: not the cached token.
    const [header, , signature] = token.split('.') as [string, string, string];
    const other = `${header}.${Buffer.from('{"sub":"attacker"}').toString('base64url')}.${signature}`;
    expect(other.slice(-64)).toBe(token.slice(-64));
    expect(verifier.cached?.(other)).toBeUndefined();
  });

  it('forgets a token when its cache time is over, and never holds one with the cache off', async () => {
    vi.useFakeTimers({ now: Date.now() });
    const verifier = createConsentVerifier({ ...verifierOptions, cache: { max: 10, ttlSec: 30 } });
    const token = await tokenFor(keys);
    await verifier.verify(token);
    expect(verifier.cached?.(token)?.subject).toBe('user-1');
    vi.advanceTimersByTime(31_000);
    expect(verifier.cached?.(token)).toBeUndefined();

    const uncached = createConsentVerifier({ ...verifierOptions, cache: false });
    await uncached.verify(token);
    expect(uncached.cached?.(token)).toBeUndefined();
  });

  it('refuses a token too large to look at, as verify does', async () => {
    const verifier = createConsentVerifier({ ...verifierOptions, maxTokenBytes: 256 });
    const huge = 'a'.repeat(257);
    const code = (run: () => unknown) => {
      try {
        run();
        return 'returned';
      } catch (error) {
        return isPiplGuardError(error) ? error.code : String(error);
      }
    };
    expect(code(() => verifier.cached?.(huge))).toBe('token_too_large');
    const rejected = await verifier.verify(huge).then(
      () => 'verified',
      (error: unknown) => (isPiplGuardError(error) ? error.code : String(error)),
    );
    expect(rejected).toBe('token_too_large');
  });
});

/** What an adapter hands the guard for GET /users/user-1/profile carrying `token`. */
const request = (token: string) => ({
  method: 'GET',
  route: '/users/:id/profile',
  header: (name: string) => (name === 'pipl-consent' ? token : undefined),
  subjectId: 'user-1',
  subjectDeclared: true,
  actor: null,
});

describe('guard on a cached token', () => {
  /** The same request twice: the first verifies the token, the second is the cache hit. */
  async function twice(extra: Parameters<typeof guardOptions>[1]) {
    const pipl = guardOptions(keys, extra).guard;
    const requirement = pipl.requirement('account.profile', { operation: 'use' });
    const token = await tokenFor(keys);
    const first = await pipl.check(requirement, request(token));
    const second = await pipl.check(requirement, request(token));
    await pipl.close();
    return [first, second].map((outcome) => outcome.decision.reason);
  }

  it('decides as the promise path does, whether the stores answer at once or with a promise', async () => {
    expect(await twice({})).toEqual(['consent_valid', 'consent_valid']);
    const slowSubjects = memorySubjectStore();
    const promised: SubjectStore = { ...slowSubjects, lookup: async (query) => slowSubjects.lookup(query) };
    expect(await twice({ subjects: promised, revocations: undefined })).toEqual([
      'consent_valid',
      'consent_valid',
    ]);
    expect(await twice({ subjects: memorySubjectStore(), revocations: undefined })).toEqual([
      'consent_valid',
      'consent_valid',
    ]);
    const revoked = { isRevoked: () => true, revoke() {} };
    expect(await twice({ revocations: revoked })).toEqual(['consent_withdrawn', 'consent_withdrawn']);
    const revokedLater = { isRevoked: async () => true, revoke() {} };
    expect(await twice({ revocations: revokedLater })).toEqual(['consent_withdrawn', 'consent_withdrawn']);
  });

  it('refuses with revocation_unavailable when a store throws or rejects, on the hit as on the miss', async () => {
    const fail = () => {
      throw new Error('store down');
    };
    const throwing: SubjectStore = { ...memorySubjectStore(), lookup: fail };
    const rejecting: SubjectStore = {
      ...memorySubjectStore(),
      lookup: () => Promise.reject(new Error('down')),
    };
    for (const subjects of [throwing, rejecting])
      expect(await twice({ subjects, revocations: undefined })).toEqual([
        'revocation_unavailable',
        'revocation_unavailable',
      ]);
    for (const isRevoked of [fail, () => Promise.reject(new Error('down'))])
      expect(await twice({ revocations: { isRevoked, revoke() {} } })).toEqual([
        'revocation_unavailable',
        'revocation_unavailable',
      ]);
  });
});

describe('guard check without a promise in between', () => {
  it('turns an unexpected throw on the promise-free path into guard_unavailable: never a throw, never a rejection', async () => {
    const errors: unknown[] = [];
    const real = createConsentVerifier(verifierOptions);
    const broken = {
      verify: real.verify,
      ready: real.ready,
      cached(): never {
        throw new TypeError('verifier bug');
      },
    };
    const pipl = guardOptions(keys, { consent: broken, onError: (error) => errors.push(error) }).guard;
    const requirement = pipl.requirement('account.profile', { operation: 'use' });
    const token = await tokenFor(keys);
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = pipl.check(requirement, request(token));
    }).not.toThrow();
    const outcome = (await pending) as { error?: { code: string }; decision: { effect: string } };
    expect(outcome.error?.code).toBe('guard_unavailable');
    expect(outcome.decision.effect).toBe('deny');
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('verifier bug');
    await pipl.close();
  });
});
