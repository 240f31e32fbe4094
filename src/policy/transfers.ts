import { z } from 'zod';
import {
  type TransferExemption,
  type TransferMechanism,
  transferExemptionSchema,
  transferMechanismSchema,
} from '../taxonomy/taxonomy.js';

/**
 * One cross-border transfer the company declares (Art. 38–40): the destination, the overseas
 * recipient, and the Art. 38(1) mechanism that makes it lawful, with its reference and validity.
 */
export interface TransferInput {
  /** Destination country, ISO 3166-1 alpha-2 (`SG`, `DE`). */
  country: string;
  /** The overseas recipient, spelt as routes and consents name it. */
  recipient: string;
  /** Art. 38(1) mechanism, or an exemption of the 2024 cross-border data flow provisions. */
  mechanism: TransferMechanism;
  /** Which exemption, when `mechanism` is `exemption`. */
  exemption?: TransferExemption;
  /**
   * The CAC approval number (security assessment), provincial CAC filing number (standard contract),
   * certificate number (certification), or the internal record of the exemption analysis.
   */
  reference: string;
  /**
   * First and last day (or instant) the mechanism is valid. A date (`2026-01-01`) is a whole day in
   * China Standard Time (UTC+08:00), the time zone of CAC approvals and filings; an RFC 3339 time
   * with an offset is taken as given. `validUntil` is inclusive.
   */
  validFrom: string;
  validUntil: string;
}

/** A declared transfer, with its validity as epoch milliseconds. */
export interface Transfer {
  readonly country: string;
  readonly recipient: string;
  readonly mechanism: TransferMechanism;
  readonly exemption: TransferExemption | undefined;
  readonly reference: string;
  /** First valid instant, epoch ms. */
  readonly validFrom: number;
  /** Last valid instant, epoch ms (inclusive). */
  readonly validUntil: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const DAY_MS = 86_400_000;
const validity = z
  .string({ error: 'give a date (YYYY-MM-DD) or an RFC 3339 time with offset' })
  .refine((text) => (DATE.test(text) || DATE_TIME.test(text)) && !Number.isNaN(instant(text, 'from')), {
    message: 'give a date (YYYY-MM-DD) or an RFC 3339 time with offset',
  });

export const transferSchema = z
  .strictObject({
    country: z.string().regex(/^[A-Z]{2}$/, 'country is an ISO 3166-1 alpha-2 code such as SG'),
    recipient: z.string().min(1, 'name the overseas recipient'),
    mechanism: transferMechanismSchema,
    exemption: transferExemptionSchema.optional(),
    reference: z.string().min(1, 'give the filing, approval or certificate reference (Art. 38)'),
    validFrom: validity,
    validUntil: validity,
  })
  .superRefine((transfer, ctx) => {
    if (transfer.mechanism === 'exemption' && transfer.exemption === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['exemption'],
        message: 'say which exemption of the 2024 cross-border data flow provisions applies',
      });
    }
    if (transfer.mechanism !== 'exemption' && transfer.exemption !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['exemption'], message: 'only with mechanism "exemption"' });
    }
    if (instant(transfer.validUntil, 'until') < instant(transfer.validFrom, 'from')) {
      ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'validUntil is before validFrom' });
    }
  });

/** Epoch ms of a validity bound: a date starts (or ends) at midnight China Standard Time. */
function instant(text: string, bound: 'from' | 'until'): number {
  if (!DATE.test(text)) return Date.parse(text);
  const start = Date.parse(`${text}T00:00:00+08:00`);
  return bound === 'from' ? start : start + DAY_MS - 1;
}

/** Turns validated transfer input into its per-request form. */
export function compileTransfer(input: z.infer<typeof transferSchema>): Transfer {
  return Object.freeze({
    country: input.country,
    recipient: input.recipient,
    mechanism: input.mechanism,
    exemption: input.exemption,
    reference: input.reference,
    validFrom: instant(input.validFrom, 'from'),
    validUntil: instant(input.validUntil, 'until'),
  });
}

/** Why no declared transfer covers a moment, or the one that does. */
export type TransferCheck =
  | { readonly ok: true; readonly transfer: Transfer }
  | {
      readonly ok: false;
      readonly reason:
        | 'transfer_not_declared'
        | 'transfer_mechanism_expired'
        | 'transfer_mechanism_not_yet_valid';
    };

/**
 * Finds a declared transfer valid at `now` (Art. 38(1)). Several may be declared for one destination
 * (a renewed contract, an extended assessment): any valid one suffices. When none is valid, a
 * mechanism that starts later is reported before one that ended.
 */
export function checkTransfer(declared: readonly Transfer[], now: number): TransferCheck {
  if (declared.length === 0) return { ok: false, reason: 'transfer_not_declared' };
  let pending = false;
  for (const transfer of declared) {
    if (transfer.validFrom <= now && now <= transfer.validUntil) return { ok: true, transfer };
    if (transfer.validFrom > now) pending = true;
  }
  return { ok: false, reason: pending ? 'transfer_mechanism_not_yet_valid' : 'transfer_mechanism_expired' };
}
