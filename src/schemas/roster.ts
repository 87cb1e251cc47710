// A roster as JSON: a list of ids, or of {id, name?, email?}, bare or under "students".
import { z } from 'zod';

const MAX_ROSTER = 5000;
const Entry = z.union([
  z.string(),
  z.strictObject({
    id: z.string(),
    name: z.string().trim().max(200).optional(),
    email: z.string().trim().max(320).optional(),
  }),
]);
const List = z.array(Entry).max(MAX_ROSTER);
export const RosterBody = z
  .union([List, z.strictObject({ students: List })])
  .meta({ id: 'RosterBody', description: 'student ids, with optional display names and emails' });
export type RosterBody = z.infer<typeof RosterBody>;

export const RosterQuery = z.object({
  format: z
    .enum(['csv', 'json'])
    .default('csv')
    .meta({ description: 'csv: student,name,email,token for a mail merge' }),
});

export const RosterResponse = z
  .strictObject({
    assignment: z.string(),
    students: z.array(
      z.strictObject({
        student: z.string(),
        name: z.string().nullable(),
        email: z.string().nullable(),
        token: z.string(),
      }),
    ),
  })
  .meta({ id: 'Roster' });

export const TokenResponse = z
  .strictObject({ assignment: z.string(), student: z.string(), token: z.string() })
  .meta({ id: 'RotatedToken' });
