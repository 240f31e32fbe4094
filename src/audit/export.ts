import type { AuditRecord, DecisionEvent } from './record.js';

/** OCSF API Activity activity ids, from our Art. 4 operation. */
const OCSF_ACTIVITY: Record<string, { id: number; name: string }> = {
  collect: { id: 1, name: 'Create' },
  store: { id: 1, name: 'Create' },
  use: { id: 2, name: 'Read' },
  process: { id: 3, name: 'Update' },
  delete: { id: 4, name: 'Delete' },
};

/**
 * Maps a decision record to an OCSF 1.3 API Activity event (class_uid 6003) with the
 * security-control fields (action, disposition). OCSF has no attributes for purpose, consent or
 * data subject, so those go under `unmapped.pipl`.
 */
export function toOcsf(record: AuditRecord & DecisionEvent): Record<string, unknown> {
  const activity = OCSF_ACTIVITY[record.operation] ?? { id: 99, name: 'Other' };
  const allowed = record.decision !== 'deny';
  return {
    class_uid: 6003,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: 600300 + activity.id,
    time: Date.parse(record.time),
    severity_id: allowed ? 1 : 3,
    severity: allowed ? 'Informational' : 'Medium',
    status_id: allowed ? 1 : 2,
    status: allowed ? 'Success' : 'Failure',
    status_code: record.reason,
    action_id: allowed ? 1 : 2,
    action: allowed ? 'Allowed' : 'Denied',
    disposition_id: allowed ? 1 : 2,
    disposition: allowed ? 'Allowed' : 'Blocked',
    actor: {
      user: record.actor
        ? { uid: record.actor.id, type: record.actor.type ?? 'Unknown' }
        : { type: 'Unknown' },
    },
    api: { operation: record.operation, request: { uid: record.requestId } },
    src_endpoint: {},
    http_request: { http_method: record.method, url: { path: record.route } },
    http_response: { code: record.status },
    resources: [
      {
        type: 'personal_information',
        ...(record.subject ? { owner: { uid: record.subject } } : {}),
        data_classifications: record.categories.map((category) => ({ category })),
      },
    ],
    policy: { uid: record.purpose, name: record.purpose },
    metadata: {
      version: '1.3.0',
      uid: record.id,
      sequence: record.seq,
      log_name: record.chain,
      correlation_uid: record.requestId,
      product: { name: record.enforcer.service, vendor_name: 'pipl-guard', version: record.enforcer.version },
    },
    unmapped: {
      pipl: {
        purpose: record.purpose,
        categories: record.categories,
        basis: record.basis,
        consent: record.consent,
        reason: record.reason,
        ...(record.cause ? { cause: record.cause } : {}),
        integrity: { prev: record.prev, hash: record.hash },
      },
    },
  };
}

export const CSV_COLUMNS = [
  'time',
  'seq',
  'type',
  'decision',
  'reason',
  'status',
  'purpose',
  'categories',
  'operation',
  'basis',
  'subject',
  'actor',
  'method',
  'route',
  'consent_id',
  'notice_version',
  'request_id',
  'hash',
] as const;

/** One CSV row (RFC 4180) for a record, cells guarded against spreadsheet formula injection. */
export function toCsvRow(record: AuditRecord): string {
  const r = record as Partial<DecisionEvent> & AuditRecord;
  const cells = [
    r.time,
    r.seq,
    r.type,
    r.decision,
    r.reason,
    r.status,
    r.purpose,
    r.categories?.join(';'),
    r.operation,
    r.basis,
    r.subject,
    r.actor?.id,
    r.method,
    r.route,
    r.consent?.id,
    r.consent?.noticeVersion,
    r.requestId,
    r.hash,
  ];
  return cells.map(csvCell).join(',');
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
