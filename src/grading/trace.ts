// POST /v1/trace's work: the tape of core/trace.ts for a validated body, its nodes named like the sheet,
// d output / d weight in the weights' shapes, and the same graph as Graphviz DOT.
import { materialize } from '../compute/models.js';
import { type ElmanConfig, PARAM_OF, WEIGHT_KEYS, type WeightKey, weightShapes } from '../core/model.js';
import { type TraceNode, type TraceSeed, trace } from '../core/trace.js';
import { Tensor } from '../schemas/tensor.js';
import type { TraceBody } from '../schemas/trace.js';

const w = (id: number) => `w_${id}`;
const SIGNIFICANT = 6;
const num = (v: number) => `${+v.toPrecision(SIGNIFICANT)}`;

export function traceRequest(body: TraceBody, maxParams: number) {
  const model = materialize(body.model, maxParams);
  const [B, T] = body.x.shape;
  const seed: TraceSeed =
    body.seed?.output === 'loss'
      ? { output: 'loss' }
      : { output: 'h', b: body.seed?.b ?? 0, t: body.seed?.t ?? T - 1, i: body.seed?.i ?? 0 };
  const r = trace({
    model,
    x: body.x.data,
    B,
    T,
    h0: body.h0?.data ?? null,
    targets: body.targets?.data ?? null,
    seed,
  });
  const shapes = weightShapes(model.config);
  return {
    seed,
    output: w(r.output),
    value: r.nodes[r.output - 1].value,
    nodes: r.nodes.map((n) => ({
      id: w(n.id),
      op: n.op,
      inputs: n.inputs.map(w),
      ...(n.name ? { name: n.name } : {}),
      expr: expression(n),
      value: n.value,
      adjoint: n.adjoint,
    })),
    grads: Object.fromEntries(WEIGHT_KEYS.map((k) => [k, new Tensor(r.grads[PARAM_OF[k]], shapes[k])])) as Record<
      WeightKey,
      Tensor
    >,
    dot: toDot(r.nodes, r.output, model.config),
  };
}

const escapeDot = (s: string) => s.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
/** A DOT string; its lines are joined with DOT's own \n escape (a centered line break). */
const quote = (...lines: string[]) => `"${lines.map(escapeDot).join('\\n')}"`;

/** Leaves as ellipses (weights shaded), operations as boxes, the seeded output with a double border; edges run forward. */
export function toDot(nodes: readonly TraceNode[], output: number, config: ElmanConfig): string {
  const lines = [
    'digraph unrolled {',
    '  rankdir=LR;',
    `  label=${quote(`Elman network (${config.activation}), d=${config.inputSize}, H=${config.hiddenSize}, C=${config.outputSize}: forward value and adjoint of each node`)};`,
    '  node [fontname="monospace", fontsize=10];',
  ];
  for (const n of nodes) {
    const leaf = n.op === 'input' || n.op === 'param';
    const attrs = [
      `shape=${leaf ? 'ellipse' : 'box'}`,
      ...(n.op === 'param' ? ['style=filled', 'fillcolor="#fff3c4"'] : []),
      ...(n.id === output ? ['peripheries=2'] : []),
      `label=${quote(expression(n), `value ${num(n.value)}`, `adjoint ${num(n.adjoint)}`)}`,
    ];
    lines.push(`  ${w(n.id)} [${attrs.join(', ')}];`);
  }
  for (const n of nodes) for (const i of n.inputs) lines.push(`  ${w(i)} -> ${w(n.id)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The sheet's line for a node: "w_1 = x_0", "w_3 = w_1·w_2", "w_4 = tanh(w_3) = h_0". */
export function expression(n: TraceNode): string {
  const w = (id: number) => `w_${id}`;
  const [a, b] = n.inputs.map(w);
  const rhs =
    n.op === 'input' || n.op === 'param'
      ? n.name!
      : n.op === 'mul'
        ? `${a}·${b}`
        : n.op === 'add'
          ? n.inputs.map(w).join(' + ')
          : n.op === 'sub'
            ? `${a} − ${b}`
            : `${n.op}(${n.inputs.map(w).join(', ')})`;
  const named = n.name && n.op !== 'input' && n.op !== 'param' ? ` = ${n.name}` : '';
  return `${w(n.id)} = ${rhs}${named}`;
}
