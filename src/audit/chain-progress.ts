import type { CheckpointPayload } from './checkpoint.js';
import { hashOf, timeOf } from './file-io.js';

/**
 * Where a sink's chain stands for its checkpoints: the newest stored record (seq, hash, time) and
 * what was sealed since the last checkpoint. Sinks that store canonical lines in batches call
 * `sealed` per record and `stored` per batch; a checkpoint signs {@link payload}, then `signed`.
 */
export class ChainProgress {
  /** Records sealed since the last checkpoint. */
  sinceCheckpoint = 0;
  /** Time of the first of them. */
  firstTime: string | null = null;
  writtenSeq: number;
  writtenHash: string;
  writtenTime: string | null = null;

  /** `writtenSeq`/`writtenHash`: the newest stored record (-1 and the genesis hash for a new chain). */
  constructor(writtenSeq: number, writtenHash: string) {
    this.writtenSeq = writtenSeq;
    this.writtenHash = writtenHash;
  }

  /** A record was sealed (its time is read only for the first since a checkpoint). */
  sealed(record: { readonly time: string }): void {
    this.sinceCheckpoint++;
    this.firstTime ??= record.time;
  }

  /** A batch of canonical lines is stored: its last line is now the newest record. */
  stored(batch: readonly string[]): void {
    const last = batch.at(-1) as string;
    this.writtenSeq += batch.length;
    this.writtenHash = hashOf(last);
    this.writtenTime = timeOf(last);
  }

  /** What a checkpoint issued now signs. */
  payload(
    chain: string,
    prevCheckpoint: string | null,
    trigger: CheckpointPayload['trigger'],
  ): CheckpointPayload {
    return {
      type: 'pipl-audit-checkpoint',
      chain,
      size: this.writtenSeq + 1,
      lastSeq: this.writtenSeq,
      lastHash: this.writtenHash,
      prevCheckpoint,
      firstTime: this.firstTime,
      lastTime: this.writtenTime,
      issuedAt: new Date().toISOString(),
      trigger,
    };
  }

  /** A checkpoint was stored: counting starts again. */
  signed(): void {
    this.sinceCheckpoint = 0;
    this.firstTime = null;
  }
}
