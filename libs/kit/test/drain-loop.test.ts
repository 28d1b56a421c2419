import { describe, expect, it } from 'vitest';
import { startDrainLoop } from '../src/index.ts';

/** One turn of the timers: every timer already due (a tick armed with 0 ms included) has run, with its microtasks. */
const timersTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('startDrainLoop', () => {
  it('when woken while a tick is still in its gauge, then the tick goes again itself and no second chain of ticks is started', async () => {
    let drains = 0;
    let inGauge = 0;
    let mostInGauge = 0;
    const gauge = Promise.withResolvers<undefined>();
    let gauges = 0;
    const loop = startDrainLoop({
      drain: async () => ++drains,
      // Never fires during the test: only the first tick and wakes drain.
      pollMs: 600_000,
      afterTick: async () => {
        gauges++;
        mostInGauge = Math.max(mostInGauge, ++inGauge);
        try {
          if (gauges === 1) await gauge.promise;
        } finally {
          inGauge--;
        }
      },
      onError: (err) => {
        throw err;
      },
    });
    try {
      await timersTurn();
      expect({ drains, gauges, inGauge }).toEqual({ drains: 1, gauges: 1, inGauge: 1 });

      // Woken (several commits) while the first tick waits in its gauge.
      loop.wake();
      loop.wake();
      loop.wake();
      await timersTurn();
      await timersTurn();
      expect({ drains, gauges }).toEqual({ drains: 1, gauges: 1 });

      gauge.resolve(undefined);
      await timersTurn();
      await timersTurn();
      // One more tick, at once, for all three wakes; then the loop waits for its poll.
      expect({ drains, gauges, mostInGauge }).toEqual({ drains: 2, gauges: 2, mostInGauge: 1 });

      loop.wake();
      await timersTurn();
      expect({ drains, gauges, mostInGauge }).toEqual({ drains: 3, gauges: 3, mostInGauge: 1 });
    } finally {
      await loop.stop();
    }
  });

  it('when woken while idle, then it drains at once; flush covers what was committed before it; stop with a final drain drains once more', async () => {
    let drains = 0;
    const loop = startDrainLoop({
      drain: async () => ++drains,
      pollMs: 600_000,
      idlePollMs: 600_000,
      onError: (err) => {
        throw err;
      },
    });
    await timersTurn();
    expect(drains).toBe(1);
    loop.wake();
    await timersTurn();
    expect(drains).toBe(2);
    expect(await loop.flush()).toBe(3);
    await loop.stop({ finalDrain: true });
    expect(drains).toBe(4);
    expect(loop.stopped()).toBe(true);
    loop.wake();
    await timersTurn();
    expect(drains).toBe(4);
  });
});
