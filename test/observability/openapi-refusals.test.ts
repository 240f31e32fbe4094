/**
 * The generated OpenAPI document against the guard itself: every refusal a real Express app sends
 * over HTTP (status, code, body shape, headers) must be one the document describes for that route.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { REASONS, type ReasonCode } from '../../src/index.js';
import { expressRoutes, type OpenApiDocument, withPiplOpenApi } from '../../src/openapi/index.js';
import { buildApps, ROUTES } from '../support/apps.js';
import { send } from '../support/assertions.js';
import { guardOptions, type Keys, makeKeys, tokenFor } from '../support/fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: the test walks untyped OpenAPI JSON
type Json = Record<string, any>;

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const base = (): OpenApiDocument => ({
  openapi: '3.1.0',
  info: { title: 'Test API', version: '1.0.0' },
  paths: {},
});

describe('withPiplOpenApi against the guard', () => {
  it('documents every refusal the guard really answers with, and its body matches the example shape', async () => {
    const setup = guardOptions(keys);
    const app = buildApps(setup).express;
    const document = withPiplOpenApi(base(), { routes: expressRoutes(app) });
    const components = document.components as Json;
    const tokens = [
      undefined,
      'not-a-jws',
      await tokenFor(keys),
      await tokenFor(keys, { subject: 'user-2' }),
      await tokenFor(keys, { notice: { id: 'test-notice', version: 1 } }),
      await tokenFor(keys, {
        grants: [
          { purpose: 'health.records', categories: ['medical_health'], ops: ['use'], consentType: 'general' },
        ],
      }),
      await tokenFor(keys, {
        grants: [
          {
            purpose: 'partner.delivery',
            categories: ['contact'],
            ops: ['provide'],
            consentType: 'separate',
            recipients: [{ name: 'Other Co' }],
          },
        ],
      }),
      await tokenFor(keys, {
        grants: [
          {
            purpose: 'payments.card',
            categories: ['financial_account'],
            ops: ['use'],
            consentType: 'separate',
          },
        ],
      }),
    ];
    const seen = new Set<ReasonCode>();
    for (const route of ROUTES) {
      const path = route.path.replace(':id', 'user-1');
      const operation = (document.paths as Json)[route.path.replace(/:(\w+)/g, '{$1}')][route.method];
      for (const token of tokens) {
        const res = await send(app, { method: route.method, path, ...(token ? { token } : {}) });
        if (res.status === 200) continue;
        const code = res.body.code as ReasonCode;
        seen.add(code);
        expect(operation['x-pipl'].refusals, `${route.method} ${route.path} answered ${code}`).toContain(
          code,
        );
        expect(operation.responses[String(res.status)]).toBeDefined();
        const example = components.examples[`pipl.${code}`].value;
        expect(Object.keys(res.body).sort()).toEqual(Object.keys(example).sort());
        expect(res.body).toMatchObject({
          type: example.type,
          title: example.title,
          status: example.status,
          code,
        });
        expect(REASONS[code].status).toBe(res.status);
        // The headers the document promises for this code are the ones sent.
        for (const header of Object.keys(components.responses[`pipl.${code}`].headers)) {
          expect(res.headers[header.toLowerCase()], `${code}: ${header}`).toBeDefined();
        }
      }
    }
    // The requests above exercise a good spread of codes, not only consent_required.
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });
});
