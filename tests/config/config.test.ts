import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../imports/config/config';

describe('configuration, read as Meteor reads it', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'presence-state-'));
  const base = { PRESENCE_STATE_DIR: stateDir };

  test('defaults', () => {
    const c = loadConfig(base, []);
    assert.equal(c.port, 3000);
    assert.equal(c.rootUrl, 'http://localhost:3000');
    assert.equal(c.ddp.pathPrefix, '');
    assert.equal(c.ddp.httpForwardedCount, 0);
    assert.deepEqual(c.settings, {});
    assert.equal(c.mqtt, undefined);
    assert.equal(c.mongoUrl, undefined);
    assert.equal(c.presence.monitorToken, undefined);
  });

  test('PORT, ROOT_URL path prefix, HTTP_FORWARDED_COUNT', () => {
    const c = loadConfig({ ...base, PORT: '4100', ROOT_URL: 'https://example.com/app/', HTTP_FORWARDED_COUNT: '2' }, []);
    assert.equal(c.port, 4100);
    assert.equal(c.ddp.pathPrefix, '/app');
    assert.equal(c.ddp.httpForwardedCount, 2);
  });

  test('METEOR_SETTINGS wins over --settings; --settings reads a file', () => {
    const file = join(stateDir, 'settings.json');
    writeFileSync(file, JSON.stringify({ presence: { monitorToken: 'file-token' }, public: { a: 1 } }));
    assert.equal(loadConfig(base, ['--settings', file]).presence.monitorToken, 'file-token');
    const both = loadConfig({ ...base, METEOR_SETTINGS: '{"presence":{"monitorToken":"env-token"}}' }, ['--settings', file]);
    assert.equal(both.presence.monitorToken, 'env-token');
    assert.equal(loadConfig({ ...base, PRESENCE_MONITOR_TOKEN: 'direct' }, ['--settings', file]).presence.monitorToken, 'direct');
  });

  test('bad values get a clear error', () => {
    assert.throws(() => loadConfig({ ...base, PORT: 'eighty' }, []), /PORT="eighty" is not allowed: an integer from 0 \(any free port\) to 65535$/);
    assert.throws(() => loadConfig({ ...base, METEOR_SETTINGS: '{' }, []), /METEOR_SETTINGS are not valid JSON/);
    assert.throws(() => loadConfig({ ...base, METEOR_SETTINGS: '[1]' }, []), /must be a JSON object/);
    assert.throws(() => loadConfig(base, ['--settings']), /--settings needs a file path/);
  });

  test('the generated instance id is stable across restarts on the same port', () => {
    const first = loadConfig({ ...base, PORT: '4200' }, []).presence.instanceId;
    const second = loadConfig({ ...base, PORT: '4200' }, []).presence.instanceId;
    const otherPort = loadConfig({ ...base, PORT: '4201' }, []).presence.instanceId;
    assert.equal(first, second);
    assert.notEqual(first, otherPort);
    assert.equal(readFileSync(join(stateDir, 'instance-id-4200'), 'utf8').trim(), first);
    assert.equal(loadConfig({ ...base, PORT: '4200', PRESENCE_INSTANCE_ID: 'mine' }, []).presence.instanceId, 'mine');
  });

  test('JWT login (issue 14): off by default; a secret of at least 32 bytes, or a public key file read at start; both, or a bad path, refused', () => {
    assert.equal(loadConfig(base, []).jwt, undefined);
    const secret = 's'.repeat(32);
    assert.deepEqual(loadConfig({ ...base, PRESENCE_JWT_SECRET: secret, PRESENCE_JWT_ISSUER: 'https://id.example', PRESENCE_JWT_AUDIENCE: 'presence' }, []).jwt, {
      secret, issuer: 'https://id.example', audience: 'presence',
    });
    assert.throws(() => loadConfig({ ...base, PRESENCE_JWT_SECRET: 'short' }, []), /at least 32 bytes/);
    const keyFile = join(stateDir, 'jwt.pub');
    writeFileSync(keyFile, '-----BEGIN PUBLIC KEY-----\nnot checked here\n-----END PUBLIC KEY-----\n');
    const fromFile = loadConfig({ ...base, PRESENCE_JWT_PUBLIC_KEY_FILE: keyFile }, []).jwt!;
    assert.equal(fromFile.publicKeyPem, readFileSync(keyFile, 'utf8'));
    assert.equal(fromFile.secret, undefined);
    assert.throws(() => loadConfig({ ...base, PRESENCE_JWT_PUBLIC_KEY_FILE: join(stateDir, 'missing.pub') }, []), /PRESENCE_JWT_PUBLIC_KEY_FILE .*missing\.pub/);
    assert.throws(() => loadConfig({ ...base, PRESENCE_JWT_SECRET: secret, PRESENCE_JWT_PUBLIC_KEY_FILE: keyFile }, []), /both set/);
    assert.equal(loadConfig({ ...base, METEOR_SETTINGS: JSON.stringify({ presence: { jwt: { secret } } }) }, []).jwt?.secret, secret, 'settings.presence.jwt.secret');
  });

  test('a monitor token longer than any offered token may be is refused at start (it could never match)', () => {
    assert.equal(loadConfig({ ...base, PRESENCE_MONITOR_TOKEN: 't'.repeat(1024) }, []).presence.monitorToken, 't'.repeat(1024));
    assert.throws(() => loadConfig({ ...base, PRESENCE_MONITOR_TOKEN: 't'.repeat(1025) }, []), /PRESENCE_MONITOR_TOKEN is 1025 characters; at most 1024/);
  });

  test('MQTT settings only when MQTT_URL is set', () => {
    const c = loadConfig({ ...base, MQTT_URL: 'mqtt://u:p@127.0.0.1:1883', MQTT_KEEPALIVE: '2' }, []);
    assert.deepEqual(c.mqtt, { url: 'mqtt://u:p@127.0.0.1:1883', username: undefined, password: undefined, topicPrefix: 'presence', keepaliveSeconds: 2 });
  });

  test('MQTT_REMOTE_RECORDS is on-demand or always, anything else refused; the grace is a positive integer', () => {
    const mqtt = (env: Record<string, string>) => loadConfig({ ...base, MQTT_URL: 'mqtt://127.0.0.1:1883', ...env }, []).mqtt!;
    assert.equal(mqtt({}).recordsOnDemand, undefined, 'absent: the bridge default (on-demand)');
    assert.equal(mqtt({ MQTT_REMOTE_RECORDS: 'always' }).recordsOnDemand, false);
    assert.equal(mqtt({ MQTT_REMOTE_RECORDS: 'on-demand', MQTT_REMOTE_RECORDS_GRACE_MS: '500' }).recordsOnDemand, true);
    assert.equal(mqtt({ MQTT_REMOTE_RECORDS_GRACE_MS: '500' }).recordsGraceMs, 500);
    assert.deepEqual(mqtt({ MQTT_MAX_REMOTE_RECORDS: '9' }).remote, { maxRecordsTotal: 9 });
    assert.equal(mqtt({ MQTT_MAX_PACKET_BYTES: '4096' }).maxPacketBytes, 4096);
    assert.throws(() => mqtt({ MQTT_REMOTE_RECORDS: 'sometimes' }), /MQTT_REMOTE_RECORDS must be 'on-demand' or 'always'/);
    assert.throws(() => mqtt({ MQTT_REMOTE_RECORDS_GRACE_MS: '-1' }));
  });

  test('MQTT from settings.presence.mqtt (Meteor mode\'s settings file); each environment variable wins over its key', () => {
    const mqtt = { url: 'mqtt://broker:1883', username: 'u', password: 'p', topicPrefix: 'team', keepaliveSeconds: 5 };
    const settings = JSON.stringify({ presence: { mqtt } });
    assert.deepEqual(loadConfig({ ...base, METEOR_SETTINGS: settings }, []).mqtt, mqtt);
    const env = { ...base, METEOR_SETTINGS: settings, MQTT_URL: 'mqtt://other:1883', MQTT_KEEPALIVE: '7', MQTT_TOPIC_PREFIX: 'env' };
    assert.deepEqual(loadConfig(env, []).mqtt, { ...mqtt, url: 'mqtt://other:1883', keepaliveSeconds: 7, topicPrefix: 'env' });
    assert.equal(loadConfig({ ...base, METEOR_SETTINGS: JSON.stringify({ presence: { mqtt: { topicPrefix: 'x' } } }) }, []).mqtt, undefined, 'no url: no bridge');
    assert.equal(loadConfig({ ...base, METEOR_SETTINGS: JSON.stringify({ presence: { mqtt: 'mqtt://x' } }) }, []).mqtt, undefined, 'not an object: ignored');
    assert.throws(
      () => loadConfig({ ...base, METEOR_SETTINGS: JSON.stringify({ presence: { mqtt: { url: 'mqtt://x', keepaliveSeconds: '30' } } }) }, []),
      /settings\.presence\.mqtt\.keepaliveSeconds="30" is not allowed: an integer from 1 to 65535 \(s\)$/,
    );
  });
});
