import { describe } from 'node:test';
import { startAedes } from '../helpers/brokers';
import { convergenceSuite } from './convergence-suite';

describe('Issue 10 repros through aedes (in-process)', () => convergenceSuite(startAedes, { brokerName: 'aedes', brokerDropsWhenSubscriberStalls: false }));
