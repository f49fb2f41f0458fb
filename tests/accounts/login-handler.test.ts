import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runLoginHandlers, type LoginAttempt, type LoginHandler } from '../../imports/accounts/login-handler';
import type { ConnectionHandle } from '../../imports/ddp/connection-handle';
import { MeteorError } from '../../imports/ddp/meteor-error';

const connection: ConnectionHandle = { id: 's1', clientAddress: null, httpHeaders: {}, close() {}, onClose() {} };
const attempt = (request: Record<string, unknown>): LoginAttempt => ({ request, connection });

describe('login handlers (login-handler.ts, as accounts_server.js _runLoginHandlers)', () => {
  test('handlers are asked in order; the first answer that is not undefined decides', async () => {
    const asked: string[] = [];
    const handlers: LoginHandler[] = [
      ({ request }) => (asked.push('a'), request.a ? { accountId: 'from-a' } : undefined),
      async ({ request }) => (asked.push('b'), request.b ? { accountId: 'from-b', expiresAt: new Date(5) } : undefined),
      () => (asked.push('c'), { accountId: 'from-c' }),
    ];
    assert.deepEqual(await runLoginHandlers(handlers, attempt({ b: 1 })), { accountId: 'from-b', expiresAt: new Date(5) });
    assert.deepEqual(asked, ['a', 'b']);
    assert.deepEqual(await runLoginHandlers(handlers, attempt({ a: 1, b: 1 })), { accountId: 'from-a' });
  });

  test('no handler takes it: 400 Unrecognized options for login request', async () => {
    await assert.rejects(runLoginHandlers([() => undefined], attempt({ x: 1 })), (e: MeteorError) => e.error === 400 && e.reason === 'Unrecognized options for login request');
    await assert.rejects(runLoginHandlers([], attempt({})), /Unrecognized options for login request/);
  });

  test('a refusal stops the search and reaches the caller as thrown', async () => {
    const refusal = new MeteorError(403, 'Nope');
    const later: LoginHandler = () => ({ accountId: 'never' });
    await assert.rejects(runLoginHandlers([() => Promise.reject(refusal), later], attempt({})), (e) => e === refusal);
  });

  test('a falsy answer is Meteor\'s 400; an answer without an account id is a programming error (a 500 for the client)', async () => {
    await assert.rejects(
      runLoginHandlers([() => null as never], attempt({})),
      (e: MeteorError) => e instanceof MeteorError && e.error === 400 && e.reason === 'A login handler should return a result or undefined',
    );
    for (const answer of [{}, { accountId: '' }, { accountId: 7 }, { accountId: 'a', expiresAt: 'tomorrow' }, { accountId: 'a', expiresAt: new Date(NaN) }]) {
      await assert.rejects(runLoginHandlers([() => answer as never], attempt({})), (e) => !(e instanceof MeteorError), JSON.stringify(answer));
    }
  });
});
