/**
 * When the dashboard draws: at most once per animation frame, and data
 * changes (a connect, a close, a stats tick) at most every
 * `dataIntervalMs`, except for a short while after the operator acted
 * (search, filter, sort, a tab), when the answer is drawn on the next frame.
 *
 * Why pace data: at 200 connects and closes per second, drawing every frame
 * kept the main thread busy (~75 layouts/s). A quiet list still shows a
 * change on the next frame, because the interval counts from the last draw.
 *
 * Example:
 *   const pacer = new RenderPacer(render);
 *   list.onChange = pacer.data;          // server data changed
 *   searchInput.oninput = pacer.interactive; // the operator acted
 *   scroller.onscroll = pacer.frame;     // redraw on the next frame
 *
 * Pure with respect to its clock: `now`, `requestFrame` and the timers are
 * injectable, so Node tests drive it with mocked timers.
 */
export const RENDER_PACING_DEFAULTS = {
  /** Data changes are drawn at most this often. */
  dataIntervalMs: 250,
  /** After the operator changes the query, its answer is drawn on the next frame for this long. */
  interactiveMs: 1500,
} as const;

export interface RenderPacerClock {
  now(): number;
  requestFrame(callback: () => void): void;
  setTimeout(callback: () => void, ms: number): unknown;
}

const browserClock = (): RenderPacerClock => ({
  now: () => performance.now(),
  requestFrame: (callback) => requestAnimationFrame(callback),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
});

export class RenderPacer {
  private frameQueued = false;
  private dataTimerArmed = false;
  private lastDrawAt = -Infinity;
  private interactiveUntil = -Infinity;

  constructor(
    private readonly draw: () => void,
    private readonly options: { dataIntervalMs?: number; interactiveMs?: number } = {},
    private readonly clock: RenderPacerClock = browserClock(),
  ) {}

  /** Draw on the next frame (scrolling, a tab, anything the operator sees move). */
  readonly frame = (): void => {
    if (this.frameQueued) return;
    this.frameQueued = true;
    this.clock.requestFrame(this.run);
  };

  /** Server data changed: draw when the interval since the last draw is up (at once while interactive). */
  readonly data = (): void => {
    if (this.frameQueued || this.dataTimerArmed) return;
    const now = this.clock.now();
    const wait = this.lastDrawAt + (this.options.dataIntervalMs ?? RENDER_PACING_DEFAULTS.dataIntervalMs) - now;
    if (wait <= 0 || now < this.interactiveUntil) return this.frame();
    this.dataTimerArmed = true;
    this.clock.setTimeout(() => {
      this.dataTimerArmed = false;
      this.frame();
    }, wait);
  };

  /** The operator changed what is shown: draw now, and draw data changes on the next frame for a while. */
  readonly interactive = (): void => {
    this.interactiveUntil = this.clock.now() + (this.options.interactiveMs ?? RENDER_PACING_DEFAULTS.interactiveMs);
    this.frame();
  };

  private readonly run = (): void => {
    this.frameQueued = false;
    this.lastDrawAt = this.clock.now();
    this.draw();
  };
}
