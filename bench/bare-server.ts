// The bare Fastify route `npm run bench:http` compares unroll's compute routes with: the same Fastify, the
// same JSON body parsing (Fastify's default parser, the same body limit), and a constant answer. Whatever
// unroll spends above this is validation, the compute, the encoder, hooks, logging and metrics.
//   node --import tsx bench/bare-server.ts <port>
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 3903);
const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
const answer = { ok: true };
app.post('/v1/forward', async () => answer);
app.post('/v1/bptt', async () => answer);
app.get('/health', async () => answer);
await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
