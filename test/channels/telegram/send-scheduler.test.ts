import assert from 'node:assert/strict';
import FakeTimers from '@sinonjs/fake-timers';
import { SendScheduler, type SchedulerClock } from '../../../channels/telegram/send-scheduler.js';

function fakeClock() {
  const clock = FakeTimers.createClock(0);
  const schedulerClock: SchedulerClock = {
    now: () => clock.now,
    sleep: (ms) => new Promise((resolve) => clock.setTimeout(() => resolve(), ms)),
  };
  return { clock, schedulerClock };
}

/** Starts acquire() for each chat and records when each one was let through. */
function track(scheduler: SendScheduler, clock: { now: number }, chats: string[]) {
  const times: number[] = [];
  const done = Promise.all(chats.map((chat, i) => scheduler.acquire(chat).then(() => (times[i] = clock.now))));
  return { times, done };
}

describe('telegram send scheduler', () => {
  it('lets one message a second through to the same chat', async () => {
    const { clock, schedulerClock } = fakeClock();
    const scheduler = new SendScheduler(undefined, schedulerClock);
    const { times, done } = track(scheduler, clock, ['42', '42', '42']);
    await clock.tickAsync(999);
    assert.deepEqual(times.filter((t) => t !== undefined), [0]);
    await clock.tickAsync(1001);
    await done;
    assert.deepEqual(times, [0, 1000, 2000]);
  });

  it('lets no more than 30 messages a second through across chats', async () => {
    const { clock, schedulerClock } = fakeClock();
    const scheduler = new SendScheduler(undefined, schedulerClock);
    const chats = Array.from({ length: 45 }, (_, i) => String(1000 + i));
    const { times, done } = track(scheduler, clock, chats);
    await clock.tickAsync(2000);
    await done;
    assert.equal(times.length, 45);
    const sorted = [...times].sort((a, b) => a - b);
    // In every window of one second, at most 30 sends.
    for (let i = 0; i + 30 < sorted.length; i += 1) assert.ok(sorted[i + 30]! - sorted[i]! >= 1000 - 1e-6, `window at ${sorted[i]}`);
    // And no slower than that: the 45th goes at 44/30 s.
    assert.ok(sorted[44]! <= Math.ceil((44 * 1000) / 30));
  });

  it('does not hold other chats behind a busy one', async () => {
    const { clock, schedulerClock } = fakeClock();
    const scheduler = new SendScheduler(undefined, schedulerClock);
    const { times, done } = track(scheduler, clock, ['1', '1', '1', '1', '2']);
    await clock.tickAsync(3000);
    await done;
    assert.ok(times[4]! < 100, `chat 2 waited ${times[4]} ms`);
  });

  it('keeps a chat quiet for as long as Telegram asked after a 429', async () => {
    const { clock, schedulerClock } = fakeClock();
    const scheduler = new SendScheduler(undefined, schedulerClock);
    scheduler.pause('42', 5000);
    const { times, done } = track(scheduler, clock, ['42', '7']);
    await clock.tickAsync(5000);
    await done;
    assert.deepEqual(times, [5000, 0]);
  });
});
