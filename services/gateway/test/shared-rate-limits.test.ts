import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buckets } from '@offramp/contracts';
import { provisionStreams } from '@offramp/kit';
import { testMessaging } from '@offramp/kit/testing';
import { natsRateLimitStore } from '../src/edge/rate-limit-store.ts';
import { startTestGateway, tokenFor, type TestGateway } from './harness.ts';

type Shared = Awaited<ReturnType<typeof testMessaging>>;

/** Two gateway replicas on one NATS namespace: what a Deployment with two pods is. */
async function twoReplicas(env: Record<string, string>): Promise<{ one: TestGateway; two: TestGateway; cleanup(): Promise<void> }> {
  const messaging: Shared = await testMessaging('gateway-replicas');
  const one = await startTestGateway({ messaging, env });
  const two = await startTestGateway({ messaging, env });
  return {
    one,
    two,
    async cleanup() {
      await one.cleanup();
      await two.cleanup();
      await messaging.cleanup();
    },
  };
}

const eligibility = (gw: TestGateway, token: string) => gw.inject({ url: '/psp/alfred/eligibility', token }).then((r) => r.statusCode);

describe('rate limits shared by gateway replicas (RATE_LIMIT_STORE=nats, the default)', () => {
  let replicas: Awaited<ReturnType<typeof twoReplicas>>;
  beforeAll(async () => {
    replicas = await twoReplicas({ RATE_LIMIT_MAX: '3', RATE_LIMIT_ANON_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(async () => replicas?.cleanup());

  it('when a trader used the budget on one replica, then the other answers 429 RATE_LIMITED, and another trader is not affected', async () => {
    const { one, two } = replicas;
    const alice = tokenFor('alice-shared');
    expect([await eligibility(one, alice), await eligibility(two, alice), await eligibility(one, alice)]).toEqual([200, 200, 200]);
    const limited = await two.inject({ url: '/psp/alfred/eligibility', token: alice });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({
      success: false,
      error: { code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } },
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(await eligibility(one, alice)).toBe(429);
    expect([await eligibility(two, tokenFor('bob-shared')), await eligibility(one, tokenFor('bob-shared'))]).toEqual([200, 200]);
  });

  it('when requests without a valid token come from one IP to both replicas, then they share the anonymous budget', async () => {
    const { one, two } = replicas;
    const anonymous = (gw: TestGateway) => gw.inject({ url: '/psp/alfred/balances', token: 'garbage' }).then((r) => r.statusCode);
    expect([await anonymous(one), await anonymous(two), await anonymous(one), await anonymous(two)]).toEqual([401, 401, 429, 429]);
  });

  it('when both replicas count one trader at the same time, then exactly the budget is let through', async () => {
    const { one, two } = replicas;
    const carol = tokenFor('carol-shared');
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => eligibility(i % 2 === 0 ? one : two, carol)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });

  it('when a trader takes stream tickets on both replicas, then the ticket limit is shared too', async () => {
    const { one, two } = replicas;
    const dave = tokenFor('dave-shared');
    const ticket = (gw: TestGateway) =>
      gw.inject({ method: 'POST', url: '/psp/alfred/events/ticket', token: dave }).then((r) => r.statusCode);
    // 30 a minute: 15 on each replica use them up.
    const taken = await Promise.all(Array.from({ length: 30 }, (_, i) => ticket(i % 2 === 0 ? one : two)));
    expect(taken.every((s) => s === 201)).toBe(true);
    expect([await ticket(one), await ticket(two)]).toEqual([429, 429]);
  });
});

describe('rate limits per replica (RATE_LIMIT_STORE=memory)', () => {
  let replicas: Awaited<ReturnType<typeof twoReplicas>>;
  beforeAll(async () => {
    replicas = await twoReplicas({
      RATE_LIMIT_MAX: '2',
      RATE_LIMIT_ANON_MAX: '2',
      RATE_LIMIT_WINDOW_MS: '60000',
      RATE_LIMIT_STORE: 'memory',
    });
  });
  afterAll(async () => replicas?.cleanup());

  it('when a trader used the budget on one replica, then the other still answers: each counts alone', async () => {
    const { one, two } = replicas;
    const erin = tokenFor('erin-memory');
    expect([await eligibility(one, erin), await eligibility(one, erin), await eligibility(one, erin)]).toEqual([200, 200, 429]);
    expect([await eligibility(two, erin), await eligibility(two, erin), await eligibility(two, erin)]).toEqual([200, 200, 429]);
  });
});

describe('rate limits when the shared store is out of reach', () => {
  let replicas: Awaited<ReturnType<typeof twoReplicas>>;
  beforeAll(async () => {
    replicas = await twoReplicas({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(async () => replicas?.cleanup());

  it('when the RATE_LIMITS bucket is gone, then 503 PSP_UNAVAILABLE and no service is called; once it is provisioned again, requests pass', async () => {
    const { one } = replicas;
    const { messaging } = one;
    const frank = tokenFor('frank-store');
    await messaging.jsm.streams.delete(`KV_${messaging.streamName(buckets.rateLimits.name)}`);
    const before = one.fake.received.length;
    const refused = await one.inject({ url: '/psp/alfred/eligibility', token: frank });
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ success: false, error: { code: 'PSP_UNAVAILABLE' } });
    expect(refused.headers['retry-after']).toBe('1');
    expect(one.fake.received).toHaveLength(before);
    await provisionStreams(messaging);
    expect(await eligibility(one, frank)).toBe(200);
  });
});

describe('the shared store itself (natsRateLimitStore)', () => {
  let messaging: Shared;
  beforeAll(async () => {
    messaging = await testMessaging('gateway-rate-store');
  });
  afterAll(async () => messaging?.cleanup());

  const counter = () => {
    const Store = natsRateLimitStore(messaging, 'api');
    const store = new Store();
    return (key: string, max = 100) =>
      new Promise<number>((resolve, reject) => store.incr(key, (err, res) => (err ? reject(err) : resolve(res!.current)), 60_000, max));
  };

  it('when one replica counts a key it wrote last, then each count is one write with no read; a count another replica made meanwhile is kept', async () => {
    const one = counter();
    const two = counter();
    expect(await one('sub:grace')).toBe(1);
    const before = messaging.nc.stats().outMsgs;
    expect(await one('sub:grace')).toBe(2);
    expect(await one('sub:grace')).toBe(3);
    // Two counts, two messages out: the writes (compare-and-set at the revision it remembers).
    expect(messaging.nc.stats().outMsgs - before).toBe(2);
    expect(await two('sub:grace')).toBe(4);
    // Its memory is stale now: the write fails, the key is read, the count goes on from the other's.
    expect(await one('sub:grace')).toBe(5);
    expect(await two('sub:grace')).toBe(6);
  });

  it('when a replica remembers a count under the limit but the bucket says it is over, then the answer follows the bucket', async () => {
    const one = counter();
    const two = counter();
    expect(await one('sub:heidi', 2)).toBe(1);
    expect(await two('sub:heidi', 2)).toBe(2);
    expect(await two('sub:heidi', 2)).toBe(3);
    // Over the limit (3 > 2): only read from now on, by either replica.
    expect(await one('sub:heidi', 2)).toBe(4);
    expect(await two('sub:heidi', 2)).toBe(4);
  });
});
