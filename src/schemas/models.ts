// Stored models: create, list, read (with weights a PyTorch user can load), replace weights.
import { z } from 'zod';
import { Init, ModelConfig, modelIssues, WeightsInput, WeightsOutput } from './model.js';
import { LAYOUTS } from './state-dict.js';

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
  .strictObject({
    name: ModelName.optional(),
    config: ModelConfig,
    weights: WeightsInput.optional(),
    init: Init.optional(),
  })
  .superRefine(modelIssues, { when: () => true })
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
export type ModelSummary = z.infer<typeof ModelSummary>;
export const ModelDetail = ModelSummary.extend({
  weights: WeightsOutput.meta({ description: 'the state_dict in the layout asked for (?layout=, default myRNN)' }),
}).meta({ id: 'ModelDetail' });

/** ?layout=torch.nn.RNN reads the weights back as nn.RNN + nn.Linear's state_dict, with these module names. */
export const LayoutQuery = z.strictObject({
  layout: z
    .enum(LAYOUTS)
    .default('myRNN')
    .meta({ description: 'myRNN: U.weight …; torch.nn.RNN: <rnn>.weight_ih_l0 …, <head>.weight, <head>.bias' }),
  rnn: z
    .string()
    .regex(/^[A-Za-z0-9_.]{0,64}$/)
    .default('rnn')
    .meta({ description: 'the nn.RNN module’s attribute name (torch.nn.RNN layout); empty: no prefix' }),
  head: z
    .string()
    .regex(/^[A-Za-z0-9_.]{0,64}$/)
    .default('fc')
    .meta({ description: 'the nn.Linear head’s attribute name (torch.nn.RNN layout); empty: no prefix' }),
});
export type LayoutQuery = z.infer<typeof LayoutQuery>;
export const ModelList = z.strictObject({ models: z.array(ModelSummary), total: z.int() }).meta({ id: 'ModelList' });
