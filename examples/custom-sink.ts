// An audit sink of your own: `chainedAuditSink` on an object store, with a directory standing in for
// the bucket (S3, Alibaba Cloud OSS…): every batch of records is one immutable object, put atomically.
// Run it: `npm run example:custom-sink`. The sink conformance suite (test/audit/sink-conformance.test.ts)
// runs this store through the same failure, full-queue and crash cases as the built-in sinks.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { open, readdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPiplGuard, definePolicy } from 'pipl-guard';
import { type AuditLine, type AuditStore, chainedAuditSink, verifyAuditTrail } from 'pipl-guard/audit';

const policy = definePolicy({
  notice: { id: 'shop-privacy', version: 1 },
  purposes: {
    'order.fulfilment': {
      basis: 'contract', // Art. 13(1)(ii): no consent token needed
      categories: ['identity_basic', 'contact'],
      operations: ['use'],
      necessaryForService: true,
    },
  },
});

/** Objects are named by a zero-padded counter, so listing order is chain order. */
const OBJECT = /^\d{12}\.jsonl$/;

async function objects(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => OBJECT.test(name)).sort();
}

/** One object per batch in `dir`. All the I/O a sink needs: the rest is `chainedAuditSink`'s. */
export function directoryStore(dir: string): AuditStore {
  mkdirSync(dir, { recursive: true });
  let next: number | undefined;
  return {
    async lastLine() {
      const names = await objects(dir);
      next = names.length;
      const newest = names.at(-1);
      if (newest === undefined) return undefined;
      return (await readFile(join(dir, newest), 'utf8')).trimEnd().split('\n').at(-1);
    },
    async write(lines, durable) {
      // The counter moves only once an object is stored: a retried batch is put under the same
      // name again, so a batch that failed half-way is never stored twice.
      const name = join(dir, `${String(next).padStart(12, '0')}.jsonl`);
      const partial = `${name}.partial`;
      const file = await open(partial, 'w');
      try {
        await file.writeFile(lines.join(''));
        if (durable) await file.datasync();
      } finally {
        await file.close();
      }
      await rename(partial, name); // the put is atomic: an object is whole or absent
      if (durable) {
        const folder = await open(dir, 'r');
        await folder.datasync().finally(() => folder.close());
      }
      next = (next as number) + 1;
    },
    // Signed checkpoints (the `checkpoint` option): one JWS per line in an object of their own.
    async writeCheckpoint(jws) {
      const file = await open(join(dir, CHECKPOINTS), 'a');
      try {
        await file.appendFile(`${jws}\n`);
        await file.datasync();
      } finally {
        await file.close();
      }
    },
    async lastCheckpoint() {
      return (await directoryCheckpoints(dir)).at(-1);
    },
  };
}

const CHECKPOINTS = 'checkpoints.jws';

/** The stored checkpoints, oldest first: `verifyAuditTrail(…, { keys, checkpoints })` checks them. */
export async function directoryCheckpoints(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, CHECKPOINTS), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return text.split('\n').filter((line) => line !== '');
}

/** The stored records in chain order, as the verifier reads them (`verifyAuditTrail` takes any such source). */
export async function* directoryLines(dir: string): AsyncGenerator<AuditLine> {
  for (const name of await objects(dir)) {
    const text = await readFile(join(dir, name), 'utf8');
    const lines = text.split('\n');
    const torn = !text.endsWith('\n');
    if (!torn) lines.pop();
    for (const [index, line] of lines.entries()) {
      yield { text: line, file: name, line: index + 1, torn: torn && index === lines.length - 1 };
    }
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pipl-custom-sink-'));
  // The checkpoint signing key: in production a key the API holds and the auditor has the public half of.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = { key: privateKey, kid: 'audit-2026', everyRecords: 4 };
  for (const run of [1, 2]) {
    // Each run continues the chain the store holds: a writer_start, then its records.
    const sink = await chainedAuditSink(directoryStore(dir), { chain: 'shop-api-1', checkpoint: signer });
    const pipl = createPiplGuard({ policy, audit: { sink, subjectKey: false } });
    const shipping = pipl.requirement('order.fulfilment', { operation: 'use' });
    for (let i = 0; i < 3; i++) {
      const outcome = await pipl.check(shipping, {
        method: 'POST',
        route: '/orders/:id/ship',
        header: () => undefined,
        subjectId: `user-${i}`,
        subjectDeclared: true,
        actor: null,
      });
      pipl.recordOutcome(outcome, 204, performance.now());
    }
    await pipl.close();
    console.log(`run ${run}: ${(await objects(dir)).length} objects in ${dir}`);
  }
  const keys = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'audit-2026', alg: 'EdDSA' }] };
  const checkpoints = await directoryCheckpoints(dir);
  const report = await verifyAuditTrail(directoryLines(dir), { keys, checkpoints });
  console.log(
    `verifyAuditTrail: ${report.valid ? 'VALID' : 'INVALID'}, ${report.records.total} records, chain ${report.chain}, seq ${report.firstSeq}..${report.lastSeq}, ${report.checkpoints.valid} of ${report.checkpoints.total} checkpoints valid, ${report.unsignedTail} records unsigned`,
  );
  for (const notice of report.notices) console.log(`  notice: ${notice}`);
  for (const problem of report.problems) console.log(`  problem: ${problem.message}`);
  if (!report.valid) process.exitCode = 1;
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
