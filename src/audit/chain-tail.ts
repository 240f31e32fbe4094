/** A chain's newest stored record, as a writer reads it to continue the chain after it. */
export interface ChainTail {
  seq: number;
  hash: string;
  /** A `writer_stop` here means the previous writer closed cleanly. */
  type: unknown;
}

/**
 * Reads the chain fields of the last stored line of `chain`: its seq and hash, or why the chain
 * cannot be continued from it (it is not a record, or it belongs to another chain). Shared by the
 * writers that resume a chain from stored lines (the file sink, `chainedAuditSink`); each words the
 * refusal for its own storage.
 */
export function chainTail(
  line: string,
  chain: string,
): ChainTail | { problem: 'not_a_record' } | { problem: 'other_chain'; found: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { problem: 'not_a_record' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { problem: 'not_a_record' };
  const record = parsed as Record<string, unknown>;
  const { seq, hash } = record;
  const isSeq = typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0;
  if (!isSeq || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return { problem: 'not_a_record' };
  if (record.chain !== chain) return { problem: 'other_chain', found: record.chain };
  return { seq, hash, type: record.type };
}
