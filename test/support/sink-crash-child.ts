/**
 * Child for test/audit/sink-conformance.test.ts: opens a sink, appends durable records one after
 * another printing each acknowledged request id, queues a few buffered ones, then dies by SIGKILL
 * without closing anything.
 *
 *   node --import tsx test/support/sink-crash-child.ts file <path> <chain>
 *   node --import tsx test/support/sink-crash-child.ts postgres <table> <chain>   (DATABASE_URL)
 *   node --import tsx test/support/sink-crash-child.ts custom <directory> <chain>   (examples/custom-sink.ts)
 */
import { directoryStore } from '../../examples/custom-sink.js';
import { chainedAuditSink } from '../../src/audit/chained-sink.js';
import { fileAuditSink } from '../../src/audit/file-sink.js';
import type { AuditEvent } from '../../src/audit/record.js';
import type { AuditSink } from '../../src/audit/sink.js';
import { postgresAuditSink } from '../../src/postgres/sink.js';

const [kind, target, chain] = process.argv.slice(2) as [string, string, string];
const sink: AuditSink =
  kind === 'file'
    ? fileAuditSink({ path: target, chain })
    : kind === 'custom'
      ? await chainedAuditSink(directoryStore(target), { chain })
      : await postgresAuditSink({
          connectionString: process.env.DATABASE_URL as string,
          table: target,
          chain,
        });

const outcome = (id: string): AuditEvent => ({
  type: 'outcome',
  requestId: id,
  purpose: 'account.profile',
  status: 200,
  durationMs: 1,
});
for (let i = 0; i < 20; i++) {
  await sink.append(outcome(`durable-${i}`), true);
  process.stdout.write(`acked durable-${i}\n`);
}
for (let i = 0; i < 5; i++) sink.append(outcome(`buffered-${i}`));
process.kill(process.pid, 'SIGKILL');
