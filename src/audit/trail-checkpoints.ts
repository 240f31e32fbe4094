import type { JSONWebKeySet } from 'jose';
import { type CheckpointPayload, checkpointDigest, verifyCheckpoint } from './checkpoint.js';
import type { AuditTrailReport, TrailProblem } from './trail-report.js';

/** A hash a signed checkpoint (or the trusted one) says a seq must carry. */
export interface Expectation {
  hash: string;
  label: string;
  /** Signed at a rotation: a segment boundary, the only place retention may start the log. */
  rotation: boolean;
  lastTime: string | null;
}

/** Ranges a signed fork marker says someone other than the writer stored. */
export interface ForgedRange {
  fromSeq: number;
  toSeq: number;
  label: string;
  reported?: boolean;
}

/** What the checkpoints hold the records to, read before the walk over the records. */
export interface CheckpointExpectations {
  /** Per seq, the hashes signed checkpoints require there. */
  expectations: Map<number, Expectation[]>;
  forged: ForgedRange[];
  /** The newest seq any valid checkpoint (or fork marker, or the trusted checkpoint) covers; -1 if none. */
  newestCovered: number;
  /** The trusted checkpoint's seq, when one was given and it verified. */
  trustedSeq: number | undefined;
}

/**
 * Checks the signed checkpoints (and the trusted one) and says which seqs must carry which hash.
 * Counts them in `report.checkpoints`; what is wrong with them goes to `problem`.
 */
export async function readCheckpointExpectations(
  jwsList: readonly string[],
  options: { keys?: JSONWebKeySet; trustedCheckpoint?: string },
  report: AuditTrailReport,
  problem: (p: TrailProblem) => void,
): Promise<CheckpointExpectations> {
  const expectations = new Map<number, Expectation[]>();
  const expect = (seq: number, hash: string, label: string, payload?: CheckpointPayload) => {
    const list = expectations.get(seq) ?? [];
    list.push({
      hash,
      label,
      rotation: payload?.trigger === 'rotation',
      lastTime: payload?.lastTime ?? null,
    });
    expectations.set(seq, list);
  };
  const forged: ForgedRange[] = [];
  let previous: { digest: string; payload: CheckpointPayload } | undefined;
  let newestCovered = -1;
  for (const [index, jws] of jwsList.entries()) {
    report.checkpoints.total++;
    const label = `checkpoint #${index + 1}`;
    if (!options.keys) {
      // Unchecked without keys, but a line that is not even a compact JWS is damage, not a checkpoint.
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(jws)) {
        report.checkpoints.invalid++;
        problem({ kind: 'checkpoint_malformed', message: `${label} INVALID: not a compact JWS` });
      }
      continue;
    }
    const check = await verifyCheckpoint(jws, options.keys);
    if (!check.ok) {
      report.checkpoints.invalid++;
      const kind =
        check.reason === 'unknown_key'
          ? 'checkpoint_unknown_key'
          : check.reason === 'signature'
            ? 'checkpoint_signature'
            : 'checkpoint_malformed';
      problem({ kind, message: `${label} (kid ${check.kid ?? '?'}) INVALID: ${check.message}` });
      previous = undefined;
      continue;
    }
    const { payload } = check;
    if (!report.checkpoints.kids.includes(check.kid)) report.checkpoints.kids.push(check.kid);
    let ok = true;
    if (previous && payload.prevCheckpoint !== previous.digest) {
      ok = false;
      problem({
        kind: 'checkpoint_missing',
        message: `${label} does not follow the checkpoint before it: a checkpoint was removed or replaced`,
      });
    }
    if (previous && payload.lastSeq < previous.payload.lastSeq) {
      ok = false;
      problem({
        kind: 'checkpoint_mismatch',
        message: `${label} covers fewer records than the one before it (fork)`,
      });
    }
    if (ok) report.checkpoints.valid++;
    else report.checkpoints.invalid++;
    if (payload.lastSeq >= 0) expect(payload.lastSeq, payload.lastHash, label, payload);
    if (payload.fork) {
      // The writer's signed word that these rows are not its own: they are pinned, and flagged.
      forged.push({ ...payload.fork, label });
      expect(payload.fork.toSeq, payload.fork.toHash, `${label} (fork marker)`);
      newestCovered = Math.max(newestCovered, payload.fork.toSeq);
    }
    newestCovered = Math.max(newestCovered, payload.lastSeq);
    previous = { digest: checkpointDigest(jws), payload };
  }
  if (jwsList.length > 0 && !options.keys)
    report.notices.push(`${jwsList.length} checkpoints present but not checked: no keys given`);
  let trustedSeq: number | undefined;
  if (options.trustedCheckpoint) {
    const check = options.keys ? await verifyCheckpoint(options.trustedCheckpoint, options.keys) : undefined;
    if (!check?.ok) {
      problem({
        kind: 'trusted_checkpoint',
        message: `trusted checkpoint INVALID: ${check ? check.message : 'no keys given to check it'}`,
      });
    } else {
      trustedSeq = check.payload.lastSeq;
      report.truncation = {
        detectable: true,
        note: `newest records checked against the trusted checkpoint (seq ${trustedSeq}); records after it are not covered by it`,
      };
      if (trustedSeq >= 0) {
        expect(trustedSeq, check.payload.lastHash, 'trusted checkpoint', check.payload);
        newestCovered = Math.max(newestCovered, trustedSeq);
      }
    }
  }

  return { expectations, forged, newestCovered, trustedSeq };
}
