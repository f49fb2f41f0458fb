import { describe } from 'node:test';
import { startMosquitto } from '../helpers/brokers';
import { bridgeSuite } from './bridge-suite';

// Measured here: mosquitto 2.0.11 (Debian 12) publishes the Will of a client
// that went silent 5.0 to 9.0 s after it froze with keep-alive 2 s, not the
// 3 s of MQTT 3.1.1 §3.1.2.10: it checks keep-alives on a coarse timer. A
// socket that closes (kill -9) is seen at once (20-30 ms).
const MOSQUITTO_KEEPALIVE_SLACK_MS = 8000;

describe('MQTT bridge through Debian\'s mosquitto', () => bridgeSuite(startMosquitto, MOSQUITTO_KEEPALIVE_SLACK_MS));
