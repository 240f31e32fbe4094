import { createHash } from 'node:crypto';
import { canonicalize } from '../audit/canonical.js';
import { PiplConfigError } from '../errors/errors.js';
import {
  BUILTIN_CATEGORIES,
  type BuiltinCategory,
  type CategoryDefinition,
  type LegalBasis,
  type Operation,
} from '../taxonomy/taxonomy.js';
import { checkPurpose } from './purpose-rules.js';
import { policySchema } from './schema.js';
import { compileTransfer, type Transfer, type TransferInput } from './transfers.js';
import { warnOnce } from './warn.js';

/** A purpose as the application declares it (PIPL Art. 6, 13, 16, 19, 21, 24, 38, 55). */
export interface PurposeInput<C extends string = string> {
  /** Lawful basis (Art. 13). Anything but `consent` passes without a token and is audited with its basis. */
  basis: LegalBasis;
  /** Every category this purpose may touch. Routes name a subset. */
  categories: readonly C[];
  /** Every operation this purpose may perform. Routes name one. */
  operations: readonly Operation[];
  /** Is the processing necessary to provide the service (Art. 16)? */
  necessaryForService: boolean;
  /** Personalised push or marketing by automated decision-making (Art. 24): honours the subject's opt-out. */
  personalization?: boolean;
  /** Marketing (e.g. promotional messages): honours the subject's marketing opt-out on every lawful basis. */
  marketing?: boolean;
  /** Personal-information impact assessment reference (Art. 55–56). Required where Art. 55 applies. */
  piaRef?: string;
  /**
   * What happens when consent is missing or insufficient. `deny` (default) answers 403;
   * `degrade` lets the handler run without the data (Art. 16). Only for non-necessary consent purposes.
   */
  onMissingConsent?: 'deny' | 'degrade';
  /** Sensitive PI for this purpose needs written consent (Art. 29, where a law requires it). */
  writtenConsent?: boolean;
  /**
   * Art. 14(2): the notice version at which this purpose's purpose, method or categories last changed.
   * Consent given under an older version needs re-consent (`reconsent_required`); a notice bump that
   * changes nothing material (a typo) leaves it valid. Default: the version where the purpose first
   * appeared, so no version minimum (a consent older than the purpose cannot grant it anyway).
   */
  changedAt?: number;
  /** @deprecated Same as `changedAt`. */
  noticeVersion?: number;
  /**
   * The purpose serves children under 14 (Art. 31): guardian consent is required whatever age band
   * the token states, and a token that states another age band is refused (`age_band_mismatch`).
   */
  childrenUnder14?: boolean;
  /** Art. 38–40: every cross-border transfer, with its mechanism. Required with operation `cross_border`. */
  transfers?: readonly TransferInput[];
  /** Art. 21: processors entrusted under contract. Required with operation `entrust`. */
  processors?: readonly { name: string; contractRef: string }[];
  /** Art. 19: how long the PI is kept for this purpose, ISO 8601 duration (`P3Y`). */
  retention?: string;
  /** How this purpose's decisions reach the audit log. */
  audit?: PurposeAuditInput;
  description?: string;
}

/** Per-purpose audit behaviour. */
export interface PurposeAuditInput {
  /**
   * `durable`: the record is on disk (fsync, shared by concurrent requests) before the handler runs.
   * `buffered`: written within milliseconds, off the request path. Default: `durable` for sensitive PI
   * (and children's PI), otherwise the guard's `audit.durable` setting.
   */
  durability?: 'durable' | 'buffered';
  /**
   * What happens when the log cannot take the record. `fail_closed` (default): 503
   * `audit_unavailable`. `fail_open`: the request goes on and a `dropped` marker with the count is
   * written when the log recovers. Not allowed for purposes touching sensitive PI.
   */
  onFailure?: 'fail_closed' | 'fail_open';
}

/** The whole processing policy: privacy notice, extra categories, purposes. */
export interface PolicyInput<P extends string = string, C extends string = never> {
  /**
   * The privacy notice (Art. 17) consents must have been given under. `previousVersion` says the
   * notice moved from that version: start-up then warns about every purpose that does not say, with
   * `changedAt`, whether it changed materially (Art. 14(2)).
   */
  notice: { id: string; version: number; previousVersion?: number };
  /** Extra categories, or overrides of built-in sensitivity (e.g. `government_id`). */
  categories?: { readonly [K in C]: CategoryDefinition };
  purposes: { readonly [K in P]: PurposeInput<BuiltinCategory | NoInfer<C>> };
}

/** A validated purpose, ready for per-request use. */
export interface Purpose {
  readonly key: string;
  readonly basis: LegalBasis;
  readonly categories: ReadonlySet<string>;
  readonly operations: ReadonlySet<Operation>;
  readonly necessaryForService: boolean;
  readonly personalization: boolean;
  readonly marketing: boolean;
  readonly piaRef: string | undefined;
  readonly onMissingConsent: 'deny' | 'degrade';
  readonly writtenConsent: boolean;
  /** Minimum notice version of a consent for this purpose (`changedAt`; 0 when not set). */
  readonly noticeVersion: number;
  readonly childrenUnder14: boolean;
  readonly transfers: readonly Transfer[];
  readonly processors: ReadonlyMap<string, { readonly name: string; readonly contractRef: string }>;
  readonly retention: string | undefined;
  readonly durability: 'durable' | 'buffered' | undefined;
  readonly failOpen: boolean;
}

/** A validated policy. Built once at start-up by {@link definePolicy}. */
export interface Policy<P extends string = string, C extends string = string> {
  readonly notice: { readonly id: string; readonly version: number; readonly previousVersion?: number };
  readonly purposes: ReadonlyMap<P, Purpose>;
  readonly categories: ReadonlyMap<BuiltinCategory | C, CategoryDefinition>;
  /** Is the category sensitive PI (Art. 28)? Unknown categories count as sensitive. */
  isSensitive(category: string): boolean;
  /** RFC 8785 canonical JSON of the validated policy: logged once per audit writer start. */
  readonly text: string;
  /** `sha256:` + hex digest of {@link Policy.text}: every decision record names it. */
  readonly digest: string;
  /** Start-up warnings (also emitted with `process.emitWarning`, code `PIPL_GUARD_POLICY`). */
  readonly warnings: readonly string[];
}

/**
 * Validates the processing policy once, at start-up. Every mistake is a {@link PiplConfigError}
 * whose message says what to change; nothing is re-checked per request.
 *
 * @example
 * ```ts
 * const policy = definePolicy({
 *   notice: { id: 'shop-privacy', version: 3 },
 *   purposes: {
 *     'order.fulfilment': { basis: 'contract', categories: ['contact'], operations: ['use'], necessaryForService: true },
 *     'health.records': {
 *       basis: 'consent', categories: ['medical_health'], operations: ['use', 'store'],
 *       necessaryForService: true, piaRef: 'PIA-2026-01',
 *     },
 *   },
 * });
 * ```
 */
export function definePolicy<const P extends string, const C extends string = never>(
  input: PolicyInput<P, C>,
): Policy<P, C> {
  const parsed = policySchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      // A bad record key is reported as "Invalid key in record"; the key schema's own message says what to change.
      const message =
        issue.code === 'invalid_key' ? issue.issues.map((inner) => inner.message).join('; ') : issue.message;
      return `  - ${issue.path.join('.') || '(policy)'}: ${message}`;
    });
    throw new PiplConfigError(`Invalid pipl-guard policy:\n${issues.join('\n')}`);
  }
  const spec = parsed.data;

  const problems: string[] = [];
  const warnings: string[] = [];
  const categories = new Map<string, CategoryDefinition>(Object.entries(BUILTIN_CATEGORIES));
  for (const [key, definition] of Object.entries(spec.categories ?? {})) {
    const builtin = (BUILTIN_CATEGORIES as Record<string, CategoryDefinition>)[key];
    // Lowering protection needs a reason the audit log can show (GB/T 45574 §4.1 assessment).
    if (builtin?.sensitive && !definition.sensitive && !definition.reason) {
      problems.push(`categories.${key}: built-in sensitive category made non-sensitive; give the reason`);
    }
    categories.set(key, definition);
  }
  const isSensitive = (category: string) => categories.get(category)?.sensitive ?? true;

  const purposes = new Map<string, Purpose>();
  for (const [key, purpose] of Object.entries(spec.purposes)) {
    const touchesSensitive = checkPurpose(key, purpose, spec.notice, categories, isSensitive, problems);
    if (spec.notice.previousVersion !== undefined && purpose.changedAt === undefined) {
      if (spec.notice.previousVersion !== spec.notice.version && purpose.noticeVersion === undefined) {
        warnings.push(
          `purposes.${key}: the notice moved from version ${spec.notice.previousVersion} to ${spec.notice.version}; set changedAt: ${spec.notice.version} if its purpose, method or categories changed (consent under older notices then needs re-consent, Art. 14), or the version of its last such change`,
        );
      }
    }
    purposes.set(key, {
      key,
      basis: purpose.basis,
      categories: new Set(purpose.categories),
      operations: new Set(purpose.operations),
      necessaryForService: purpose.necessaryForService,
      personalization: purpose.personalization ?? false,
      marketing: purpose.marketing ?? false,
      piaRef: purpose.piaRef,
      onMissingConsent: purpose.onMissingConsent ?? 'deny',
      writtenConsent: purpose.writtenConsent ?? false,
      noticeVersion: purpose.changedAt ?? purpose.noticeVersion ?? 0,
      childrenUnder14: purpose.childrenUnder14 ?? false,
      transfers: Object.freeze((purpose.transfers ?? []).map(compileTransfer)),
      processors: new Map((purpose.processors ?? []).map((p) => [p.name, Object.freeze({ ...p })])),
      retention: purpose.retention,
      durability:
        purpose.audit?.durability ?? (touchesSensitive || purpose.childrenUnder14 ? 'durable' : undefined),
      failOpen: purpose.audit?.onFailure === 'fail_open',
    });
  }
  if (problems.length > 0) {
    throw new PiplConfigError(`Invalid pipl-guard policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  for (const warning of warnings) warnOnce(warning);

  const text = canonicalize(spec);
  return Object.freeze({
    notice: Object.freeze({ ...spec.notice }),
    purposes: purposes as Map<P, Purpose>,
    categories: categories as Map<BuiltinCategory | C, CategoryDefinition>,
    isSensitive,
    text,
    digest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    warnings: Object.freeze(warnings),
  });
}
