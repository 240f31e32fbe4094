/**
 * `node:diagnostics_channel` events: decisions (from the framework-free guard, so Express and Koa
 * both publish them), withdrawals and verified-token cache lookups. Sink health: audit-health.test.ts
 * and postgres-health.test.ts.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DECISION_CHANNEL,
  type DecisionMessage,
  SUBJECT_CHANNEL,
  type SubjectMessage,
  TOKEN_CACHE_CHANNEL,
  type TokenCacheMessage,
} from '../../src/diagnostics/index.js';
import { createDecisionObserver } from '../../src/guard/observe.js';
import { buildApps, FRAMEWORKS } from '../support/apps.js';
import { pseudonym, send } from '../support/assertions.js';
import { guardOptions, type Keys, makeKeys, tokenFor } from '../support/fixture.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/** Collects what a channel publishes until the returned `stop()` is called. */
function listen<T>(name: string) {
  const messages: T[] = [];
  const onMessage = (message: unknown) => messages.push(message as T);
  subscribe(name, onMessage);
  return { messages, stop: () => unsubscribe(name, onMessage) };
}

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});
function collect<T>(name: string) {
  const listener = listen<T>(name);
  stops.push(listener.stop);
  return listener.messages;
}

describe.each(FRAMEWORKS)('pipl-guard:decision on %s', (framework) => {
  it('publishes one message per decision, with the route pattern and no token or raw subject id', async () => {
    const decisions = collect<DecisionMessage>(DECISION_CHANNEL);
    const setup = guardOptions(keys);
    const app = buildApps(setup)[framework];
    const token = await tokenFor(keys);

    const allowed = await send(app, {
      path: '/users/user-1/profile',
      token,
      headers: { 'x-request-id': 'req-ok-1' },
    });
    expect(allowed.status).toBe(200);
    const denied = await send(app, {
      path: '/users/user-1/profile',
      headers: { 'x-request-id': 'req-no-1' },
    });
    expect(denied.status).toBe(403);

    expect(decisions).toHaveLength(2);
    const [allow, deny] = decisions as [DecisionMessage, DecisionMessage];
    expect(allow).toMatchObject({
      // Our own id pairs the records; the client's x-request-id is never trusted for that.
      requestId: expect.stringMatching(/^[0-9a-f]{8}-/),
      purpose: 'account.profile',
      categories: ['identity_basic', 'contact', 'loyalty_points'],
      operation: 'use',
      basis: 'consent',
      decision: 'allow',
      reason: 'consent_valid',
      status: 200,
      route: '/users/:id/profile',
      method: 'GET',
      subject: pseudonym('user-1'),
    });
    expect(deny).toMatchObject({
      requestId: expect.stringMatching(/^[0-9a-f]{8}-/),
      decision: 'deny',
      reason: 'consent_required',
      status: 403,
      route: '/users/:id/profile',
    });
    for (const message of decisions) {
      expect(message.durationMs).toBeGreaterThan(0);
      const text = JSON.stringify(message);
      expect(text).not.toContain(token);
      expect(text).not.toContain('user-1"');
    }
    // The same pseudonym the audit record holds, so an operator can join the two.
    expect((setup.audit.records as Array<{ type: string }>).find((r) => r.type === 'decision')).toMatchObject(
      { subject: allow.subject },
    );
  });

  it('publishes refusals made before the rules run (bad token) with their reason', async () => {
    const decisions = collect<DecisionMessage>(DECISION_CHANNEL);
    const app = buildApps(guardOptions(keys))[framework];
    const res = await send(app, { path: '/users/user-1/profile', token: 'not-a-jws' });
    expect(res.status).toBe(401);
    expect(decisions.map((d) => [d.decision, d.reason, d.status])).toEqual([
      ['deny', 'token_malformed', 401],
    ]);
  });
});

describe('no listener, no cost', () => {
  it('builds no message (and computes no pseudonym) while nobody subscribes', () => {
    const pseudonymize = vi.fn((id: string) => `p:${id}`);
    const observer = createDecisionObserver(pseudonymize);
    const setup = guardOptions(keys);
    const requirement = setup.guard.requirement('order.fulfilment', { operation: 'use' });
    const outcome = {
      decision: {
        effect: 'allow',
        reason: 'lawful_basis',
        status: 200,
        purpose: 'order.fulfilment',
        basis: 'contract',
        operation: 'use',
        categories: ['identity_basic'],
      },
      consent: undefined,
      requestId: 'r1',
      error: undefined,
    } as const;
    const request = {
      method: 'GET',
      route: '/orders/:id',
      header: () => undefined,
      subjectId: 'user-9',
      subjectDeclared: true,
      actor: null,
    };
    observer.decided(requirement, request, outcome, performance.now());
    expect(pseudonymize).not.toHaveBeenCalled();
    expect(observer.active()).toBe(false);

    const decisions = collect<DecisionMessage>(DECISION_CHANNEL);
    expect(observer.active()).toBe(true);
    observer.decided(requirement, request, outcome, performance.now());
    expect(pseudonymize).toHaveBeenCalledTimes(1);
    expect(decisions[0]?.subject).toBe('p:user-9');
  });
});

describe('no listener, no clock', () => {
  it('pipl.check() does not read the clock while nobody subscribes, and does once someone does', async () => {
    const setup = guardOptions(keys);
    const requirement = setup.guard.requirement('order.fulfilment', { operation: 'use' });
    const request = {
      method: 'GET',
      route: '/orders/:id',
      header: () => undefined,
      subjectId: undefined,
      subjectDeclared: false,
      actor: null,
    };
    const now = vi.spyOn(performance, 'now');
    try {
      expect((await setup.guard.check(requirement, request)).decision.reason).toBe('lawful_basis');
      expect(now).not.toHaveBeenCalled();
      const decisions = collect<DecisionMessage>(DECISION_CHANNEL);
      await setup.guard.check(requirement, request);
      expect(now).toHaveBeenCalled();
      expect(decisions).toHaveLength(1);
    } finally {
      now.mockRestore();
    }
  });
});

describe('pipl-guard:subject', () => {
  it('publishes a withdrawal once the store has it', async () => {
    const subjects = collect<SubjectMessage>(SUBJECT_CHANNEL);
    const setup = guardOptions(keys);
    await setup.guard.withdraw('consent-42', 1_900_000_000_000);
    await setup.guard.withdraw('consent-43');
    expect(subjects).toEqual([
      { action: 'withdraw', consentId: 'consent-42', until: 1_900_000_000_000 },
      { action: 'withdraw', consentId: 'consent-43', until: undefined },
    ]);
    expect(await setup.revocations.isRevoked('consent-42')).toBe(true);
  });
});

describe('pipl-guard:token-cache', () => {
  it('reports a miss, then hits for the same token', async () => {
    const lookups = collect<TokenCacheMessage>(TOKEN_CACHE_CHANNEL);
    const app = buildApps(guardOptions(keys)).express;
    const token = await tokenFor(keys);
    for (let i = 0; i < 3; i++) expect((await send(app, { path: '/me', token })).status).toBe(200);
    expect(lookups.map((l) => l.result)).toEqual(['miss', 'hit', 'hit']);
  });
});
