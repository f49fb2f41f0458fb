/**
 * Server-side DDP heartbeat, with Meteor's timing (ddp-common/heartbeat.js).
 *
 * Every `intervalMs`, if nothing arrived since the last tick and no ping is
 * outstanding, send `ping` and start a `timeoutMs` timer; any incoming message
 * clears that timer ("any message counts as a pong"). When it fires, the
 * session is closed: this is how a client whose socket vanished without a
 * close frame is detected. intervalMs = 0 disables it.
 */
export interface HeartbeatTarget {
  sendPing(): void;
  onHeartbeatTimeout(): void;
}

export class Heartbeat {
  private seenPacket = false;
  private intervalTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly target: HeartbeatTarget,
  ) {}

  start(): void {
    this.stop();
    if (this.intervalMs <= 0) return;
    this.intervalTimer = setInterval(() => this.intervalFired(), this.intervalMs);
    this.intervalTimer.unref();
  }

  stop(): void {
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    this.intervalTimer = null;
    this.clearTimeoutTimer();
  }

  messageReceived(): void {
    this.seenPacket = true;
    this.clearTimeoutTimer();
  }

  private intervalFired(): void {
    if (!this.seenPacket && !this.timeoutTimer) {
      this.target.sendPing();
      this.timeoutTimer = setTimeout(() => {
        this.timeoutTimer = null;
        this.target.onHeartbeatTimeout();
      }, this.timeoutMs);
      this.timeoutTimer.unref();
    }
    this.seenPacket = false;
  }

  private clearTimeoutTimer(): void {
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
  }
}
