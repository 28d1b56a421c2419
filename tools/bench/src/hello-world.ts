import Fastify from 'fastify';

/*
 * The yardstick of bench:webhooks: a plain Fastify hello-world (no logger, no hooks), run as its
 * own process beside the service and driven by the same load generator. PORT from the environment.
 */
const app = Fastify();
app.get('/', async () => ({ hello: 'world' }));
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`hello-world listening on ${address}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
