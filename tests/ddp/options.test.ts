// Unit tests of resolveDdpServerOptions (defaults, undefined, extra keys) and of the README limits table mirroring defaultDdpServerOptions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type DdpServerOptions, defaultDdpServerOptions, resolveDdpServerOptions } from '../../imports/ddp/options';

describe('defaultDdpServerOptions', () => {
  test('is frozen', () => {
    assert.ok(Object.isFrozen(defaultDdpServerOptions));
    assert.throws(() => {
      (defaultDdpServerOptions as DdpServerOptions).maxFrameBytes = 1;
    }, TypeError);
    assert.equal(defaultDdpServerOptions.maxFrameBytes, 1024 * 1024);
  });

  test('the bounds the docs promise: Meteor heartbeats, frame limit inside its range, burst at least one frame', () => {
    const d = defaultDdpServerOptions;
    assert.equal(d.heartbeatIntervalMs, 15_000);
    assert.equal(d.heartbeatTimeoutMs, 15_000);
    assert.equal(d.sockjsDisconnectDelayMs, 60_000);
    assert.ok(d.maxFrameBytes >= 1024 && d.maxFrameBytes <= 64 * 1024 * 1024);
    assert.ok(d.inboundBurstBytesPerAddress >= d.maxFrameBytes, 'burst is at least maxFrameBytes');
    assert.ok(d.queueHighWaterMessages < d.maxQueuedMessagesPerSession, 'backpressure starts before the hard cap');
    assert.ok(d.maxQueuedBytesPerSession >= d.maxFrameBytes, 'one full frame fits in the queue');
    assert.deepEqual(d.allowedOrigins, [], 'every origin, as Meteor');
    assert.equal(d.pathPrefix, '');
  });

  test('every number is a non-negative safe integer', () => {
    for (const [key, value] of Object.entries(defaultDdpServerOptions)) {
      if (typeof value === 'number') assert.ok(Number.isSafeInteger(value) && value >= 0, key);
    }
  });
});

describe('resolveDdpServerOptions', () => {
  test('no argument, or an empty one, gives the defaults in a new, unfrozen object', () => {
    for (const resolved of [resolveDdpServerOptions(), resolveDdpServerOptions({})]) {
      assert.deepEqual(resolved, { ...defaultDdpServerOptions });
      assert.notEqual(resolved, defaultDdpServerOptions);
      assert.equal(Object.isFrozen(resolved), false);
    }
  });

  test('given values win, including 0, empty strings and empty arrays', () => {
    const resolved = resolveDdpServerOptions({ heartbeatIntervalMs: 0, pathPrefix: '', allowedOrigins: ['https://a.example'], maxSockets: 10 });
    assert.equal(resolved.heartbeatIntervalMs, 0);
    assert.equal(resolved.pathPrefix, '');
    assert.deepEqual(resolved.allowedOrigins, ['https://a.example']);
    assert.equal(resolved.maxSockets, 10);
    assert.equal(resolved.maxFrameBytes, defaultDdpServerOptions.maxFrameBytes);
  });

  test('an undefined value keeps the default (an unset setting)', () => {
    const resolved = resolveDdpServerOptions({ maxFrameBytes: undefined, heartbeatTimeoutMs: undefined });
    assert.equal(resolved.maxFrameBytes, 1024 * 1024);
    assert.equal(resolved.heartbeatTimeoutMs, 15_000);
  });

  test('changing the result does not change the defaults or a later result', () => {
    const first = resolveDdpServerOptions();
    first.maxParams = 1;
    assert.equal(defaultDdpServerOptions.maxParams, 1000);
    assert.equal(resolveDdpServerOptions().maxParams, 1000);
  });

  test('a JSON __proto__ key neither changes the prototype nor the options', () => {
    const partial = JSON.parse('{"__proto__":{"maxFrameBytes":1},"maxParams":5}') as Partial<DdpServerOptions>;
    const resolved = resolveDdpServerOptions(partial);
    assert.equal(Object.getPrototypeOf(resolved), Object.prototype);
    assert.equal(resolved.maxFrameBytes, 1024 * 1024);
    assert.equal(resolved.maxParams, 5);
    assert.equal(({} as { maxFrameBytes?: unknown }).maxFrameBytes, undefined);
  });
});

describe('the README limits table mirrors defaultDdpServerOptions (its doc comment says so)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### DDP server limits'));
  const rows = new Set([...section.matchAll(/^\| `([A-Za-z0-9]+)` \|/gm)].map((match) => match[1]));
  for (const key of Object.keys(defaultDdpServerOptions)) {
    test(key, () => {
      assert.ok(rows.has(key), `no README row for ${key}`);
    });
  }
});
