// Stored models: create, list, read (with weights a PyTorch user can load), replace weights.
import { z } from 'zod';
import { Init, ModelConfig, Weights, weightIssues } from './model.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ModelName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'letters, digits, ".", "_" and "-", at most 64, starting with a letter or digit',
  )
  .refine((s) => !UUID.test(s), 'a name may not look like a model id (a UUID)')
  .meta({ description: 'a unique name; /v2 addresses models by name or id' });

export const CreateModelBody = z
  .strictObject({ name: ModelName.optional(), config: ModelConfig, weights: Weights.optional(), init: Init.optional() })
  .superRefine((m, ctx) => {
    if ((m.weights === undefined) === (m.init === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of weights or init' });
    else if (m.weights)
      for (const i of weightIssues(m.config, m.weights))
        ctx.addIssue({ code: 'custom', path: ['weights', ...i.path], message: i.message });
  })
  .meta({ id: 'CreateModelBody' });
export type CreateModelBody = z.infer<typeof CreateModelBody>;

export const ModelParams = z.strictObject({
  id: z.string().min(1).max(128).meta({ description: 'the model id (or its name)' }),
});
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const ModelSummary = z
  .strictObject({
    id: z.string(),
    name: z.string().nullable(),
    config: ModelConfig,
    source: z.string().meta({ description: '"weights", "init:<seed>" or "run:<id>"' }),
    version: z.int().meta({ description: 'starts at 1; each PUT of weights adds one' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ModelSummary' });
export const ModelDetail = ModelSummary.extend({ weights: Weights }).meta({ id: 'ModelDetail' });
export const ModelList = z.strictObject({ models: z.array(ModelSummary), total: z.int() }).meta({ id: 'ModelList' });
