/**
 * Meteor mode: the same presence app, registered on the real `Meteor` with a
 * real `Mongo.Collection`. Run with `meteor` (Meteor 3); type-checked here by
 * `npm run typecheck` against @types/meteor.
 */
import { DDPRateLimiter } from 'meteor/ddp-rate-limiter';
import { Meteor } from 'meteor/meteor';
import { Mongo } from 'meteor/mongo';
import type { ConnectedUser } from '../imports/app/host';
import { tokenPolicy } from '../imports/app/permission-policy';
import { registerPresence } from '../imports/app/presence';
import { registerPresenceRateLimits } from '../imports/app/rate-limits';
import { loadConfig } from '../imports/config/config';
import { createLogger } from '../imports/log/logger';

export const ConnectedUsers = new Mongo.Collection<ConnectedUser>('connectedUsers');

const config = loadConfig();
const log = createLogger(config.logLevel);

Meteor.startup(async () => {
  await ConnectedUsers.createIndexAsync({ instanceId: 1 });
});

if (!config.presence.monitorToken) log.warn('No PRESENCE_MONITOR_TOKEN (or settings.presence.monitorToken): nobody gets monitor rights');

registerPresence(Meteor, ConnectedUsers, {
  instanceId: config.presence.instanceId,
  policy: tokenPolicy(config.presence.monitorToken),
  log,
});

// The same default rules as standalone, on Meteor's own limiter (package ddp-rate-limiter).
registerPresenceRateLimits(DDPRateLimiter);
