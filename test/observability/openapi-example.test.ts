import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('examples/openapi.ts', () => {
  it('prints a valid OpenAPI 3.1 document that keeps the team document and adds the guarded routes', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/openapi.ts'], {
      timeout: 60_000,
    });
    const document = JSON.parse(stdout);
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);

    const orders = document.paths['/users/{userId}/orders'].get;
    expect(orders).toMatchObject({ summary: "A user's orders", operationId: 'listOrders' });
    expect(orders.responses['200']).toEqual({ description: 'The orders' });
    expect(orders['x-pipl']).toMatchObject({ purpose: 'order.fulfilment', basis: 'contract' });
    const prescriptions = document.paths['/users/{userId}/prescriptions'].get;
    expect(prescriptions.security).toEqual([{ piplConsent: [] }]);
    expect(prescriptions['x-pipl']).toMatchObject({ purpose: 'health.prescriptions', sensitive: true });
    expect(document.paths['/users/{userId}/shipments'].post['x-pipl'].refusals).toContain(
      'recipient_not_granted',
    );
  }, 60_000);
});
