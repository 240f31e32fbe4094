import type { JSONWebKeySet } from 'jose';
import { type ScannedRecord, scanCanonical } from './canonical-scan.js';
import { checkLine, genesisHash, type HashAlg, scannedHashOk } from './chain.js';
import { type CheckpointPayload, checkpointDigest, verifyCheckpoint } from './checkpoint.js';
import { type AuditLine, lineProblem, readAuditLineBatches, readCheckpointLines } from './reader.js';
import { segmentFirstSeq } from './segments.js';

export type TrailProblemKind =
  | 'record_malformed'
  | 'record_modified'
  | 'records_missing'
  | 'record_reordered'
  | 'record_duplicated'
  | 'record_forged'
  | 'link_broken'
  | 'chain_mismatch'
  | 'torn_line'
  | 'checkpoint_signature'
  | 'checkpoint_unknown_key'
  | 'checkpoint_malformed'
  | 'checkpoint_missing'
  | 'checkpoint_mismatch'
  | 'log_truncated'
  | 'trusted_checkpoint';

export interface TrailProblem {
  kind: TrailProblemKind;
  message: string;
  file?: string;
  line?: number;
  /** The record's seq, or the first seq of a missing range. */
  seq?: number;
  /** Last seq of a missing range. */
  seqTo?: number;
  /** For records: the seq the chain called for at this line, and the seq found there. */
  expectedSeq?: number;
  foundSeq?: number;
  /** For `record_modified`: its bytes are not canonical, or its hash does not match its content. */
  cause?: 'not_canonical' | 'hash_mismatch';
}

export interface AuditTrailReport {
  valid: boolean;
  chain: string | undefined;
  records: { total: number; invalid: number };
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  lastHash: string | undefined;
  firstTime: string | undefined;
  lastTime: string | undefined;
  checkpoints: {
    total: number;
    valid: number;
    invalid: number;
    kids: string[];
    lastCoveredSeq: number | undefined;
  };
  /** Records after the newest valid checkpoint: not yet signed. */
  unsignedTail: number;
  /**
   * Could deleting the newest records be seen? Only against a trusted checkpoint kept outside the
   * writer's reach: a log cut back together with its checkpoint file verifies otherwise.
   */
  truncation: { detectable: boolean; note: string };
  /** Hash of the chain's newest records: `sha256`, or `sm3` when its writer_start says so. */
  hashAlg?: HashAlg;
  /** Things an auditor should know that are not integrity failures: unclean restarts, dropped markers. */
  notices: string[];
  problems: TrailProblem[];
}

interface Expectation {
  hash: string;
  label: string;
  /** Signed at a rotation: a segment boundary, the only place retention may start the log. */
  rotation: boolean;
  lastTime: string | null;
}

const UNANCHORED =
  'deletion of the newest records cannot be detected without a trusted checkpoint (--trusted-checkpoint): a log cut back together with its checkpoints to an older checkpoint verifies';

export interface VerifyTrailOptions {
  /** Public keys (JWKS) checkpoints must be signed with. Without keys, checkpoints are not trusted. */
  keys?: JSONWebKeySet;
  /** A checkpoint JWS kept outside the writer's reach: the log must still contain what it covers. */
  trustedCheckpoint?: string;
  /** Checkpoint JWS lines; default: the `.checkpoints` file(s) beside the log. */
  checkpoints?: readonly string[];
  /** Stop listing problems after this many (default 1000); counting goes on. */
  maxProblems?: number;
  /** Stop at the first problem in the records (what `verifyAuditLog` reports). */
  stopAtFirstProblem?: boolean;
  /** Longest line taken as a record, in bytes (default 1 MiB); longer lines are bad records. */
  maxLineBytes?: number;
  /** Called every 100k records with the count, for progress on long runs. */
  onProgress?: (records: number) => void;
}

/**
 * Verifies a whole audit trail — every record, every segment, every signed checkpoint — and
 * reports each problem, not just the first: modified records, missing seq ranges, reordering,
 * broken links, checkpoint signatures, forks, truncation and the unsigned tail. Streams.
 *
 * @example
 * ```ts
 * const report = await verifyAuditTrail('./var/audit/pipl.jsonl', { keys: jwks });
 * for (const problem of report.problems) console.log(problem.message);
 * ```
 */
export async function verifyAuditTrail(
  source: string | AsyncIterable<AuditLine>,
  options: VerifyTrailOptions = {},
): Promise<AuditTrailReport> {
  const report: AuditTrailReport = {
    valid: true,
    chain: undefined,
    records: { total: 0, invalid: 0 },
    firstSeq: undefined,
    lastSeq: undefined,
    lastHash: undefined,
    firstTime: undefined,
    lastTime: undefined,
    checkpoints: { total: 0, valid: 0, invalid: 0, kids: [], lastCoveredSeq: undefined },
    unsignedTail: 0,
    truncation: { detectable: false, note: UNANCHORED },
    notices: [],
    problems: [],
  };
  const maxProblems = options.maxProblems ?? 1000;
  const problem = (p: TrailProblem) => {
    report.valid = false;
    if (report.problems.length < maxProblems) report.problems.push(p);
  };

  // Checkpoints first: which seqs must carry which hash.
  const jwsList =
    options.checkpoints ?? (typeof source === 'string' ? await readCheckpointLines(source) : []);
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
  /** Ranges a signed fork marker says someone other than the writer stored. */
  const forged: { fromSeq: number; toSeq: number; label: string; reported?: boolean }[] = [];
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

  let expectedSeq = 0;
  let prev: string | undefined;
  /** The log starts after whole segments that retention removed at a signed rotation boundary. */
  let retainedFrom: number | undefined;
  let trustedSeen = false;
  // Each writer_start names the hash of the records it writes; undefined until known.
  let alg: HashAlg | undefined;

  /** Should the walk stop here: a problem was found, and the caller asked to stop at the first? */
  function stop(): boolean {
    return options.stopAtFirstProblem === true && !report.valid;
  }

  /**
   * Checks one line; returns false when verification must stop here (`stopAtFirstProblem`).
   * Nothing is allocated for a record that is fine beyond its parse: the place of a problem
   * (`placeOf`, `atOf`) is only built when there is one to report.
   */
  function inspect(entry: AuditLine): boolean {
    const expectedAtStart = expectedSeq;
    if (entry.torn) {
      problem({
        ...placeOf(entry, expectedAtStart),
        kind: 'torn_line',
        message: `${atOf(entry)} INVALID: incomplete final line (torn write or cut file)`,
      });
      return !stop();
    }
    // Most lines are canonical records: read their chain fields in one pass without parsing them.
    // Anything the scanner cannot vouch for, and the rare records whose other fields are read
    // (writer_start, dropped), are parsed; the parse decides what the scanner did not.
    const scanned = scanCanonical(entry.text);
    // Bytes that are not UTF-8, an over-long or absurdly nested line: a bad record, reported. A
    // line the scanner read is nested no deeper than the limit: that check is done.
    const unreadable = lineProblem(entry, options.maxLineBytes, scanned !== undefined);
    if (unreadable !== undefined) {
      report.records.total++;
      report.records.invalid++;
      problem({
        ...placeOf(entry, expectedAtStart),
        kind: 'record_malformed',
        message: `${atOf(entry)} INVALID: ${unreadable}`,
      });
      return !stop();
    }
    // A scanned record holds only the chain fields (seq, hash, chain, prev, type, time): any other
    // member this walk reads must come from a parse, as for those two types.
    const record =
      scanned !== undefined && scanned.type !== 'writer_start' && scanned.type !== 'dropped'
        ? (scanned as unknown as Record<string, unknown>)
        : parseObject(entry.text);
    const seq = record.seq;
    report.records.total++;
    if (typeof seq !== 'number' || typeof record.hash !== 'string' || typeof record.chain !== 'string') {
      report.records.invalid++;
      problem({
        ...placeOf(entry, expectedAtStart),
        kind: 'record_malformed',
        message: `${atOf(entry)} INVALID: not an audit record (bad JSON or chain fields)`,
      });
      return !stop();
    }
    if (record.type === 'writer_start') {
      if (record.hashAlg !== undefined && record.hashAlg !== 'sm3') {
        report.records.invalid++;
        problem({
          ...placeOf(entry, expectedAtStart, seq),
          seq,
          kind: 'record_malformed',
          message: `${atOf(entry)} seq ${seq} INVALID: unknown hashAlg`,
        });
        return !stop();
      }
      alg = record.hashAlg === 'sm3' ? 'sm3' : 'sha256';
    }
    if (report.chain === undefined) {
      report.chain = record.chain;
      report.firstSeq = seq;
      expectedSeq = seq;
      prev = seq === 0 ? genesisHash(record.chain, alg ?? 'sha256') : undefined;
      // Retention removes whole old segments only, each ending at a signed rotation checkpoint. So
      // a log may start later than seq 0 only at line 1 of a segment named for that seq, linking to
      // the hash a rotation checkpoint signed; a cut inside a file is deletion, not retention.
      const segmentStart = entry.line === 1 && segmentFirstSeq(entry.file) === seq;
      const anchor =
        seq > 0 && segmentStart
          ? expectations.get(seq - 1)?.find((e) => e.rotation && e.hash === record.prev)
          : undefined;
      if (anchor) {
        prev = record.prev as string;
        retainedFrom = seq;
        const pinned =
          trustedSeq !== undefined && trustedSeq < seq
            ? `; the trusted checkpoint seq ${trustedSeq} lies in them`
            : '';
        report.notices.push(
          `log starts at seq ${seq}: seq 0..${seq - 1} were removed (retention): whole segments, records up to ${anchor.lastTime ?? '?'}; ${anchor.label} vouches for the start${pinned}`,
        );
      } else if (seq !== 0) {
        problem({
          ...placeOf(entry, expectedAtStart, seq),
          expectedSeq: 0,
          seq: 0,
          seqTo: seq - 1,
          kind: 'records_missing',
          message: `seq 0..${seq - 1} INVALID: missing (the log does not start at the beginning of its chain)`,
        });
        if (stop()) return false;
      }
    }
    if (record.chain !== report.chain) {
      report.records.invalid++;
      problem({
        ...placeOf(entry, expectedAtStart, seq),
        seq,
        kind: 'chain_mismatch',
        message: `${atOf(entry)} seq ${seq} INVALID: belongs to chain "${record.chain}"`,
      });
      return !stop();
    }
    let check = checkOf(entry.text, record, scanned, alg ?? 'sha256');
    if (alg === undefined) {
      // A log that starts after retention, not at a writer_start: the record says which hash by matching.
      if (check.hashOk) alg = 'sha256';
      else {
        const sm3 = checkOf(entry.text, record, scanned, 'sm3');
        if (sm3.hashOk) {
          check = sm3;
          alg = 'sm3';
        }
      }
    }
    report.hashAlg = alg;
    const intact = check.canonical && check.hashOk;
    if (!intact) {
      report.records.invalid++;
      problem({
        ...placeOf(entry, expectedAtStart, seq),
        seq,
        kind: 'record_modified',
        cause: check.canonical ? 'hash_mismatch' : 'not_canonical',
        message: check.canonical
          ? `${atOf(entry)} seq ${seq} INVALID: record modified (hash does not match its content)`
          : `${atOf(entry)} seq ${seq} INVALID: record modified (its bytes are not the canonical form)`,
      });
      if (stop()) return false;
    }
    if (seq < expectedSeq) {
      report.records.invalid++;
      const kind = seq === expectedSeq - 1 && record.hash === prev ? 'record_duplicated' : 'record_reordered';
      problem({
        ...placeOf(entry, expectedAtStart, seq),
        seq,
        kind,
        message: `${atOf(entry)} seq ${seq} INVALID: ${kind === 'record_duplicated' ? 'duplicate of the record before' : `out of order (expected seq ${expectedSeq})`}`,
      });
      return !stop();
    }
    if (seq > expectedSeq) {
      problem({
        ...placeOf(entry, expectedAtStart, seq),
        seq: expectedSeq,
        seqTo: seq - 1,
        kind: 'records_missing',
        message: `seq ${expectedSeq}..${seq - 1} INVALID: ${seq - expectedSeq} records missing before ${atOf(entry)}`,
      });
    } else if (intact && prev !== undefined && record.prev !== prev) {
      report.records.invalid++;
      problem({
        ...placeOf(entry, expectedAtStart, seq),
        seq,
        kind: 'link_broken',
        message: `${atOf(entry)} seq ${seq} INVALID: does not link to the record before it`,
      });
    }
    if (stop()) return false;
    if (seq === trustedSeq) trustedSeen = true;
    const fork =
      forged.length === 0 ? undefined : forged.find((range) => seq >= range.fromSeq && seq <= range.toSeq);
    if (fork) {
      report.records.invalid++;
      if (!fork.reported) {
        fork.reported = true;
        problem({
          ...placeOf(entry, expectedAtStart, seq),
          seq: fork.fromSeq,
          seqTo: fork.toSeq,
          kind: 'record_forged',
          message: `seq ${fork.fromSeq}..${fork.toSeq} INVALID: forged: stored by someone other than the chain's writer (${fork.label} is a signed fork marker)`,
        });
      }
    }
    const signed = expectations.get(seq);
    if (signed !== undefined) {
      for (const expected of signed) {
        if (expected.hash === record.hash) continue;
        problem({
          ...placeOf(entry, expectedAtStart, seq),
          seq,
          kind: 'checkpoint_mismatch',
          message: `${expected.label} INVALID: signed hash for seq ${seq} differs from the log (history rewritten or fork)`,
        });
      }
    }
    if (record.type === 'writer_start' && record.cleanShutdown === false) {
      report.notices.push(
        `unclean restart at seq ${seq} (writer_start, cleanShutdown=false${record.repairedBytes ? `, ${record.repairedBytes} torn bytes removed` : ''})`,
      );
    }
    if (record.type === 'dropped') {
      const outcomes =
        typeof record.outcomes === 'number' && record.outcomes > 0 ? ` and ${record.outcomes} outcomes` : '';
      report.notices.push(
        `seq ${seq}: ${record.count} decisions${outcomes} were not recorded between ${record.from} and ${record.to} (${record.cause})`,
      );
    }
    prev = record.hash as string;
    expectedSeq = seq + 1;
    report.lastSeq = seq;
    report.lastHash = record.hash as string;
    report.firstTime ??= record.time as string;
    report.lastTime = record.time as string;
    if (report.records.total % 100_000 === 0) options.onProgress?.(report.records.total);
    return !stop();
  }

  if (typeof source === 'string') {
    // A file is checked a read chunk at a time: one await per chunk, not per line.
    for await (const batch of readAuditLineBatches(source, { maxLineBytes: options.maxLineBytes })) {
      for (const entry of batch) if (!inspect(entry)) return report;
    }
  } else {
    for await (const entry of source) if (!inspect(entry)) return report;
  }
  const lastSeq = report.lastSeq ?? -1;
  if (newestCovered > lastSeq) {
    problem({
      kind: 'log_truncated',
      seq: lastSeq + 1,
      seqTo: newestCovered,
      message: `seq ${lastSeq + 1}..${newestCovered} INVALID: signed by a checkpoint but missing from the log (truncated)`,
    });
  }
  const retained = retainedFrom !== undefined && trustedSeq !== undefined && trustedSeq < retainedFrom;
  if (trustedSeq !== undefined && trustedSeq >= 0 && trustedSeq <= lastSeq && !trustedSeen && !retained) {
    problem({
      kind: 'trusted_checkpoint',
      seq: trustedSeq,
      message: `trusted checkpoint seq ${trustedSeq} INVALID: its record is missing from the log (deleted, not removed by retention)`,
    });
  }
  report.checkpoints.lastCoveredSeq = newestCovered >= 0 ? newestCovered : undefined;
  report.unsignedTail =
    options.keys || options.trustedCheckpoint ? Math.max(0, lastSeq - newestCovered) : lastSeq + 1;
  return report;
}

/** Is the line canonical, and does its hash match? A scanned line is canonical already. */
function checkOf(
  text: string,
  record: Record<string, unknown>,
  scanned: ScannedRecord | undefined,
  alg: HashAlg,
): { canonical: boolean; hashOk: boolean } {
  if (scanned === undefined) return checkLine(record, text, alg);
  return { canonical: true, hashOk: scannedHashOk(text, scanned, alg) };
}

/** The line's JSON if it is an object; otherwise an empty object, which is not a record. */
function parseObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : {};
}

/** Where a problem is: the line, the seq the walk expected there and, once read, the seq found. */
function placeOf(
  entry: AuditLine,
  expectedSeq: number,
  foundSeq?: number,
): { file: string; line: number; expectedSeq: number; foundSeq?: number } {
  const place = { file: entry.file, line: entry.line, expectedSeq };
  return foundSeq === undefined ? place : { ...place, foundSeq };
}

/** `file:line` of a line, for messages. */
function atOf(entry: AuditLine): string {
  return `${entry.file}:${entry.line}`;
}
