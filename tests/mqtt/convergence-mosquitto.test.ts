import { describe } from 'node:test';
import { startMosquitto } from '../helpers/brokers';
import { convergenceSuite } from './convergence-suite';

// mosquitto with its defaults (max_inflight_messages 20, max_queued_messages
// 1000): the broker drops what a subscriber cannot take at once, as in the
// issue's repros. Do not add queue settings to the helper's config.
describe('Issue 10 repros through Debian\'s mosquitto, default settings', () => convergenceSuite(startMosquitto, { brokerName: 'mosquitto', brokerDropsWhenSubscriberStalls: true }));
