import { z } from 'zod';
import { PiplConfigError } from '../errors/errors.js';
import {
  BUILTIN_CATEGORIES,
  type BuiltinCategory,
  CATEGORY_KEY,
  type CategoryDefinition,
  type LegalBasis,
  legalBasisSchema,
  type Operation,
  operationSchema,
} from '../taxonomy/taxonomy.js';

/** A purpose as the application declares it (PIPL Art. 6, 13, 16, 24, 55). */
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
  /** Minimum privacy-notice version a consent must have been given under. Defaults to the policy's. */
  noticeVersion?: number;
  /**
   * The purpose serves children under 14 (Art. 31): guardian consent is required whatever age band
   * the token states, so a consent service that mislabels a child cannot skip the rule.
   */
  childrenUnder14?: boolean;
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
  /** The privacy notice (Art. 17) consents must have been given under. */
  notice: { id: string; version: number };
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
  readonly noticeVersion: number;
  readonly childrenUnder14: boolean;
  readonly durability: 'durable' | 'buffered' | undefined;
  readonly failOpen: boolean;
}

/** A validated policy. Built once at start-up by {@link definePolicy}. */
export interface Policy<P extends string = string, C extends string = string> {
  readonly notice: { readonly id: string; readonly version: number };
  readonly purposes: ReadonlyMap<P, Purpose>;
  readonly categories: ReadonlyMap<BuiltinCategory | C, CategoryDefinition>;
  /** Is the category sensitive PI (Art. 28)? Unknown categories count as sensitive. */
  isSensitive(category: string): boolean;
}

const PURPOSE_KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

const categorySchema = z.strictObject({ sensitive: z.boolean(), description: z.string().optional() });

const purposeSchema = z.strictObject({
  basis: legalBasisSchema,
  categories: z.array(z.string().regex(CATEGORY_KEY)).min(1, 'name at least one category'),
  operations: z.array(operationSchema).min(1, 'name at least one operation'),
  necessaryForService: z.boolean({ error: 'say whether the purpose is necessary for the service (Art. 16)' }),
  personalization: z.boolean().optional(),
  marketing: z.boolean().optional(),
  piaRef: z.string().min(1).optional(),
  onMissingConsent: z.enum(['deny', 'degrade']).optional(),
  writtenConsent: z.boolean().optional(),
  noticeVersion: z.number().int().nonnegative().optional(),
  childrenUnder14: z.boolean().optional(),
  audit: z
    .strictObject({
      durability: z.enum(['durable', 'buffered']).optional(),
      onFailure: z.enum(['fail_closed', 'fail_open']).optional(),
    })
    .optional(),
  description: z.string().optional(),
});

const policySchema = z.strictObject({
  notice: z.strictObject({ id: z.string().min(1), version: z.number().int().nonnegative() }),
  categories: z
    .record(
      z.string().regex(CATEGORY_KEY, 'category keys are lower_snake, optionally dotted'),
      categorySchema,
    )
    .optional(),
  purposes: z
    .record(
      z.string().regex(PURPOSE_KEY, 'purpose keys are dotted lower_snake words, e.g. marketing.personalized'),
      purposeSchema,
    )
    .refine((purposes) => Object.keys(purposes).length > 0, 'declare at least one purpose'),
});

/** Operations that need an impact assessment whatever the categories (Art. 55(3)(4)). */
const PIA_OPERATIONS: ReadonlySet<Operation> = new Set(['provide', 'disclose', 'cross_border']);

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

  const categories = new Map<string, CategoryDefinition>(Object.entries(BUILTIN_CATEGORIES));
  for (const [key, definition] of Object.entries(spec.categories ?? {})) categories.set(key, definition);
  const isSensitive = (category: string) => categories.get(category)?.sensitive ?? true;

  const problems: string[] = [];
  const purposes = new Map<string, Purpose>();
  for (const [key, purpose] of Object.entries(spec.purposes)) {
    for (const category of purpose.categories) {
      if (!categories.has(category)) {
        problems.push(`purposes.${key}: unknown category "${category}"; declare it under policy.categories`);
      }
    }
    // Art. 28: all personal information of a child under 14 is sensitive.
    const touchesSensitive = purpose.categories.some(isSensitive) || purpose.childrenUnder14 === true;
    const piaOperation = purpose.operations.find((operation) => PIA_OPERATIONS.has(operation));
    if (!purpose.piaRef) {
      if (touchesSensitive) {
        problems.push(
          `purposes.${key}: touches sensitive PI, so set piaRef to its impact assessment (Art. 55(1))`,
        );
      } else if (piaOperation) {
        problems.push(
          `purposes.${key}: operation "${piaOperation}" needs piaRef, an impact assessment reference (Art. 55)`,
        );
      } else if (purpose.personalization) {
        problems.push(
          `purposes.${key}: automated personalisation needs piaRef, an impact assessment reference (Art. 55(2))`,
        );
      }
    }
    if (purpose.onMissingConsent === 'degrade') {
      if (purpose.basis !== 'consent') {
        problems.push(`purposes.${key}: onMissingConsent "degrade" only applies to basis "consent"`);
      }
      if (purpose.necessaryForService) {
        problems.push(
          `purposes.${key}: a purpose necessary for the service cannot degrade; set necessaryForService: false or remove onMissingConsent`,
        );
      }
    }
    if (purpose.audit?.onFailure === 'fail_open' && touchesSensitive) {
      problems.push(
        `purposes.${key}: sensitive PI cannot be processed unaudited; remove audit.onFailure "fail_open"`,
      );
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
      noticeVersion: purpose.noticeVersion ?? spec.notice.version,
      childrenUnder14: purpose.childrenUnder14 ?? false,
      durability:
        purpose.audit?.durability ?? (touchesSensitive || purpose.childrenUnder14 ? 'durable' : undefined),
      failOpen: purpose.audit?.onFailure === 'fail_open',
    });
  }
  if (problems.length > 0) {
    throw new PiplConfigError(`Invalid pipl-guard policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }

  return Object.freeze({
    notice: Object.freeze({ ...spec.notice }),
    purposes: purposes as Map<P, Purpose>,
    categories: categories as Map<BuiltinCategory | C, CategoryDefinition>,
    isSensitive,
  });
}
