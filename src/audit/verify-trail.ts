import type { JSONWebKeySet } from 'jose';
import { type ScannedRecord, scanCanonical } from './canonical-scan.js';
import { checkLine, genesisHash, type HashAlg, scannedHashOk } from './chain.js';
import { type AuditLine, lineProblem, readAuditLineBatches, readCheckpointLines } from './reader.js';
import { segmentFirstSeq } from './segments.js';
import { readCheckpointExpectations } from './trail-checkpoints.js';
import { type AuditTrailReport, emptyTrailReport, type TrailProblem } from './trail-report.js';

export type { AuditTrailReport, TrailProblem, TrailProblemKind } from './trail-report.js';

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
  const report = emptyTrailReport();
  const maxProblems = options.maxProblems ?? 1000;
  const problem = (p: TrailProblem) => {
    report.valid = false;
    if (report.problems.length < maxProblems) report.problems.push(p);
  };

  // Checkpoints first: which seqs must carry which hash.
  const jwsList =
    options.checkpoints ?? (typeof source === 'string' ? await readCheckpointLines(source) : []);
  const { expectations, forged, newestCovered, trustedSeq } = await readCheckpointExpectations(
    jwsList,
    options,
    report,
    problem,
  );

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
          : `${atOf(entry)} seq ${seq} INVALID: record modified (its bytes are not the canonical form${lineEndHint(entry.text)})`,
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

/**
 * Why a line that is otherwise a record may not be canonical: it still carries a line end (a reader
 * that kept the newline, a copy converted to CRLF). The record is reported modified all the same:
 * its bytes are not the ones that were hashed.
 */
function lineEndHint(text: string): string {
  if (text.endsWith('\r'))
    return '; it ends in a carriage return: the file was converted to CRLF line endings';
  if (text.endsWith('\n')) return '; it ends in a newline: hand the verifier each line without it';
  return '';
}
