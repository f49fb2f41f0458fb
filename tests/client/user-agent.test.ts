import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedUserAgents, describeUserAgent, USER_AGENT_CACHE_ENTRIES } from '../../client/dashboard/user-agent';

test('browsers are shown as name, major version and OS (parsed by bowser)', () => {
  assert.equal(describeUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36'), 'Chrome 150 · Linux');
  assert.equal(
    describeUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'),
    'Safari 17 · iOS 17.4',
  );
});

test('what bowser does not know (DDP libraries, hostile strings) is shown raw; absent is a dash', () => {
  assert.equal(describeUserAgent('node-ddp/1.0'), 'node-ddp/1.0');
  assert.equal(describeUserAgent('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>');
  assert.equal(describeUserAgent(undefined), '–');
  assert.equal(describeUserAgent(''), '–');
});

test('a flood of distinct user agents does not grow the cache past its bound, and answers stay right', () => {
  for (let i = 0; i < 2000; i++) assert.equal(describeUserAgent(`bot-${i}`), `bot-${i}`);
  assert.equal(cachedUserAgents(), USER_AGENT_CACHE_ENTRIES);
});
