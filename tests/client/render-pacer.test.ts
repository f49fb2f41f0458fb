import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { RENDER_PACING_DEFAULTS, RenderPacer, type RenderPacerClock } from '../../client/dashboard/render-pacer';

/**
 * The dashboard's draw pacing, with mocked timers and a hand-run frame queue
 * (a frame runs only when the test says the browser painted).
 */
let frames: Array<() => void>;
let draws: number[];
let pacer: RenderPacer;
const clock: RenderPacerClock = {
  now: () => Date.now(),
  requestFrame: (callback) => void frames.push(callback),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
};
const paint = () => {
  const queued = frames;
  frames = [];
  for (const frame of queued) frame();
};
const { dataIntervalMs, interactiveMs } = RENDER_PACING_DEFAULTS;

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  frames = [];
  draws = [];
  pacer = new RenderPacer(() => draws.push(Date.now()), {}, clock);
});
afterEach(() => mock.timers.reset());

test('frame: many requests before a paint draw once', () => {
  pacer.frame();
  pacer.frame();
  pacer.data();
  assert.equal(frames.length, 1);
  paint();
  assert.equal(draws.length, 1);
  paint();
  assert.equal(draws.length, 1, 'nothing asked, nothing drawn');
});

test('data: the first change draws on the next frame; the next ones wait for the interval since that draw', () => {
  pacer.data();
  paint();
  assert.equal(draws.length, 1);
  pacer.data();
  pacer.data();
  assert.equal(frames.length, 0, 'too soon after the last draw');
  mock.timers.tick(dataIntervalMs - 1);
  assert.equal(frames.length, 0);
  mock.timers.tick(1);
  assert.equal(frames.length, 1, 'one frame for the whole burst');
  paint();
  assert.deepEqual(
    draws.map((at) => at - draws[0]!),
    [0, dataIntervalMs],
  );
});

test('data under a steady stream: at most one draw per interval', () => {
  for (let ms = 0; ms < 10 * dataIntervalMs; ms += 5) {
    pacer.data();
    mock.timers.tick(5);
    paint(); // the browser paints whenever a frame is queued
  }
  assert.ok(draws.length >= 9 && draws.length <= 11, `${draws.length} draws in ten intervals`);
  for (let i = 1; i < draws.length; i++) assert.ok(draws[i]! - draws[i - 1]! >= dataIntervalMs, 'never two draws within the interval');
});

test('interactive: draws now, and data changes draw on the next frame until interactiveMs has passed', () => {
  pacer.interactive();
  paint();
  pacer.data();
  assert.equal(frames.length, 1, 'while interactive, data is not held back');
  paint();
  mock.timers.tick(interactiveMs - 10);
  pacer.data();
  assert.equal(frames.length, 1, 'still interactive 10 ms before the end');
  paint();
  mock.timers.tick(10);
  pacer.data();
  assert.equal(frames.length, 0, 'after the interactive time, data is paced again');
  mock.timers.tick(dataIntervalMs);
  assert.equal(frames.length, 1);
  paint();
  assert.equal(draws.length, 4);
});

test('a data draw already waiting is not armed twice, and an interactive draw meanwhile still happens at once', () => {
  pacer.data();
  paint();
  pacer.data(); // arms the interval timer
  pacer.interactive();
  assert.equal(frames.length, 1);
  paint();
  assert.equal(draws.length, 2);
  mock.timers.tick(dataIntervalMs);
  paint();
  assert.equal(draws.length, 3, 'the armed data draw still comes, once');
});
