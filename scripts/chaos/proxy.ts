/**
 * A TCP proxy on loopback between a node and the hub, that the chaos harness can break:
 *   - `cut()`: destroy every open connection and refuse new ones (the listener is closed, so a
 *     connect gets ECONNREFUSED) until `restore()`;
 *   - `slow(ms)`: delay every chunk, both ways, by `ms`;
 *   - `resetNext(n)`: the next `n` responses are cut mid-way: after the first chunk of a response
 *     from the hub has been passed on, both sockets are reset (RST).
 * It counts what it did, so the report can say how many faults were injected.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProxyStats {
  connections: number;
  refusedOrDropped: number;
  cuts: number;
  slows: number;
  resets: number;
  bytesUp: number;
  bytesDown: number;
}

export class FaultProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private delayMs = 0;
  private resetsArmed = 0;
  private cutNow = false;
  readonly stats: ProxyStats = { connections: 0, refusedOrDropped: 0, cuts: 0, slows: 0, resets: 0, bytesUp: 0, bytesDown: 0 };

  constructor(
    private targetPort: number,
    private readonly targetHost = '127.0.0.1',
    public port = 0,
  ) {}

  /** Point new connections at another port (the hub came back on a new one). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get isCut(): boolean {
    return this.cutNow;
  }

  /** The delay on every chunk now (0: not slowed). */
  get slowMs(): number {
    return this.delayMs;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  private accept(client: Socket): void {
    if (this.cutNow) {
      this.stats.refusedOrDropped++;
      client.destroy();
      return;
    }
    this.stats.connections++;
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    // the armed reset is taken by the first response chunk that comes through
    this.pipe(client, upstream, 'up', close);
    this.pipe(upstream, client, 'down', close);
  }

  private pipe(from: Socket, to: Socket, dir: 'up' | 'down', close: () => void): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (dir === 'up') this.stats.bytesUp += chunk.length;
      else this.stats.bytesDown += chunk.length;
      const delay = this.delayMs;
      const send = () => {
        if (to.destroyed) return;
        if (dir === 'down' && this.resetsArmed > 0 && chunk.length > 1) {
          // pass half of the response on, then reset both ends
          this.resetsArmed--;
          this.stats.resets++;
          to.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))), () => {
            to.resetAndDestroy();
            from.resetAndDestroy();
            close();
          });
          return;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      };
      if (delay > 0) {
        // keep the order of chunks: each waits for the one before it
        chain = chain.then(
          () =>
            new Promise<void>((ok) =>
              setTimeout(() => {
                send();
                ok();
              }, delay),
            ),
        );
      } else chain = chain.then(send);
    });
    from.on('end', () => {
      void chain.then(() => {
        if (!to.destroyed) to.end();
      });
    });
  }

  /** Destroy every connection and refuse new ones until restore(). */
  async cut(): Promise<void> {
    if (this.cutNow) return;
    this.cutNow = true;
    this.stats.cuts++;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }

  /** Accept connections again (on the same port) and pass data at full speed. */
  async restore(): Promise<void> {
    this.delayMs = 0;
    if (!this.cutNow) return;
    this.cutNow = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.start();
        return;
      } catch (err) {
        if (attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  slow(ms: number): void {
    if (ms > 0 && this.delayMs === 0) this.stats.slows++;
    this.delayMs = ms;
  }

  resetNext(n = 1): void {
    this.resetsArmed += n;
  }

  /** Resets armed but not yet taken (no response came through). */
  get resetsPending(): number {
    return this.resetsArmed;
  }

  async stop(): Promise<void> {
    this.cutNow = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }
}
