import { checkLine as checkStoredLine, genesisHash } from './chain.js';
import { readAuditLines } from './reader.js';

/** What went wrong at the first bad record. */
export type AuditProblemKind =
  | 'malformed' // not JSON, or not an object with chain fields
  | 'not_canonical' // bytes differ from the canonical form: edited without re-hashing
  | 'hash_mismatch' // content changed
  | 'prev_mismatch' // link to the previous record broken
  | 'seq_gap' // records missing
  | 'reordered' // a record earlier in the chain appears later
  | 'chain_mismatch' // a record from another chain
  | 'truncated'; // the final line is incomplete

export interface AuditProblem {
  kind: AuditProblemKind;
  /** 1-based line number in the file. */
  line: number;
  /** Sequence number expected at this line. */
  expectedSeq: number;
  /** Sequence number found, when readable. */
  foundSeq?: number;
  message: string;
}

export interface AuditVerification {
  valid: boolean;
  /** Records checked before the first problem (all of them when valid). */
  records: number;
  chain?: string;
  lastSeq?: number;
  /** Hash of the last valid record: compare with a checkpoint kept elsewhere to detect truncation. */
  lastHash?: string;
  problem?: AuditProblem;
}

/**
 * Verifies a JSON-lines audit log: every line canonical, every hash right, seq gap-free from 0,
 * every `prev` pointing at the record before. Reports the first problem. Rotated segments
 * (`<file>.NNNNNNNNNNNN`) are read first, in chain order. Streams, so memory stays flat for any size.
 * For signed checkpoints, logs trimmed by retention, or every problem at once, use `verifyAuditTrail`.
 *
 * Deleting records from the end cannot be seen from the file alone; compare `lastSeq`/`lastHash`
 * with a copy kept outside the writer's reach.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog('./var/audit/pipl.jsonl');
 * if (!result.valid) console.error(result.problem?.message);
 * ```
 */
export async function verifyAuditLog(path: string): Promise<AuditVerification> {
  let lineNo = 0;
  let records = 0;
  let chain: string | undefined;
  let prev: string | undefined;
  let expectedSeq = 0;
  let problem: AuditProblem | undefined;

  const report = (kind: AuditProblemKind, message: string, foundSeq?: number): AuditProblem => ({
    kind,
    line: lineNo,
    expectedSeq,
    ...(foundSeq === undefined ? {} : { foundSeq }),
    message,
  });

  function checkLine(text: string): AuditProblem | undefined {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(text);
    } catch {
      return report('malformed', `Line ${lineNo} is not valid JSON`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return report('malformed', `Line ${lineNo} is not a JSON object`);
    }
    const { seq, hash } = record;
    if (typeof seq !== 'number' || typeof hash !== 'string' || typeof record.chain !== 'string') {
      return report('malformed', `Line ${lineNo} lacks chain, seq or hash`);
    }
    if (chain === undefined) {
      chain = record.chain;
      prev = genesisHash(chain);
    }
    if (record.chain !== chain)
      return report('chain_mismatch', `Line ${lineNo} belongs to chain "${record.chain}"`, seq);
    const check = checkStoredLine(record, text);
    if (!check.canonical) {
      return report(
        'not_canonical',
        `Line ${lineNo} (seq ${seq}) was altered: its bytes are not the canonical form`,
        seq,
      );
    }
    if (!check.hashOk) {
      return report(
        'hash_mismatch',
        `Record seq ${seq} at line ${lineNo} was modified: its hash does not match`,
        seq,
      );
    }
    if (seq < expectedSeq) {
      return report(
        'reordered',
        `Record seq ${seq} at line ${lineNo} is out of order (expected ${expectedSeq})`,
        seq,
      );
    }
    if (seq > expectedSeq) {
      return report(
        'seq_gap',
        `Records seq ${expectedSeq}..${seq - 1} are missing before line ${lineNo}`,
        seq,
      );
    }
    if (record.prev !== prev) {
      return report(
        'prev_mismatch',
        `Record seq ${seq} at line ${lineNo} does not link to the record before it`,
        seq,
      );
    }
    prev = hash;
    return undefined;
  }

  // readAuditLines splits on LF only, byte-exact: a CR or any other inserted byte counts as tampering.
  for await (const entry of readAuditLines(path)) {
    lineNo = entry.line;
    if (entry.torn) {
      problem = report(
        'truncated',
        `Line ${lineNo} is incomplete (no final newline): the last record is torn or was cut`,
      );
      break;
    }
    problem = checkLine(entry.text);
    if (problem) break;
    records++;
    expectedSeq++;
  }

  const result: AuditVerification = { valid: problem === undefined, records };
  if (chain !== undefined) result.chain = chain;
  if (records > 0) {
    result.lastSeq = expectedSeq - 1;
    if (prev !== undefined) result.lastHash = prev;
  }
  if (problem) result.problem = problem;
  return result;
}
