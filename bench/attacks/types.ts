/**
 * The contract between the attack scenario and each attack: an attack runs
 * inside its own worker process (bench/attack-worker.ts), from one source
 * address, until its deadline, and reports what it did. It never decides
 * pass/fail about the server; the scenario measures that from outside.
 */
import type { Deadline } from './deadline';

export type AttackName =
  | 'control'
  | 'sockjs-nonstring'
  | 'sockjs-oversize'
  | 'static-abort'
  | 'sockjs-no-reader'
  | 'sub-flood'
  | 'error-amplification'
  | 'preconnect-flood'
  | 'pipelined-methods';

export interface AttackTarget {
  host: string;
  port: number;
  /** This attacker's own 127.0.0.x source address. */
  localAddress: string;
}

/** Sizes that differ between the full and the quick run. */
export interface AttackSizes {
  /** Sockets the pre-connect flood tries to hold open. */
  preconnectSockets: number;
  /** `sub` frames the subscription flood sends on one session. */
  subscriptions: number;
  /** Method calls the pipelined check sends in one write. */
  pipelinedMethods: number;
}

export interface AttackReport {
  /** How many units (`unit`) the attacker got out. */
  sent: number;
  unit: string;
  errors: number;
  firstError?: string;
  /** One line of attack-specific figures, for the report. */
  detail: string;
  /** Only for the legit-client check: did the client get everything it asked for, undisconnected? */
  legitOk?: boolean;
}

export type AttackRun = (target: AttackTarget, sizes: AttackSizes, deadline: Deadline) => Promise<AttackReport>;

export interface AttackDefinition {
  name: AttackName;
  title: string;
  /** 'legit-check' is not an attack: a legitimate client that must NOT be cut off. */
  kind: 'control' | 'attack' | 'legit-check';
  /** Other clients connecting and closing per second while it runs (from a load worker). */
  churnPerSecond?: number;
  run: AttackRun;
}
