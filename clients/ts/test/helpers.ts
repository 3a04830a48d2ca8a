/** Shared by the tests: the real server `test/serve.py` started, SDK instances, a fault proxy. */

import http from "node:http";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";
import WebSocket from "ws";
import {
  ApiClient,
  HttpClient,
  MemoryStorage,
  StandardTransport,
  SyncClient,
  type KeyValueStorage,
  type WebSocketConstructor,
} from "../src/index.js";

export const BASE = process.env.CHANNELHUB_TEST_BASE ?? "";
export const PASSWORD = process.env.CHANNELHUB_TEST_PASSWORD ?? "";
if (!BASE) throw new Error("run the tests through test/serve.py (npm test)");

export const transport = () =>
  new StandardTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor });

export async function login(username: string, base = BASE): Promise<HttpClient> {
  const client = new HttpClient({ baseUrl: base, transport: transport() });
  await client.login(username, PASSWORD);
  return client;
}

export interface Device {
  http: HttpClient;
  api: ApiClient;
  sync: SyncClient;
  storage: KeyValueStorage;
}

/** A dealer's phone: logged in, with its own (or a kept) storage. */
export async function device(
  username: string,
  options: { storage?: KeyValueStorage; base?: string; pageSize?: number } = {},
): Promise<Device> {
  const http = await login(username, options.base ?? BASE);
  const storage = options.storage ?? new MemoryStorage();
  const sync = new SyncClient({ http, storage, pageSize: options.pageSize ?? 500 });
  return { http, api: new ApiClient(http), sync, storage };
}

/** An order of one line of a SKU the dealer has a price for. */
export async function orderArgs(api: ApiClient, qty = 2) {
  const page = await api.get("/mp/catalog/skus", { query: { limit: 20 } });
  const sku = page.items.find((s) => s.price !== null && s.minOrderQty <= qty);
  if (!sku) throw new Error("no orderable SKU in the demo data");
  return { id: randomUUID(), lines: [{ sku: sku.code, qty }] };
}

export async function sleep(ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export type Fault = (
  req: http.IncomingMessage,
  body: Buffer,
  res: http.ServerResponse,
) => "forward" | "drop-answer" | "handled" | { rewriteBody: Buffer } | { truncate: number };

/**
 * A proxy in front of the real server that can drop an answer after the server handled the
 * request, answer itself (503), rewrite a request body or cut an answer short. Each request
 * asks `fault` what to do (default: forward).
 */
export class FaultProxy {
  readonly server: http.Server;
  fault: Fault = () => "forward";
  readonly seen: Array<{ method: string; path: string; at: number }> = [];
  /** Requests the server could not be reached for (it was down): their connection is cut. */
  unreachable = 0;
  private readonly target: URL;

  constructor(target = BASE) {
    this.target = new URL(target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void this.handle(req, Buffer.concat(chunks), res));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
    this.seen.push({ method: req.method ?? "", path: req.url ?? "", at: Date.now() });
    let decision = this.fault(req, body, res);
    if (decision === "handled") return;
    if (typeof decision === "object" && "rewriteBody" in decision) {
      body = decision.rewriteBody;
      decision = "forward";
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (typeof value === "string" && !["host", "content-length", "connection"].includes(key)) {
        headers[key] = value;
      }
    }
    let answer: Response;
    let text: Buffer;
    try {
      answer = await fetch(new URL(req.url ?? "/", this.target), {
        method: req.method ?? "GET",
        headers,
        ...(body.length ? { body } : {}),
      });
      text = Buffer.from(await answer.arrayBuffer());
    } catch {
      this.unreachable += 1; // the server is down (restarting): the client sees the network fail
      req.socket.destroy();
      return;
    }
    if (decision === "drop-answer") {
      req.socket.destroy(); // the server did the work; the client never hears of it
      return;
    }
    const out: Record<string, string> = {};
    answer.headers.forEach((value, key) => {
      if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(key)) {
        out[key] = value;
      }
    });
    if (typeof decision === "object" && "truncate" in decision) {
      res.writeHead(answer.status, out);
      res.end(text.subarray(0, decision.truncate));
      return;
    }
    res.writeHead(answer.status, out);
    res.end(text);
  }
}

/** An order as the server holds it, or null (404). */
export async function serverOrder(api: ApiClient, id: string) {
  try {
    return await api.get("/mp/orders/{order_id}", { path: { order_id: id } });
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
}

/** How many of the dealer's orders carry this id (0 or 1, never 2). */
export async function countOrders(api: ApiClient, id: string): Promise<number> {
  let count = 0;
  let cursor: string | null | undefined;
  do {
    const page = await api.get("/mp/orders", { query: { limit: 100, ...(cursor ? { cursor } : {}) } });
    count += page.items.filter((o) => o.id === id).length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}

/** A TCP proxy to the server whose connections the test can cut (the network drops). */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Bytes on the wire (headers included): client to server, and server to client. */
  bytesUp = 0;
  bytesDown = 0;

  constructor(target = BASE) {
    const url = new URL(target);
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(url.port), url.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.on("data", (chunk: Buffer) => (this.bytesUp += chunk.length));
      upstream.on("data", (chunk: Buffer) => (this.bytesDown += chunk.length));
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const address = this.server.address() as net.AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  /** Cut every open connection without a close frame. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Kill the server (a crash) and start it again on the same database; resolves when it serves. */
export async function restartServer(downSeconds = 0): Promise<void> {
  const control = process.env.CHANNELHUB_TEST_CONTROL;
  if (!control) throw new Error("run the tests through test/serve.py (npm test)");
  const answer = await fetch(`${control}/restart?down=${downSeconds}`, { method: "POST" });
  if (answer.status !== 204) throw new Error(`restart failed: ${answer.status}`);
}

export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(5);
  }
  return check();
}

/** A 64 x 64 PNG (grey), made here: a receipt photo for the upload tests. */
export function png(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(64, 0);
  ihdr.writeUInt32BE(64, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  const rows = Buffer.alloc(64 * 65, 0x80);
  for (let y = 0; y < 64; y += 1) rows[y * 65] = 0; // filter byte per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
