/**
 * Runs only under `meteor test --driver-package meteortesting:mocha` (Meteor
 * mode); the Node test runner does not pick it up. Type-checked by
 * `npm run typecheck`.
 */
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { DDP } from 'meteor/ddp';
import { Meteor } from 'meteor/meteor';
import { ConnectedUsers } from '../../server/main';

describe('presence on real Meteor', () => {
  it('getSessionId returns the caller\'s connection id and its record exists', async () => {
    const connection = DDP.connect(Meteor.absoluteUrl());
    const id = await new Promise<string>((resolve, reject) =>
      connection.call('getSessionId', (error: unknown, result: string) => (error ? reject(error) : resolve(result))),
    );
    assert.equal(typeof id, 'string');
    assert.ok(await ConnectedUsers.findOneAsync({ _id: id }));
    connection.disconnect();
  });
});
