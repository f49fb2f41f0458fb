import type { AttackName, AttackReport } from './attacks/types';

/** One attack (or legit-client check) against a fresh server (a) holding `held` connections. */
export interface AttackResult {
  name: AttackName;
  title: string;
  kind: 'control' | 'attack' | 'legit-check';
  /** Seconds the attack actually ran (less than planned if the server died or a check finished early). */
  seconds: number;
  held: number;
  /** The server process was still running after the attack. */
  alive: boolean;
  /** How it died: exit code or signal and its last log lines. */
  death?: string;
  /** Bystander round trips during the attack; a lost ping counts as infinitely slow, so p99 is null once more than 1% are lost. */
  ping: { p50: number | null; p99: number | null; samples: number; lost: number; closed?: string };
  /** `overControlMb`: growth beyond the control run's, what the target applies to when a control ran. */
  rss: { beforeMb: number | null; peakMb: number | null; growthMb: number | null; overControlMb?: number | null };
  freshClient: { ok: boolean; detail: string };
  /** DDP sessions on the server after the attacker left (the held ones, if they survived). */
  sessionsAfter: number | null;
  attacker: AttackReport | null;
  /** Why the attacker gave no report, or why the run of this attack broke down. */
  error?: string;
  pass: boolean;
  failures: string[];
}

export interface AttackScenarioResult {
  held: number;
  secondsPerAttack: number;
  targets: { pingP99Ms: number; rssGrowthMb: number };
  attacks: AttackResult[];
  durationSeconds: number;
}
