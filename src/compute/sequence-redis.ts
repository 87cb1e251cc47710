// Stateful sequences kept in Redis (UNROLL_REDIS_URL): chunks of one sequence may land on any process. Each
// sequence is a hash {ver, mv, B, h}: h is the (B, H) float64 state as its raw bytes (never decimals, so a
// sequence continued elsewhere gives the numbers of one process, bit for bit), `ver` counts its commits.
// A chunk reads the state, computes, and commits with a compare-and-set on `ver` (one Lua script): when two
// chunks of one sequence race on two processes, one commits and the other gets a 409 telling it to retry;
// neither ever applies to a state the other already moved on. Chunks arriving at one process still run one
// after another in arrival order, as in SequenceStore. Idle expiry is the key's TTL (UNROLL_SEQUENCE_IDLE_SECONDS).
// The caps count across processes: a sorted set of live keys (score: expiry) for UNROLL_MAX_SEQUENCES and
// one per owner for UNROLL_MAX_SEQUENCES_PER_TOKEN. Float64 bytes are the host's order (little-endian on
// every platform Node runs on in practice); processes of one cluster must share it.
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { sequenceErrors as errors, type SequenceLimits } from './sequence-errors.js';
import type { SequenceStates } from './sequence-states.js';
import { MAX_PENDING_PER_SEQUENCE, type SequenceFlags, type SequenceModel, type StepResult } from './sequence-store.js';

/** How often the cached counts (the gauges) are refreshed. */
const COUNT_EVERY_MS = 5000;

// KEYS: seq, live, ownerSet. ARGV: expectedVer, end(0/1), mv, B, h, ttlMs, now, maxLive, maxOwner(0: none), bytes
// returns [1, newVer] committed, [0] lost the race, [-1] full, [-2] owner full
const COMMIT = `
local cur = redis.call('HGET', KEYS[1], 'ver') or '0'
if cur ~= ARGV[1] then return {0} end
local now = tonumber(ARGV[7])
local ttl = tonumber(ARGV[6])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
  if KEYS[3] ~= '' then redis.call('ZREM', KEYS[3], KEYS[1]) end
  return {1, 0}
end
if cur == '0' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[8]) then return {-1} end
  if KEYS[3] ~= '' and tonumber(ARGV[9]) > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[9]) then return {-2} end
  end
end
local ver = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 'ver', ver, 'mv', ARGV[3], 'B', ARGV[4], 'h', ARGV[5], 'bytes', ARGV[10])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
if KEYS[3] ~= '' then redis.call('ZADD', KEYS[3], now + ttl, KEYS[1]) redis.call('PEXPIRE', KEYS[3], ttl) end
return {1, ver}
`;

// KEYS: seq, live, ownerSet. Deletes the sequence whatever its version.
const END = `
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
if KEYS[3] ~= '' then redis.call('ZREM', KEYS[3], KEYS[1]) end
return n
`;

type Flags = SequenceFlags;

interface Local {
  tail: Promise<void>;
  pending: number;
}

/** Redis failed under a request: a 503 the client can retry, naming the setting. */
function unavailable(e: unknown): AppError {
  const why = e instanceof Error ? e.message : String(e);
  return new AppError(
    'overloaded',
    `the shared sequence state (Redis, UNROLL_REDIS_URL) does not answer (${why}); retry shortly`,
    undefined,
    { 'retry-after': '1' },
  );
}

const toBytes = (h: Float64Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength);
function fromBytes(b: Buffer): Float64Array {
  const h = new Float64Array(b.length / Float64Array.BYTES_PER_ELEMENT);
  new Uint8Array(h.buffer).set(b);
  return h;
}

export class RedisSequenceStore implements SequenceStates {
  private readonly local = new Map<string, Local>();
  private timer: NodeJS.Timeout | null = null;
  private count = 0;
  private bytes = 0;

  constructor(
    readonly limits: SequenceLimits,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get size(): number {
    return this.count;
  }

  get stateBytes(): number {
    return this.bytes;
  }

  private keys(modelId: string, seqId: string, owner?: string): [string, string, string] {
    const enc = encodeURIComponent;
    return [
      `${this.prefix}seq:${enc(owner ?? '')}:${enc(modelId)}:${enc(seqId)}`,
      `${this.prefix}seq-live`,
      owner === undefined ? '' : `${this.prefix}seq-owner:${enc(owner)}`,
    ];
  }

  async step<R>(
    model: SequenceModel,
    flags: Flags,
    B: number,
    work: (h0: Float64Array | null) => Promise<StepResult<R>>,
  ): Promise<R> {
    const keys = this.keys(model.id, flags.id, flags.owner);
    const bytes = B * model.config.hiddenSize * Float64Array.BYTES_PER_ELEMENT;
    if (bytes > this.limits.maxBytes) throw errors.tooLarge(this.limits, bytes);
    let l = this.local.get(keys[0]);
    if (!l) {
      l = { tail: Promise.resolve(), pending: 0 };
      this.local.set(keys[0], l);
    }
    if (l.pending >= MAX_PENDING_PER_SEQUENCE) throw errors.busy(flags.id, l.pending);
    l.pending++;
    const prev = l.tail;
    let release!: () => void;
    l.tail = new Promise<void>((r) => {
      release = r;
    });
    try {
      await prev;
      return await this.run(model, flags, B, bytes, keys, work);
    } finally {
      l.pending--;
      if (l.pending === 0) this.local.delete(keys[0]);
      release();
    }
  }

  private async run<R>(
    model: SequenceModel,
    flags: Flags,
    B: number,
    bytes: number,
    keys: [string, string, string],
    work: (h0: Float64Array | null) => Promise<StepResult<R>>,
  ): Promise<R> {
    const name = model.name ?? model.id;
    let got: (Buffer | null)[];
    try {
      got = await this.redis.hmgetBuffer(keys[0], 'ver', 'mv', 'B', 'h');
    } catch (e) {
      throw unavailable(e);
    }
    const [verB, mvB, bB, hB] = got;
    const ver = verB ? verB.toString() : '0';
    let h0: Float64Array | null = null;
    if (!flags.start) {
      if (!verB || !hB) throw errors.unknown(this.limits, name, flags.id, false);
      const mv = Number(mvB?.toString());
      if (mv !== model.version) throw errors.newWeights(name, flags.id, mv, model.version);
      const b = Number(bB?.toString());
      if (b !== B) throw errors.otherBatch(flags.id, b, B);
      h0 = fromBytes(hB);
    }
    const { hT, result } = await work(h0);
    let r: number[];
    try {
      r = (await this.redis.eval(
        COMMIT,
        3,
        ...keys,
        ver,
        flags.end ? '1' : '0',
        String(model.version),
        String(B),
        toBytes(hT),
        String(this.limits.idleMs),
        String(this.now()),
        String(this.limits.maxSequences),
        String(flags.owner === undefined ? 0 : (this.limits.maxPerOwner ?? 0)),
        String(bytes),
      )) as number[];
    } catch (e) {
      throw unavailable(e);
    }
    if (r[0] === 1) return result;
    if (r[0] === -1) throw errors.full(this.limits);
    if (r[0] === -2) throw errors.ownerFull(this.limits, this.limits.maxPerOwner ?? 0);
    throw new AppError(
      'conflict',
      `sequence_id "${flags.id}" was moved on by another request (on this or another process) while this chunk ran; this chunk was not applied: send it again (chunks of one sequence must be sent one after another)`,
      undefined,
      { 'retry-after': '0' },
    );
  }

  async has(modelId: string, seqId: string, owner?: string): Promise<boolean> {
    try {
      return (await this.redis.hexists(this.keys(modelId, seqId, owner)[0], 'h')) === 1;
    } catch (e) {
      throw unavailable(e);
    }
  }

  async end(modelId: string, seqId: string, owner?: string): Promise<boolean> {
    try {
      return ((await this.redis.eval(END, 3, ...this.keys(modelId, seqId, owner))) as number) > 0;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** Refreshes the cached count and bytes (the gauges) now and then; expiry itself is Redis's TTL. */
  startSweeper(): void {
    if (this.timer) return;
    const refresh = async () => {
      try {
        const live = `${this.prefix}seq-live`;
        await this.redis.zremrangebyscore(live, '-inf', this.now());
        const members = await this.redis.zrange(live, 0, 999);
        this.count = await this.redis.zcard(live);
        let sum = 0;
        if (members.length) {
          const pipe = this.redis.pipeline();
          for (const m of members) pipe.hget(m, 'bytes');
          for (const [, v] of (await pipe.exec()) ?? []) sum += Number(v ?? 0);
        }
        // beyond the first thousand, an estimate from their mean
        this.bytes = members.length ? Math.round((sum / members.length) * this.count) : 0;
      } catch {
        // Redis is down: /ready says so; the gauges keep their last values
      }
    };
    void refresh();
    this.timer = setInterval(refresh, COUNT_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.local.clear();
  }
}
