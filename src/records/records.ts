import type { Policy } from '../policy/define-policy.js';

/** One cross-border transfer as declared (Art. 38–40): mechanism, reference and validity. */
export interface TransferEntry {
  country: string;
  recipient: string;
  mechanism: string;
  exemption: string | null;
  reference: string | null;
  /** As declared (`2026-01-01` or RFC 3339); epoch values are shown as RFC 3339 UTC. */
  validFrom: string | null;
  validUntil: string | null;
}

/** One purpose in the records of processing (the input to an Art. 55–56 impact assessment). */
export interface PurposeEntry {
  purpose: string;
  description: string | null;
  basis: string;
  categories: { key: string; sensitive: boolean }[];
  operations: string[];
  /** Everyone the PI goes to: declared recipients, entrusted processors, overseas recipients. */
  recipients: string[];
  /** Art. 21 processors under contract. */
  processors: { name: string; contractRef: string }[];
  transfers: TransferEntry[];
  piaRef: string | null;
  /** Art. 19 retention (ISO 8601 duration), or null when the policy does not say. */
  retention: string | null;
  /** Art. 16: necessary to provide the service. */
  necessaryForService: boolean;
  personalization: boolean;
  childrenUnder14: boolean;
  sensitive: boolean;
}

/** Records of processing derived from a validated policy. Keys and lists are sorted: stable for diffs. */
export interface ProcessingRecords {
  notice: { id: string; version: number };
  /** `sha256:` digest of the policy, when the policy carries one. */
  policyDigest: string | null;
  purposes: PurposeEntry[];
}

type Loose = Record<string, unknown>;

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const instant = (value: unknown): string | null =>
  typeof value === 'number' && Number.isFinite(value) ? new Date(value).toISOString() : text(value);
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The purpose as declared, from the policy's canonical text when it has one (declared validity dates). */
function declared(policy: Policy, key: string): Loose | undefined {
  const source = (policy as unknown as Loose).text;
  if (typeof source !== 'string') return undefined;
  try {
    return ((JSON.parse(source) as Loose).purposes as Record<string, Loose> | undefined)?.[key];
  } catch {
    return undefined;
  }
}

function transfersOf(compiled: Loose, spec: Loose | undefined): TransferEntry[] {
  const list = (Array.isArray(spec?.transfers) ? spec.transfers : compiled.transfers) as Loose[] | undefined;
  if (!Array.isArray(list)) return [];
  return list
    .map((t) => ({
      country: String(t.country ?? ''),
      recipient: String(t.recipient ?? ''),
      mechanism: String(t.mechanism ?? ''),
      exemption: text(t.exemption),
      reference: text(t.reference),
      validFrom: instant(t.validFrom),
      validUntil: instant(t.validUntil),
    }))
    .sort(
      (a, b) =>
        byString(a.country, b.country) ||
        byString(a.recipient, b.recipient) ||
        byString(a.validFrom ?? '', b.validFrom ?? ''),
    );
}

function processorsOf(compiled: Loose): { name: string; contractRef: string }[] {
  const raw = compiled.processors;
  const list = raw instanceof Map ? [...raw.values()] : Array.isArray(raw) ? raw : [];
  return (list as Loose[])
    .map((p) => ({ name: String(p.name ?? ''), contractRef: String(p.contractRef ?? '') }))
    .sort((a, b) => byString(a.name, b.name));
}

/**
 * Records of processing for every purpose of a policy: basis, categories (sensitive flagged),
 * operations, recipients, entrusted processors (Art. 21), cross-border transfers with mechanism and
 * validity (Art. 38–40), impact assessment (Art. 55–56), retention (Art. 19) and necessity (Art. 16).
 * Fields the policy does not declare are `null` or empty. Everything is sorted, so two runs over two
 * versions of a policy differ exactly where the policy changed.
 *
 * @example
 * ```ts
 * import { definePolicy } from 'pipl-guard';
 * import { recordsOfProcessing } from 'pipl-guard/records';
 * const records = recordsOfProcessing(definePolicy({
 *   notice: { id: 'shop', version: 1 },
 *   purposes: { 'order.fulfilment': { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true } },
 * }));
 * console.log(JSON.stringify(records, null, 2));
 * ```
 */
export function recordsOfProcessing(policy: Policy): ProcessingRecords {
  const purposes: PurposeEntry[] = [];
  for (const [key, purpose] of policy.purposes) {
    const compiled = purpose as unknown as Loose;
    const spec = declared(policy, key);
    const categories = [...purpose.categories]
      .sort(byString)
      .map((category) => ({ key: category, sensitive: policy.isSensitive(category) }));
    const transfers = transfersOf(compiled, spec);
    const processors = processorsOf(compiled);
    const named = Array.isArray(compiled.recipients) ? (compiled.recipients as unknown[]).map(String) : [];
    const recipients = [
      ...new Set([...named, ...processors.map((p) => p.name), ...transfers.map((t) => t.recipient)]),
    ].sort(byString);
    purposes.push({
      purpose: key,
      description: text(spec?.description ?? compiled.description),
      basis: purpose.basis,
      categories,
      operations: [...purpose.operations].sort(byString),
      recipients,
      processors,
      transfers,
      piaRef: purpose.piaRef ?? null,
      retention: text(compiled.retention),
      necessaryForService: purpose.necessaryForService,
      personalization: purpose.personalization,
      childrenUnder14: purpose.childrenUnder14,
      sensitive: purpose.childrenUnder14 || categories.some((c) => c.sensitive),
    });
  }
  purposes.sort((a, b) => byString(a.purpose, b.purpose));
  return {
    notice: { id: policy.notice.id, version: policy.notice.version },
    policyDigest: text((policy as unknown as Loose).digest),
    purposes,
  };
}
