import type { AuditRecord, DecisionEvent } from './record.js';

/** `activity_id` values of OCSF API Activity (class 6003) and their captions, from the OCSF 1.3 schema. */
export const OCSF_API_ACTIVITIES = {
  0: 'Unknown',
  1: 'Create',
  2: 'Read',
  3: 'Update',
  4: 'Delete',
  99: 'Other',
} as const;

/**
 * OCSF API Activity ids for each processing operation (PIPL Art. 4, plus `cross_border`,
 * Art. 38–39, and `entrust`, Art. 21). API Activity describes what the call does to the resource:
 * collecting and storing create personal information, processing (加工) changes it, deleting
 * deletes it; using it, and transmitting, providing, disclosing, entrusting or transferring it
 * abroad all read it out of the system. The PIPL operation itself stays in `api.operation`.
 */
export const OCSF_ACTIVITY_BY_OPERATION: Readonly<Record<string, keyof typeof OCSF_API_ACTIVITIES>> = {
  collect: 1,
  store: 1,
  use: 2,
  process: 3,
  transmit: 2,
  provide: 2,
  disclose: 2,
  delete: 4,
  cross_border: 2,
  entrust: 2,
};

/**
 * Maps a decision record to an OCSF 1.3 API Activity event (class_uid 6003) with the
 * security-control fields (action, disposition). OCSF has no attributes for purpose, consent or
 * data subject, so those go under `unmapped.pipl`.
 */
export function toOcsf(record: AuditRecord & DecisionEvent): Record<string, unknown> {
  const id = Object.hasOwn(OCSF_ACTIVITY_BY_OPERATION, record.operation)
    ? (OCSF_ACTIVITY_BY_OPERATION[record.operation] as keyof typeof OCSF_API_ACTIVITIES)
    : 99;
  const activity = { id, name: OCSF_API_ACTIVITIES[id] };
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
        // What the record proves for accountability (Art. 23, 38–39, 55–56, 69), as the record holds it.
        ...(record.policy ? { policy: record.policy } : {}),
        ...(record.piaRef ? { piaRef: record.piaRef } : {}),
        ...(record.recipient ? { recipient: record.recipient } : {}),
        ...(record.transfer ? { transfer: record.transfer } : {}),
        ...(record.rightsRequest ? { rightsRequest: record.rightsRequest } : {}),
        ...(record.clientRequestId ? { clientRequestId: record.clientRequestId } : {}),
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
  // Appended, so the columns above keep their places: what a record proves for accountability.
  'instance',
  'cause',
  'client_request_id',
  'consent_type',
  'notice_id',
  'given_at',
  'guardian',
  'policy',
  'pia_ref',
  'recipient',
  'recipient_role',
  'contract_ref',
  'transfer_country',
  'transfer_recipient',
  'transfer_mechanism',
  'transfer_exemption',
  'transfer_reference',
  'transfer_sensitive',
  'rights_request',
  'rights_by',
  // The data subject's changes (withdrawal, opt-out, deletion started) and outcomes.
  'result',
  'scope',
  'kind',
  'opted_out',
  'via',
  'duration_ms',
] as const;

/** The fields of every record type a CSV row may hold, all optional: a row leaves out what its type lacks. */
type AnyRecord = AuditRecord &
  Partial<DecisionEvent> & {
    consentId?: string;
    result?: string;
    scope?: string | null;
    kind?: string | null;
    optedOut?: boolean | null;
    via?: string;
    durationMs?: number;
  };

/** One CSV row (RFC 4180) for a record, cells guarded against spreadsheet formula injection. */
export function toCsvRow(record: AuditRecord): string {
  const r = record as AnyRecord;
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
    // A decision's consent, or the consent a subject withdrew.
    r.consent?.id ?? r.consentId,
    r.consent?.noticeVersion,
    r.requestId,
    r.hash,
    r.enforcer?.instance,
    r.cause,
    r.clientRequestId,
    r.consent?.type,
    r.consent?.noticeId,
    r.consent?.givenAt,
    r.consent?.guardian,
    r.policy,
    r.piaRef,
    r.recipient?.name,
    r.recipient?.role,
    r.recipient?.contractRef,
    r.transfer?.country,
    r.transfer?.recipient,
    r.transfer?.mechanism,
    r.transfer?.exemption,
    r.transfer?.reference,
    r.transfer?.sensitive,
    r.rightsRequest?.kind,
    r.rightsRequest?.by,
    r.result,
    r.scope,
    r.kind,
    r.optedOut,
    r.via,
    r.durationMs,
  ];
  return cells.map(csvCell).join(',');
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
