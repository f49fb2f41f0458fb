// Unit tests of MeteorError's wire shape (Meteor's key order and message rule) and toClientError's hide-and-log mapping, without a session.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DdpErrors, MeteorError, toClientError } from '../../imports/ddp/meteor-error';
import { captureLogger, matching } from '../helpers/capture-logger';

const INTERNAL = { isClientSafe: true, error: 500, reason: 'Internal server error', message: 'Internal server error [500]', errorType: 'Meteor.Error' };

describe('MeteorError', () => {
  test('message follows Meteor: "reason [error]", or "[error]" without a reason', () => {
    assert.equal(new MeteorError('not-allowed', 'Nope').message, 'Nope [not-allowed]');
    assert.equal(new MeteorError(404).message, '[404]');
    assert.equal(new MeteorError(0).message, '[0]');
    assert.equal(new MeteorError('', '').message, '[]', 'an empty reason counts as none');
  });

  test('is an Error carrying the client-safe markers', () => {
    const error = new MeteorError('x', 'why', 'det');
    assert.ok(error instanceof Error);
    assert.equal(error.isClientSafe, true);
    assert.equal(error.errorType, 'Meteor.Error');
    assert.deepEqual([error.error, error.reason, error.details], ['x', 'why', 'det']);
    assert.match(error.stack ?? '', /why \[x\]/);
  });

  test('toWire keeps Meteor key order: isClientSafe, error, reason, details, message, errorType', () => {
    const wire = new MeteorError('x', 'why', 'det').toWire();
    assert.deepEqual(Object.keys(wire), ['isClientSafe', 'error', 'reason', 'details', 'message', 'errorType']);
    assert.equal(JSON.stringify(wire), '{"isClientSafe":true,"error":"x","reason":"why","details":"det","message":"why [x]","errorType":"Meteor.Error"}');
  });

  test('toWire leaves out details when there are none; an undefined reason vanishes in JSON', () => {
    const wire = new MeteorError(403).toWire();
    assert.equal(Object.hasOwn(wire, 'details'), false);
    assert.equal(JSON.stringify(wire), '{"isClientSafe":true,"error":403,"message":"[403]","errorType":"Meteor.Error"}');
  });

  test('toWire sends object details as they are', () => {
    assert.deepEqual(new MeteorError('e', 'r', { timeToReset: 5, nested: { a: [1] } }).toWire().details, { timeToReset: 5, nested: { a: [1] } });
  });
});

describe('DdpErrors', () => {
  test('the server own errors, worded as Meteor words them', () => {
    assert.deepEqual(DdpErrors.methodNotFound('foo').toWire(), { ...INTERNAL, error: 404, reason: "Method 'foo' not found", message: "Method 'foo' not found [404]" });
    assert.equal(DdpErrors.subscriptionNotFound('bar').reason, "Subscription 'bar' not found");
    assert.deepEqual(DdpErrors.internal().toWire(), INTERNAL);
    assert.equal(DdpErrors.tooManyParams(100).message, 'Too many parameters (at most 100) [400]');
    assert.deepEqual(DdpErrors.tooManyRequests('Error, too many requests. Please slow down.', 4321).toWire(), {
      isClientSafe: true,
      error: 'too-many-requests',
      reason: 'Error, too many requests. Please slow down.',
      details: { timeToReset: 4321 },
      message: 'Error, too many requests. Please slow down. [too-many-requests]',
      errorType: 'Meteor.Error',
    });
  });

  test('a made-up name is echoed whole up to 256 characters, then cut with an ellipsis', () => {
    const at256 = 'n'.repeat(256);
    assert.equal(DdpErrors.methodNotFound(at256).reason, `Method '${at256}' not found`);
    assert.equal(DdpErrors.methodNotFound(at256 + 'x').reason, `Method '${at256}…' not found`);
    assert.equal(DdpErrors.subscriptionNotFound('s'.repeat(1_000_000)).reason, `Subscription '${'s'.repeat(256)}…' not found`);
    assert.equal(DdpErrors.methodNotFound('').reason, "Method '' not found");
  });

  test('names with prototype words or control characters are echoed as text', () => {
    assert.equal(DdpErrors.methodNotFound('__proto__').reason, "Method '__proto__' not found");
    assert.equal(DdpErrors.methodNotFound('constructor').reason, "Method 'constructor' not found");
    assert.equal(DdpErrors.methodNotFound('a\nb').reason, "Method 'a\nb' not found");
  });
});

describe('toClientError: Meteor wrapInternalException', () => {
  test('a MeteorError passes through unchanged and is not logged', () => {
    const { log, logs } = captureLogger();
    const error = new MeteorError('not-allowed', 'Nope', 'why');
    assert.deepEqual(toClientError(error, 'while invoking method m', log), error.toWire());
    assert.equal(logs.length, 0);
  });

  test('an object that merely carries isClientSafe is rebuilt, keeping its own string message', () => {
    const { log, logs } = captureLogger();
    const thrown = { isClientSafe: true, error: 'e', reason: 'r', details: 'd', message: 'custom', stack: 'secret', extra: 'secret' };
    assert.deepEqual(toClientError(thrown, 'ctx', log), { isClientSafe: true, error: 'e', reason: 'r', details: 'd', message: 'custom', errorType: 'Meteor.Error' });
    assert.equal(logs.length, 0);
  });

  test('a client-safe-like object without a string message gets the Meteor message', () => {
    const { log } = captureLogger();
    assert.equal(toClientError({ isClientSafe: true, error: 7, reason: 'r' }, 'ctx', log).message, 'r [7]');
    assert.equal(toClientError({ isClientSafe: true, error: 'e', message: 5 }, 'ctx', log).message, '[e]');
  });

  test('anything else becomes 500 Internal server error, and is logged with its context', () => {
    const { log, logs } = captureLogger();
    const wire = toClientError(new Error('db password is hunter2'), 'while invoking method m', log);
    assert.deepEqual(wire, INTERNAL);
    assert.equal(JSON.stringify(wire).includes('hunter2'), false, 'the cause never reaches the client');
    const [entry] = matching(logs, { level: 'error', message: 'Exception while invoking method m' });
    assert.ok(entry, 'logged once at error');
    assert.equal((entry.context?.error as Error | undefined)?.message, 'db password is hunter2');
  });

  test('non-Error throws are logged as strings', () => {
    const { log, logs } = captureLogger();
    for (const thrown of ['boom', 42, undefined, null]) assert.deepEqual(toClientError(thrown, 'ctx', log), INTERNAL);
    assert.deepEqual(logs.map((entry) => entry.context?.error), ['boom', '42', 'undefined', 'null']);
  });

  test('isClientSafe must be exactly true and error a string or number', () => {
    const { log, logs } = captureLogger();
    const fakes = [
      { isClientSafe: 'true', error: 'e' },
      { isClientSafe: 1, error: 'e' },
      { isClientSafe: true },
      { isClientSafe: true, error: null },
      { isClientSafe: true, error: { code: 1 } },
      { isClientSafe: true, error: ['e'] },
    ];
    for (const thrown of fakes) assert.deepEqual(toClientError(thrown, 'ctx', log), INTERNAL, JSON.stringify(thrown));
    assert.equal(logs.length, fakes.length);
  });

  test('a JSON __proto__ key does not make a parsed object client-safe', () => {
    const { log } = captureLogger();
    const parsed = JSON.parse('{"__proto__":{"isClientSafe":true,"error":"forged","reason":"x"}}');
    assert.deepEqual(toClientError(parsed, 'ctx', log), INTERNAL);
  });

  test('a thrown Error subclass with isClientSafe set keeps its code and its message', () => {
    const { log } = captureLogger();
    const thrown = Object.assign(new TypeError('shown'), { isClientSafe: true as const, error: 'bad-type', reason: 'Bad type' });
    assert.deepEqual(toClientError(thrown, 'ctx', log), { isClientSafe: true, error: 'bad-type', reason: 'Bad type', message: 'shown', errorType: 'Meteor.Error' });
  });
});
