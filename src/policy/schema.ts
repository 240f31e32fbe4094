import { z } from 'zod';
import { CATEGORY_KEY, legalBasisSchema, operationSchema } from '../taxonomy/taxonomy.js';
import { transferSchema } from './transfers.js';

const PURPOSE_KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
/** ISO 8601 duration in years, months, weeks or days (`P3Y`, `P18M`, `P30D`). */
const DURATION = /^P(?=\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/;

const categorySchema = z.strictObject({
  sensitive: z.boolean(),
  description: z.string().optional(),
  reason: z.string().min(1).optional(),
  roles: z.array(z.string().min(1)).min(1, 'list at least one role, or leave roles out').optional(),
});

const processorSchema = z.strictObject({
  name: z.string().min(1, 'name the processor'),
  contractRef: z.string().min(1, 'give the entrustment contract reference (Art. 21)'),
});

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
  changedAt: z.number().int().nonnegative().optional(),
  childrenUnder14: z.boolean().optional(),
  transfers: z.array(transferSchema).optional(),
  processors: z.array(processorSchema).optional(),
  retention: z
    .string()
    .regex(DURATION, 'retention is an ISO 8601 duration such as P3Y or P30D (Art. 19)')
    .optional(),
  audit: z
    .strictObject({
      durability: z.enum(['durable', 'buffered']).optional(),
      onFailure: z.enum(['fail_closed', 'fail_open']).optional(),
    })
    .optional(),
  description: z.string().optional(),
});

export const policySchema = z.strictObject({
  notice: z.strictObject({
    id: z.string().min(1),
    version: z.number().int().nonnegative(),
    previousVersion: z.number().int().nonnegative().optional(),
  }),
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

export type PolicySpec = z.infer<typeof policySchema>;
export type PurposeSpec = PolicySpec['purposes'][string];
