import { describe } from 'node:test';
import { startMosquitto } from '../helpers/brokers';
import { bridgeSuite } from './bridge-suite';

describe('MQTT bridge through Debian\'s mosquitto', () => bridgeSuite(startMosquitto));
