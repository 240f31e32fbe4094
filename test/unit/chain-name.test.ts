import { appendFileSync, mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import { verifyAuditLog } from '../../src/audit/verify.js';

// Issue 11: every instance defaulted to the chain "pipl-guard", so a directory's rows with equal
// seq could not be told apart.
const enforcer = { service: 'unit', instance: 'test-1', version: '0.0.0' };

describe('default chain names', () => {
  it('differ between instances, and a restart (even after a torn write) keeps its chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipl-chain-name-'));
    const chains: string[] = [];
    for (const name of ['a.jsonl', 'b.jsonl']) {
      const sink = fileAuditSink({ path: join(dir, name), enforcer });
      await sink.close();
      chains.push((await verifyAuditLog(join(dir, name))).chain as string);
    }
    expect(chains[0]).toMatch(new RegExp(`^${hostname()}-[0-9a-f]{8}$`));
    expect(chains[1]).toMatch(new RegExp(`^${hostname()}-[0-9a-f]{8}$`));
    expect(chains[0]).not.toBe(chains[1]);

    appendFileSync(join(dir, 'a.jsonl'), '{"torn":');
    const again = fileAuditSink({ path: join(dir, 'a.jsonl'), enforcer });
    await again.close();
    expect(await verifyAuditLog(join(dir, 'a.jsonl'))).toMatchObject({ valid: true, chain: chains[0] });
  });
});
