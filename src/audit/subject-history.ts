import { createPseudonymizer } from './pseudonymize.js';
import { queryAudit } from './query.js';
import type { AuditLine } from './reader.js';
import type { AuditRecord, DecisionEvent } from './record.js';
import type { SubjectEvent } from './subject-events.js';

/** One processing of the subject's personal information, as the log recorded it. */
export interface ProcessingEntry {
  time: string;
  purpose: string;
  basis: string;
  operation: string;
  categories: readonly string[];
  /** Who received it (`provide`, `cross_border`), when the record names one. */
  recipients: readonly string[];
  /** `allow`, or `degrade` (the handler ran without the data it was refused). */
  decision: 'allow' | 'degrade';
  route: string;
  /** Set for rights requests (Art. 44-48) the subject or an agent made. */
  rightsRequest?: string;
  /** Plain-language line, e.g. "used contact, identity_basic for account.profile (basis: consent)". */
  text: string;
}

/** One purpose, summed up over the period. */
export interface PurposeSummary {
  purpose: string;
  basis: string;
  categories: string[];
  operations: string[];
  recipients: string[];
  count: number;
  first: string;
  last: string;
}

/** What the log shows about one person (Art. 45): processing, and their own withdrawals and choices. */
export interface SubjectHistory {
  /** The pseudonymised id searched for (never the clear id). */
  subject: string;
  purposes: PurposeSummary[];
  processing: ProcessingEntry[];
  /** Refusals (the guard stopped the processing): counted, not listed. */
  refused: number;
  /** Withdrawals, opt-outs and deletions started, in plain language. */
  changes: { time: string; type: string; result: string; text: string }[];
}

const VERBS: Record<string, string> = {
  collect: 'collected',
  store: 'stored',
  use: 'used',
  process: 'processed',
  transmit: 'transmitted',
  provide: 'provided',
  disclose: 'disclosed',
  delete: 'deleted',
  cross_border: 'transferred abroad',
  entrust: 'entrusted to a processor',
};

function describeDecision(record: DecisionEvent, recipients: readonly string[]): string {
  const verb = VERBS[record.operation] ?? record.operation;
  const to = recipients.length > 0 ? ` to ${recipients.join(', ')}` : '';
  const degraded = record.decision === 'degrade' ? ' (served without this data)' : '';
  const rights = record.rightsRequest ? ` — ${record.rightsRequest.kind} request` : '';
  return `${verb} ${record.categories.join(', ')}${to} for ${record.purpose} (basis: ${record.basis})${rights}${degraded}`;
}

function describeChange(record: SubjectEvent): string {
  const outcome =
    record.result === 'done' ? '' : ` — ${record.result}${record.reason ? ` (${record.reason})` : ''}`;
  if (record.type === 'consent_withdrawal') {
    const what =
      record.scope === 'consent'
        ? `consent ${record.consentId}`
        : record.scope === 'purpose'
          ? `consent to ${record.purpose}`
          : record.scope === 'all'
            ? 'all consents'
            : 'consent';
    return `withdrew ${what}${outcome}`;
  }
  if (record.type === 'preference_change') {
    const kind = record.kind === 'personalization' ? 'personalisation' : (record.kind ?? 'a preference');
    return `${record.optedOut === false ? 'opted back in to' : 'opted out of'} ${kind}${outcome}`;
  }
  const ref = record.reference ? ` (reference ${record.reference})` : '';
  return `deletion started after withdrawal${ref}${outcome}`;
}

/**
 * Everything the audit log shows about one data subject (Art. 45 right of access): each processing
 * (purpose, categories, operation, recipients, time) and each withdrawal or preference change, in
 * plain language. The clear subject id is HMAC'd with the audit key and never leaves this function.
 *
 * @example
 * ```ts
 * const history = await subjectHistory('./var/audit', 'u42', { key: process.env.PIPL_AUDIT_KEY! });
 * for (const entry of history.processing) console.log(entry.time, entry.text);
 * ```
 */
export async function subjectHistory(
  source: string | AsyncIterable<AuditLine>,
  subject: string,
  options: { key: string | Uint8Array; from?: string | Date; to?: string | Date },
): Promise<SubjectHistory> {
  const pseudonym = createPseudonymizer(options.key)(subject);
  const history: SubjectHistory = {
    subject: pseudonym,
    purposes: [],
    processing: [],
    refused: 0,
    changes: [],
  };
  const purposes = new Map<string, PurposeSummary>();
  const query = {
    ...(options.from ? { from: options.from } : {}),
    ...(options.to ? { to: options.to } : {}),
  };
  // queryAudit's subject filter only matches decisions; subject events carry the same pseudonym.
  for await (const record of queryAudit(source, query)) {
    if ((record as { subject?: unknown }).subject !== pseudonym) continue;
    if (record.type === 'decision') {
      if (record.decision === 'deny') {
        history.refused++;
        continue;
      }
      addProcessing(record, history, purposes);
    } else if (isSubjectEvent(record)) {
      history.changes.push({
        time: record.time,
        type: record.type,
        result: record.result,
        text: describeChange(record),
      });
    }
  }
  history.purposes = [...purposes.values()];
  return history;
}

function isSubjectEvent(record: AuditRecord): record is AuditRecord & SubjectEvent {
  return (
    record.type === 'consent_withdrawal' ||
    record.type === 'preference_change' ||
    record.type === 'deletion_started'
  );
}

function addProcessing(
  record: AuditRecord & DecisionEvent,
  history: SubjectHistory,
  purposes: Map<string, PurposeSummary>,
): void {
  const recipients = [record.recipient?.name, record.transfer?.recipient].filter(
    (r): r is string => typeof r === 'string',
  );
  const entry: ProcessingEntry = {
    time: record.time,
    purpose: record.purpose,
    basis: record.basis,
    operation: record.operation,
    categories: record.categories,
    recipients,
    decision: record.decision as 'allow' | 'degrade',
    route: record.route,
    text: describeDecision(record, recipients),
  };
  if (record.rightsRequest) entry.rightsRequest = record.rightsRequest.kind;
  history.processing.push(entry);
  let summary = purposes.get(record.purpose);
  if (!summary) {
    summary = {
      purpose: record.purpose,
      basis: record.basis,
      categories: [],
      operations: [],
      recipients: [],
      count: 0,
      first: record.time,
      last: record.time,
    };
    purposes.set(record.purpose, summary);
  }
  summary.count++;
  summary.last = record.time;
  for (const category of record.categories)
    if (!summary.categories.includes(category)) summary.categories.push(category);
  if (!summary.operations.includes(record.operation)) summary.operations.push(record.operation);
  for (const recipient of recipients)
    if (!summary.recipients.includes(recipient)) summary.recipients.push(recipient);
}
