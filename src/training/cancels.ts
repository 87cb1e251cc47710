// The cancel seam: a cancel asked of any process reaches the process whose worker trains the run. In one
// process it is a function call; with Redis it is a pub/sub message (events-redis.ts).

export interface RunCancels {
  /** Asks whichever process trains `runId` to stop it. */
  request(runId: string): Promise<void>;
  /** Where this process hears such requests (one handler). */
  onRequest(handler: (runId: string) => void): void;
  close(): Promise<void>;
}

export class LocalRunCancels implements RunCancels {
  private handler: (runId: string) => void = () => {};

  async request(runId: string): Promise<void> {
    this.handler(runId);
  }

  onRequest(handler: (runId: string) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {}
}
