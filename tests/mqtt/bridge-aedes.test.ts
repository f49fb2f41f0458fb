import { describe } from 'node:test';
import { startAedes } from '../helpers/brokers';
import { bridgeSuite } from './bridge-suite';

describe('MQTT bridge through aedes (in-process)', () => bridgeSuite(startAedes));
