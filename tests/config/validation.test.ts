import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadConfig } from '../../imports/config/config';
import { CONFIG_ERROR_EXIT_CODE } from '../../imports/config/load-or-exit';
import { ConfigError, describeRange, INTEGER_SETTINGS } from '../../imports/config/validate';

const stateDir = mkdtempSync(join(tmpdir(), 'presence-validation-'));
const base = { PRESENCE_STATE_DIR: stateDir, MQTT_URL: 'mqtt://127.0.0.1:1883' };
const load = (env: Record<string, string>, argv: string[] = []) => loadConfig({ ...base, ...env }, argv);

/** Each bad setting and the exact line it must produce. */
const BAD: Array<[Record<string, string>, string[], string]> = [
  [{ PORT: '65536' }, [], 'PORT="65536" is not allowed: an integer from 0 (any free port) to 65535'],
  [{ PORT: '-1' }, [], 'PORT="-1" is not allowed: an integer from 0 (any free port) to 65535'],
  [{ PORT: '80.5' }, [], 'PORT="80.5" is not allowed: an integer from 0 (any free port) to 65535'],
  [{ PORT: '1e3' }, [], 'PORT="1e3" is not allowed: an integer from 0 (any free port) to 65535'],
  [{ HTTP_FORWARDED_COUNT: '33' }, [], 'HTTP_FORWARDED_COUNT="33" is not allowed: an integer from 0 (no proxy: the socket address is the client) to 32 (proxies)'],
  [{ DDP_MAX_FRAME_BYTES: '0' }, [], 'DDP_MAX_FRAME_BYTES="0" is not allowed: an integer from 1024 to 67108864 (bytes)'],
  [{ DDP_MAX_FRAME_BYTES: '6' }, [], 'DDP_MAX_FRAME_BYTES="6" is not allowed: an integer from 1024 to 67108864 (bytes)'],
  [{ DDP_HEARTBEAT_INTERVAL_MS: '50' }, [], 'DDP_HEARTBEAT_INTERVAL_MS="50" is not allowed: 0 (no heartbeats) or an integer from 100 to 3600000 (ms)'],
  [{ DDP_HEARTBEAT_TIMEOUT_MS: '0' }, [], 'DDP_HEARTBEAT_TIMEOUT_MS="0" is not allowed: an integer from 100 to 3600000 (ms)'],
  [{ DDP_CONNECT_DEADLINE_MS: '0' }, [], 'DDP_CONNECT_DEADLINE_MS="0" is not allowed: an integer from 100 to 600000 (ms)'],
  [{ DDP_MAX_QUEUED_MESSAGES: '0' }, [], 'DDP_MAX_QUEUED_MESSAGES="0" is not allowed: an integer from 1 to 1000000 (messages)'],
  [{ DDP_MAX_QUEUED_BYTES: '100' }, [], 'DDP_MAX_QUEUED_BYTES="100" is not allowed: an integer from 1024 to 1073741824 (bytes)'],
  [{ DDP_MAX_PENDING_METHODS: '0' }, [], 'DDP_MAX_PENDING_METHODS="0" is not allowed: an integer from 1 to 100000 (methods)'],
  [{ DDP_MAX_SUBSCRIPTIONS: '0' }, [], 'DDP_MAX_SUBSCRIPTIONS="0" is not allowed: an integer from 1 to 100000 (subscriptions)'],
  [{ DDP_MAX_BUFFERED_BYTES: '1024' }, [], 'DDP_MAX_BUFFERED_BYTES="1024" is not allowed: an integer from 65536 to 1073741824 (bytes)'],
  [{ DDP_MAX_SOCKETS: '-5' }, [], 'DDP_MAX_SOCKETS="-5" is not allowed: 0 (automatic, from the open-file limit) or an integer from 1 to 10000000 (sockets)'],
  [{ DDP_MAX_PENDING_SOCKETS_PER_ADDRESS: 'lots' }, [], 'DDP_MAX_PENDING_SOCKETS_PER_ADDRESS="lots" is not allowed: 0 (no limit) or an integer from 1 to 1000000 (sockets)'],
  [{ DDP_MAX_SESSIONS_PER_ADDRESS: '10000001' }, [], 'DDP_MAX_SESSIONS_PER_ADDRESS="10000001" is not allowed: 0 (no limit) or an integer from 1 to 10000000 (sessions)'],
  [{ DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: '10' }, [], 'DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS="10" is not allowed: 0 (no limit) or an integer from 1024 to 1073741824 (bytes/s)'],
  [{ DDP_INBOUND_BURST_BYTES_PER_ADDRESS: '0' }, [], 'DDP_INBOUND_BURST_BYTES_PER_ADDRESS="0" is not allowed: an integer from 1024 to 1073741824 (bytes)'],
  [{ MQTT_KEEPALIVE: '0' }, [], 'MQTT_KEEPALIVE="0" is not allowed: an integer from 1 to 65535 (s)'],
  [{ MQTT_MAX_PACKET_BYTES: '0' }, [], 'MQTT_MAX_PACKET_BYTES="0" is not allowed: an integer from 1024 to 268435456 (bytes)'],
  [{ MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE: '0' }, [], 'MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE="0" is not allowed: an integer from 1 to 10000000 (records)'],
  [{ MQTT_MAX_REMOTE_RECORDS: '0' }, [], 'MQTT_MAX_REMOTE_RECORDS="0" is not allowed: an integer from 1 to 100000000 (records)'],
  [{ MQTT_REMOTE_RECORDS_GRACE_MS: '-1' }, [], 'MQTT_REMOTE_RECORDS_GRACE_MS="-1" is not allowed: an integer from 0 (let go as soon as the last monitor leaves) to 86400000 (ms)'],
  [{ LOG_LEVEL: 'verbose' }, [], 'LOG_LEVEL="verbose" is not allowed: one of debug, info, warn, error, silent'],
  [{ LOG_LEVEL: 'INFO' }, [], 'LOG_LEVEL="INFO" is not allowed: one of debug, info, warn, error, silent'],
  [{ LOG_FORMAT: 'text' }, [], 'LOG_FORMAT="text" is not allowed: one of json, pretty'],
  [{ LOG_CONNECTIONS: 'yes' }, [], 'LOG_CONNECTIONS="yes" is not allowed: true or false'],
  [{ PRESENCE_INSTANCE_ID: 'rack/7' }, [], `PRESENCE_INSTANCE_ID="rack/7" is not allowed: 1 to 64 characters, none of '/', '+', '#' or NUL`],
  [{ PRESENCE_INSTANCE_ID: 'a+b' }, [], `PRESENCE_INSTANCE_ID="a+b" is not allowed: 1 to 64 characters, none of '/', '+', '#' or NUL`],
  [{ PRESENCE_INSTANCE_ID: 'x'.repeat(65) }, [], `PRESENCE_INSTANCE_ID="${'x'.repeat(65)}" is not allowed: 1 to 64 characters, none of '/', '+', '#' or NUL`],
  [{ METEOR_SETTINGS: '{"presence":{"instanceId":"#"}}' }, [], `settings.presence.instanceId="#" is not allowed: 1 to 64 characters, none of '/', '+', '#' or NUL`],
  [{ METEOR_SETTINGS: '{"presence":{"mqtt":{"url":"mqtt://x","keepaliveSeconds":0}}}', MQTT_URL: '' }, [], 'settings.presence.mqtt.keepaliveSeconds=0 is not allowed: an integer from 1 to 65535 (s)'],
  [{}, ['--setings', 'x.json'], `Command line: Unknown option '--setings' (the only option is --settings <file>)`],
  [{}, ['extra'], `Command line: Unexpected argument 'extra'. This command does not take positional arguments (the only option is --settings <file>)`],
  [{}, ['--settings'], '--settings needs a file path'],
  [{}, ['--settings='], '--settings needs a file path'],
];

describe('every setting is checked at startup, with one line naming it, its value and what is allowed', () => {
  for (const [env, argv, line] of BAD) {
    test(line, () => {
      assert.throws(() => load(env, argv), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, line);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    });
  }

  test('edge values are accepted, and 0 where it has a documented meaning', () => {
    const c = load({
      PORT: '65535', HTTP_FORWARDED_COUNT: '32', DDP_MAX_FRAME_BYTES: '1024', DDP_HEARTBEAT_INTERVAL_MS: '0',
      DDP_HEARTBEAT_TIMEOUT_MS: '100', DDP_MAX_SOCKETS: '0', DDP_MAX_PENDING_SOCKETS_PER_ADDRESS: '0',
      DDP_MAX_SESSIONS_PER_ADDRESS: '0', DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: '0',
      DDP_MAX_QUEUED_BYTES: String(1024 ** 3), MQTT_KEEPALIVE: '65535', MQTT_MAX_PACKET_BYTES: String(256 * 1024 * 1024),
      MQTT_REMOTE_RECORDS_GRACE_MS: '0', LOG_LEVEL: 'silent', LOG_FORMAT: 'pretty', LOG_CONNECTIONS: 'false',
      PRESENCE_INSTANCE_ID: 'x'.repeat(64),
    });
    assert.equal(c.port, 65535);
    assert.equal(c.ddp.maxFrameBytes, 1024);
    assert.equal(c.ddp.heartbeatIntervalMs, 0);
    assert.equal(c.ddp.maxSockets, 0);
    assert.equal(c.mqtt!.keepaliveSeconds, 65535);
    assert.equal(c.mqtt!.recordsGraceMs, 0);
    assert.equal(c.logLevel, 'silent');
    assert.equal(c.logFormat, 'pretty');
    assert.equal(c.logConnections, false);
    assert.equal(c.presence.instanceId, 'x'.repeat(64));
    assert.equal(load({ PORT: '0' }).port, 0);
    assert.equal(load({ PORT: ' 8080 ' }).port, 8080, 'surrounding blanks are forgiven');
    assert.equal(load({ PRESENCE_INSTANCE_ID: 'rack-7.eu_west' }).presence.instanceId, 'rack-7.eu_west');
  });

  test('unset or empty leaves each layer its default; LOG_FORMAT defaults by terminal; LOG_CONNECTIONS defaults to true', () => {
    const c = load({ DDP_MAX_FRAME_BYTES: '', LOG_LEVEL: '' });
    assert.equal(c.ddp.maxFrameBytes, undefined);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, process.stderr.isTTY ? 'pretty' : 'json');
    assert.equal(c.logConnections, true);
  });

  test('--settings parsed strictly: --settings=file and --settings file both work', () => {
    const file = join(stateDir, 'settings.json');
    writeFileSync(file, '{"presence":{"monitorToken":"t"}}');
    assert.equal(load({}, ['--settings', file]).presence.monitorToken, 't');
    assert.equal(load({}, [`--settings=${file}`]).presence.monitorToken, 't');
    assert.throws(() => load({}, ['--settings', join(stateDir, 'missing.json')]), /^ConfigError: --settings .*missing\.json: ENOENT/);
  });

  test('every range is documented in the README configuration table', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    for (const [name, range] of Object.entries(INTEGER_SETTINGS)) {
      assert.ok(readme.includes(`| \`${name}\` | ${describeRange(range)} |`), `${name}'s range is in the README`);
    }
    assert.equal(describeRange(INTEGER_SETTINGS.DDP_MAX_SOCKETS), '0 (automatic, from the open-file limit) or an integer from 1 to 10000000 (sockets)');
  });

  test('the standalone process prints just that line and exits non-zero (78)', async () => {
    const main = fileURLToPath(new URL('../../imports/standalone/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: '0', BIND_IP: '127.0.0.1', PRESENCE_STATE_DIR: stateDir, DDP_MAX_FRAME_BYTES: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, CONFIG_ERROR_EXIT_CODE);
    assert.equal(stderr, 'DDP_MAX_FRAME_BYTES="0" is not allowed: an integer from 1024 to 67108864 (bytes)\n');
    assert.equal(stdout, '');
  });
});

