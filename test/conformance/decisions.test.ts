import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../../src/index.js';
import { buildApps, FRAMEWORKS } from '../support/apps.js';
import { expectOneAudit, expectProblem, send } from '../support/assertions.js';
import { guardOptions, makeKeys, tokenFor } from '../support/fixture.js';
import { BEHAVIOURS } from './cases.js';

const keys = await makeKeys();

for (const framework of FRAMEWORKS) {
  describe(`conformance decisions (${framework})`, () => {
    for (const behaviour of BEHAVIOURS) {
      it(behaviour.name, async () => {
        const setup = guardOptions(keys);
        const apps = buildApps(setup);
        const token = behaviour.token ? await tokenFor(keys, behaviour.token) : undefined;
        const jti = token ? String(decodeJwt(token).jti) : undefined;
        if (behaviour.withdraw && jti) await setup.guard.withdraw(jti);

        const res = await send(apps[framework], {
          method: behaviour.method ?? 'get',
          path: behaviour.path,
          ...(token ? { token } : {}),
        });

        const expected = behaviour.expect;
        if ('code' in expected) {
          expectProblem(res, expected.code);
          expect(apps.calls[framework]).toBe(0);
        } else {
          expect(res.status).toBe(200);
          expect(res.headers['content-type']).toMatch(/^application\/json/);
          expect(res.body.reason).toBe(expected.reason);
          expect(res.body.degraded).toBe(expected.degraded);
          if (expected.reason !== 'degraded_no_consent') expect(res.body.consentId).toBe(jti ?? null);
          expect(apps.calls[framework]).toBe(1);
        }

        const reason = 'code' in expected ? expected.code : expected.reason;
        const record = expectOneAudit(
          setup.audit.records,
          { decision: REASONS[reason].effect, reason, ...behaviour.audit },
          token ? [token, ...token.split('.')] : [],
        );
        // The audit record and the problem body correlate through the request id.
        if ('code' in expected) expect(res.body.requestId).toBe(record.requestId);
        // Both frameworks audit the route pattern, never the raw URL.
        expect(record.route).toBe(behaviour.path.replace(/^\/(users|orders)\/[^/]+/, '/$1/:id'));
        expect(record.method).toBe((behaviour.method ?? 'get').toUpperCase());
        if (jti) expect(record.consent?.id).toBe(jti);
        else expect(record.consent).toBeNull();
      });
    }
  });
}
