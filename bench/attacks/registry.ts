/** The attacks, in the order the scenario runs them. */
import { control } from './control';
import { errorAmplification } from './error-amplification';
import { pipelinedMethods } from './pipelined-methods';
import { preconnectFlood } from './preconnect-flood';
import { sockjsNoReader } from './sockjs-no-reader';
import { sockjsNonString } from './sockjs-nonstring';
import { sockjsOversize } from './sockjs-oversize';
import { staticAbort } from './static-abort';
import { subFlood } from './sub-flood';
import type { AttackDefinition, AttackName } from './types';

export const ATTACKS: readonly AttackDefinition[] = [
  { name: 'control', title: 'Control: no attack', kind: 'control', run: control },
  { name: 'sockjs-nonstring', title: 'SockJS WebSocket non-string frames', kind: 'attack', run: sockjsNonString },
  { name: 'sockjs-oversize', title: 'Raw SockJS WebSocket, 1,048,577-byte frames', kind: 'attack', run: sockjsOversize },
  { name: 'static-abort', title: 'Static-file request, aborted', kind: 'attack', run: staticAbort },
  { name: 'sockjs-no-reader', title: 'SockJS xhr session never read, 1 MB bad frames', kind: 'attack', run: sockjsNoReader },
  { name: 'sub-flood', title: 'Subscription flood on the count', kind: 'attack', churnPerSecond: 100, run: subFlood },
  { name: 'error-amplification', title: 'Error amplification ($binary, 450,000 params)', kind: 'attack', run: errorAmplification },
  { name: 'preconnect-flood', title: 'Pre-connect socket flood', kind: 'attack', run: preconnectFlood },
  { name: 'pipelined-methods', title: 'Pipelined methods (legit client)', kind: 'legit-check', run: pipelinedMethods },
];

export function attackNamed(name: string): AttackDefinition {
  const found = ATTACKS.find((a) => a.name === name);
  if (!found) throw new Error(`unknown attack '${name}' (known: ${ATTACKS.map((a) => a.name).join(', ')})`);
  return found;
}

export const ATTACK_NAMES: readonly AttackName[] = ATTACKS.map((a) => a.name);
