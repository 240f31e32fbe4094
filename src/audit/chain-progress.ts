import type { CheckpointPayload } from './checkpoint.js';
import { hashOf, timeOf } from './file-io.js';

/**
 * Where a sink's chain stands for its checkpoints: the newest stored record (seq, hash, time), and
 * how far the last checkpoint reached. Sinks that store canonical lines in batches call `stored` per
 * batch; a checkpoint signs {@link payload}, then `signed`. What a checkpoint still owes is derived
 * from stored seqs, not counted as records are sealed: a count reset after an asynchronous signing
 * forgot the records sealed meanwhile, and a batch of them could then go without its checkpoint.
 */
export class ChainProgress {
  writtenSeq: number;
  writtenHash: string;
  writtenTime: string | null = null;
  /** Time of the first record stored since the last checkpoint. */
  firstTime: string | null = null;
  /** The last seq a checkpoint covers (or the newest stored when there is none yet). */
  private checkpointedSeq: number;

  /** `writtenSeq`/`writtenHash`: the newest stored record (-1 and the genesis hash for a new chain). */
  constructor(writtenSeq: number, writtenHash: string) {
    this.writtenSeq = writtenSeq;
    this.writtenHash = writtenHash;
    this.checkpointedSeq = writtenSeq;
  }

  /** Records stored since the last checkpoint. */
  get sinceCheckpoint(): number {
    return this.writtenSeq - this.checkpointedSeq;
  }

  /** A batch of canonical lines is stored: its last line is now the newest record. */
  stored(batch: readonly string[]): void {
    const last = batch.at(-1) as string;
    this.firstTime ??= timeOf(batch[0] as string);
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

  /** The checkpoint of `payload` was stored. */
  signed(payload: CheckpointPayload): void {
    this.checkpointedSeq = payload.lastSeq;
    if (this.writtenSeq === payload.lastSeq) this.firstTime = null;
  }
}
