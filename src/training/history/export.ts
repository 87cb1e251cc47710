// Every step of a run with all its metrics, as CSV (one row per step) or JSON Lines (the step frames as
// recorded), streamed a page of the log at a time: a page is read only when the client has taken the last.
import { Readable } from 'node:stream';
import { WEIGHT_KEYS } from '../../core/model.js';
import { type HistoryRepo, LAST_STEP } from '../../db/history.repo.js';

/** Step events read, and encoded, per page. */
export const EXPORT_PAGE = 1024;

export type ExportFormat = 'csv' | 'jsonl';

export const EXPORT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/jsonl; charset=utf-8',
};

interface Frame {
  step: number;
  loss: number;
  accuracy: number;
  gradNorm: Record<string, number>;
  dhNorm: number[];
}

/** The CSV columns for a run, from its first step frame: the weights in the sheet's order, then t = 0..T−1. */
export function csvColumns(first: Frame): { header: string; row: (f: Frame) => string } {
  const keys = Object.keys(first.gradNorm);
  const grads = [
    ...WEIGHT_KEYS.filter((k) => keys.includes(k)),
    ...keys.filter((k) => !(WEIGHT_KEYS as readonly string[]).includes(k)),
  ];
  const T = first.dhNorm.length;
  const header = [
    'step',
    'loss',
    'accuracy',
    ...grads.map((k) => `gradNorm.${k}`),
    ...Array.from({ length: T }, (_, t) => `dhNorm.${t}`),
  ].join(',');
  // String(x) is the shortest text that parses back to the same float64
  const cell = (x: number | undefined | null) => (x === undefined || x === null ? '' : String(x));
  const row = (f: Frame) => {
    let s = `${f.step},${cell(f.loss)},${cell(f.accuracy)}`;
    for (const k of grads) s += `,${cell(f.gradNorm[k])}`;
    for (let t = 0; t < T; t++) s += `,${cell(f.dhNorm[t])}`;
    return s;
  };
  return { header, row };
}

export function exportSteps(repo: HistoryRepo, runId: string, format: ExportFormat): Readable {
  async function* pages() {
    let columns: ReturnType<typeof csvColumns> | null = null;
    let last = -1;
    for (;;) {
      const rows = await repo.frames(runId, 'step', last + 1, LAST_STEP, EXPORT_PAGE);
      if (rows.length === 0) break;
      let out = '';
      for (const r of rows) {
        if (r.step <= last) continue; // a step recorded twice (a resumed run): once
        last = r.step;
        if (format === 'jsonl') {
          out += `${r.frame}\n`;
          continue;
        }
        const f = JSON.parse(r.frame) as Frame;
        if (!columns) {
          columns = csvColumns(f);
          out += `${columns.header}\n`;
        }
        out += `${columns.row(f)}\n`;
      }
      yield out;
    }
    if (format === 'csv' && !columns) yield 'step,loss,accuracy\n';
  }
  return Readable.from(pages(), { objectMode: false, highWaterMark: 1 << 16 });
}
