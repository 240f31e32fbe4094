/**
 * `pipl-guard/openapi`: routes found in real Express and Koa apps, merged into OpenAPI 3.1
 * documents that a maintained validator (@seriousme/openapi-schema-validator, the official 3.1
 * JSON Schema) accepts, and checked against what the guard really answers.
 */
import Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Context } from 'koa';
import { beforeAll, describe, expect, it } from 'vitest';
import { koaGuard } from '../../src/adapters/koa/index.js';
import { PiplConfigError } from '../../src/index.js';
import { expressRoutes, koaRoutes, type OpenApiDocument, withPiplOpenApi } from '../../src/openapi/index.js';
import { buildApps, ROUTES } from '../support/apps.js';
import { guardOptions, type Keys, makeKeys, type TestPurpose } from '../support/fixture.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const base = (): OpenApiDocument => ({
  openapi: '3.1.0',
  info: { title: 'Test API', version: '1.0.0' },
  paths: {},
});

async function expectValid(document: OpenApiDocument) {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(document));
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
  // Every $ref must resolve (throws otherwise).
  expect(() => validator.resolveRefs()).not.toThrow();
}

// biome-ignore lint/suspicious/noExplicitAny: the tests walk untyped OpenAPI JSON
type Json = Record<string, any>;

function koaRouterFor(setup: ReturnType<typeof guardOptions>) {
  const guard = koaGuard(setup.guard);
  const router = new Router();
  for (const route of ROUTES) {
    router[route.method](
      route.path,
      guard(route.purpose as TestPurpose, {
        operation: route.operation,
        ...(route.recipient ? { recipient: route.recipient } : {}),
        ...(route.crossBorder ? { crossBorder: route.crossBorder } : {}),
        ...(route.subject ? { subject: (ctx: Context) => String((ctx as Json).params.id) } : {}),
      }),
      (ctx) => {
        ctx.body = {};
      },
    );
  }
  return router;
}

describe('withPiplOpenApi', () => {
  it('documents every guarded Express route, and Koa gives the same document', async () => {
    const setup = guardOptions(keys);
    const fromExpress = withPiplOpenApi(base(), { routes: expressRoutes(buildApps(setup).express) });
    const fromKoa = withPiplOpenApi(base(), { routes: koaRoutes(koaRouterFor(setup)) });
    await expectValid(fromExpress);
    expect(fromKoa).toEqual(fromExpress);

    const paths = fromExpress.paths as Json;
    expect(Object.keys(paths).sort()).toEqual(
      [...new Set(ROUTES.map((r) => r.path.replace(/:(\w+)/g, '{$1}')))].sort(),
    );
    expect((fromExpress.components as Json).securitySchemes.piplConsent).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'pipl-consent',
      description: expect.any(String),
    });

    const health = paths['/users/{id}/health'].get;
    expect(health['x-pipl']).toMatchObject({
      purpose: 'health.records',
      basis: 'consent',
      operation: 'use',
      categories: ['medical_health'],
      sensitive: true,
      sensitiveCategories: ['medical_health'],
      necessaryForService: true,
      onMissingConsent: 'deny',
      piaRef: 'PIA-TEST-2',
    });
    const reusable = (fromExpress.components as Json).responses;
    expect(Object.keys(reusable['pipl.token_expired'].headers).sort()).toEqual([
      'Cache-Control',
      'WWW-Authenticate',
    ]);
    expect(Object.keys(reusable['pipl.keys_unavailable'].headers).sort()).toEqual([
      'Cache-Control',
      'Retry-After',
    ]);
    expect(Object.keys(reusable['pipl.consent_required'].headers)).toEqual(['Cache-Control']);
    expect(health['x-pipl'].refusals).toContain('sensitive_separate_consent_required');
    expect(health['x-pipl'].refusals).not.toContain('recipient_not_granted');
    expect(health.security).toEqual([{ piplConsent: [] }]);
    expect(health.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    expect(Object.keys(health.responses).sort()).toEqual(['400', '401', '403', '503']);
    // One status, one code: a $ref to that code's response.
    expect(health.responses['400']).toEqual({ $ref: '#/components/responses/pipl.token_ambiguous' });
    expect(health.responses['401'].content['application/problem+json'].schema.properties.code.enum).toEqual([
      'claims_invalid',
      'token_expired',
      'token_invalid',
      'token_malformed',
      'token_not_yet_valid',
      'token_too_large',
    ]);

    const share = paths['/users/{id}/share'].post['x-pipl'];
    expect(share).toMatchObject({ operation: 'provide', recipient: 'AcmeLogistics', sensitive: false });
    expect(share.refusals).toEqual(
      expect.arrayContaining(['recipient_not_granted', 'provision_separate_consent_required']),
    );
    const overseas = paths['/users/{id}/overseas'].post['x-pipl'];
    expect(overseas.crossBorder).toEqual({ country: 'SG', recipient: 'Acme SG Support' });
    expect(overseas.refusals).toContain('cross_border_not_granted');

    // Contract basis (Art. 13): no token, so no security requirement and no token or consent refusals.
    const orders = paths['/orders/{id}'].get;
    expect(orders.security).toBeUndefined();
    expect(orders['x-pipl'].refusals).toEqual(['audit_unavailable', 'guard_unavailable']);
    expect(Object.keys(orders.responses)).toEqual(['503']);
    expect(Object.keys(orders.responses['503'].content['application/problem+json'].examples)).toEqual([
      'audit_unavailable',
      'guard_unavailable',
    ]);

    // Art. 16 degrade: the token is optional and missing consent is not a refusal.
    const recommendations = paths['/users/{id}/recommendations'].get;
    expect(recommendations.security).toEqual([{ piplConsent: [] }, {}]);
    expect(recommendations['x-pipl'].refusals).not.toContain('consent_required');
    expect(recommendations['x-pipl'].refusals).not.toContain('personalization_opted_out');
    // `/me` names no subject, so it cannot be refused for the wrong subject.
    expect(paths['/me'].get['x-pipl'].refusals).not.toContain('subject_mismatch');
    expect(paths['/users/{id}/profile'].get['x-pipl'].refusals).toContain('subject_mismatch');
  });

  it('merges into an existing document without clobbering it, and is idempotent', async () => {
    const setup = guardOptions(keys);
    const existing: OpenApiDocument = {
      openapi: '3.1.0',
      info: { title: 'Shop', version: '2.0.0', description: 'kept' },
      security: [{ oauth: ['read'] }],
      paths: {
        '/users/{id}/profile': {
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          get: {
            summary: 'A profile',
            operationId: 'getProfile',
            responses: {
              '200': {
                description: 'The profile',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/User' } } },
              },
              '403': { description: 'Our own 403' },
            },
          },
        },
        '/health': { get: { responses: { '200': { description: 'ok' } } } },
      },
      components: {
        schemas: { User: { type: 'object', properties: { id: { type: 'string' } } } },
        securitySchemes: {
          oauth: {
            type: 'oauth2',
            flows: {
              clientCredentials: { tokenUrl: 'https://auth.example/token', scopes: { read: 'read' } },
            },
          },
        },
      },
    };
    const before = structuredClone(existing);
    const merged = withPiplOpenApi(existing, { routes: expressRoutes(buildApps(setup).express) });
    await expectValid(merged);
    expect(existing).toEqual(before); // the input is not modified

    const paths = merged.paths as Json;
    const profile = paths['/users/{id}/profile'];
    expect(merged.info).toEqual(before.info);
    expect(paths['/health']).toEqual((before.paths as Json)['/health']);
    expect((merged.components as Json).schemas.User).toEqual((before.components as Json).schemas.User);
    expect(profile.parameters).toEqual((before.paths as Json)['/users/{id}/profile'].parameters);
    expect(profile.get.parameters).toBeUndefined(); // the path item already declares {id}
    expect(profile.get).toMatchObject({ summary: 'A profile', operationId: 'getProfile' });
    expect(profile.get.responses['200']).toEqual(
      (before.paths as Json)['/users/{id}/profile'].get.responses['200'],
    );
    expect(profile.get.responses['403']).toEqual({ description: 'Our own 403' });
    expect(profile.get.responses['401']).toBeDefined();
    // The document-wide OAuth requirement still applies, AND the consent token.
    expect(profile.get.security).toEqual([{ oauth: ['read'], piplConsent: [] }]);
    expect(paths['/users/{id}/recommendations'].get.security).toEqual([
      { oauth: ['read'], piplConsent: [] },
      { oauth: ['read'] },
    ]);

    expect(withPiplOpenApi(merged, { routes: expressRoutes(buildApps(setup).express) })).toEqual(merged);
  });

  it('refuses to overwrite a different component of the same name, and non-3.1 documents', () => {
    const setup = guardOptions(keys);
    const routes = expressRoutes(buildApps(setup).express);
    const clash: OpenApiDocument = {
      ...base(),
      components: { securitySchemes: { piplConsent: { type: 'http', scheme: 'bearer' } } },
    };
    expect(() => withPiplOpenApi(clash, { routes })).toThrow(PiplConfigError);
    const renamed = withPiplOpenApi(clash, { routes, securityScheme: 'consentToken', header: 'x-consent' });
    expect((renamed.components as Json).securitySchemes.consentToken).toMatchObject({
      in: 'header',
      name: 'x-consent',
    });
    expect((renamed.paths as Json)['/me'].get.security).toEqual([{ consentToken: [] }]);
    expect(() => withPiplOpenApi({ openapi: '3.0.3' }, { routes })).toThrow(/3\.1/);
  });

  it('finds routes in Express and Koa routers mounted under a prefix, and lists routes given by hand', async () => {
    const express = (await import('express')).default;
    const setup = guardOptions(keys);
    const { expressGuard } = await import('../../src/adapters/express/index.js');
    const guard = expressGuard(setup.guard);
    const app = express();
    const api = express.Router();
    api.get(
      '/orders/:orderId',
      guard('order.fulfilment', { operation: 'use' }),
      (_req, res) => void res.end(),
    );
    app.use('/api/v1', api);
    app.get('/unguarded', (_req, res) => void res.end());
    const found = expressRoutes(app);
    expect(found.map((r) => [r.method, r.path])).toEqual([['get', '/api/v1/orders/:orderId']]);

    const inner = new Router();
    inner.get('/orders/:orderId', koaGuard(setup.guard)('order.fulfilment', { operation: 'use' }), (ctx) => {
      ctx.body = {};
    });
    const outer = new Router({ prefix: '/api' });
    outer.use('/v1', inner.routes());
    expect(koaRoutes(outer).map((r) => [r.method, r.path])).toEqual([['GET', '/api/v1/orders/:orderId']]);

    const byHand = withPiplOpenApi(base(), {
      routes: [
        {
          method: 'POST',
          path: '/profile/{id}',
          requirement: setup.guard.requirement('account.profile', { operation: 'store' }),
          subject: true,
        },
      ],
    });
    await expectValid(byHand);
    expect((byHand.paths as Json)['/profile/{id}'].post['x-pipl']).toMatchObject({
      operation: 'store',
      purpose: 'account.profile',
    });
  });
});
