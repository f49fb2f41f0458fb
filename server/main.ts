/**
 * Meteor mode: the same presence composition as standalone (app, rate limits,
 * MQTT bridge when MQTT_URL is set, `presence.bridgeStatus`), registered on
 * the real `Meteor` with a real `Mongo.Collection`. Run with `meteor`
 * (Meteor 3); type-checked here by `npm run typecheck` against @types/meteor.
 * Configuration: environment variables and Meteor's settings (METEOR_SETTINGS,
 * which `meteor --settings` sets), read by loadConfig as in standalone.
 */
import { Accounts } from 'meteor/accounts-base';
import { DDPRateLimiter } from 'meteor/ddp-rate-limiter';
import { Meteor } from 'meteor/meteor';
import { Mongo } from 'meteor/mongo';
import type { AccountEvents, ConnectedUser } from '../imports/app/host';
import { PRESENCE_NAMES } from '../imports/app/presence';
import { composePresence } from '../imports/composition/compose-presence';
import { loadConfig } from '../imports/config/config';
import { createLogger } from '../imports/log/logger';

export const ConnectedUsers = new Mongo.Collection<ConnectedUser>(PRESENCE_NAMES.collection);

// No command line: Meteor's own (e.g. `boot.js program.json`) is not ours; its settings arrive as METEOR_SETTINGS.
const config = loadConfig(undefined, []); // the environment as config.ts reads it: the one module that reads it
const log = createLogger(config.logLevel, undefined, { format: config.logFormat });

Meteor.startup(async () => {
  await ConnectedUsers.createIndexAsync({ instanceId: 1 });
});

/**
 * Who is logged in where, from Meteor's own accounts (issue 14): the record of
 * the connection gets the user's id at login and loses it at logout. Only
 * read: nothing is written to Meteor.users (unlike mizzao:user-status, which
 * updates every user document on each connect and at every start). A login
 * token that expires makes Meteor close the connection, which removes its record.
 */
const accounts: AccountEvents = {
  onLogin: (callback) =>
    Accounts.onLogin((info: { user?: Meteor.User; connection?: Meteor.Connection }) => {
      if (info.user && info.connection) void callback(info.connection.id, info.user._id);
    }),
  onLogout: (callback) =>
    Accounts.onLogout(({ connection }) => {
      if (connection) void callback(connection.id);
    }),
};

// The same default rate limits as standalone, on Meteor's own limiter (package ddp-rate-limiter).
export const presence = composePresence(Meteor, ConnectedUsers, { config, log, rateLimiter: DDPRateLimiter, accounts });
