// Prometheus gauges for the stateful sequences this instance holds: how many, and the bytes of state.
import { Gauge, type Registry } from 'prom-client';
import type { SequenceStore } from '../compute/sequence-store.js';

export function registerSequenceMetrics(registry: Registry, store: SequenceStore): void {
  new Gauge({
    name: 'unroll_sequences_live',
    help: 'Stateful sequences (sequence_id) live on this instance',
    registers: [registry],
    collect() {
      this.set(store.size);
    },
  });
  new Gauge({
    name: 'unroll_sequences_state_bytes',
    help: 'Bytes of hidden state the live sequences hold, against UNROLL_SEQUENCE_MAX_BYTES',
    registers: [registry],
    collect() {
      this.set(store.stateBytes);
    },
  });
}
