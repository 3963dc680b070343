// Each runner pod gets its own loopback address (127.1.x.y, any 127/8 address works on Linux without set-up), so
// ranks can all listen on the same port as real pods do on their own IPs. Several clusters may run on one machine:
// each runner starts at a random point of 127.1.0.0/16 and skips addresses that some socket already uses, so two
// clusters' pods do not share an address (a probe would otherwise reach the other cluster's server).
import { readFileSync } from 'node:fs';

const SPACE = 256 * 254; // 254 host bytes (.1 to .254) per third octet

/** The n-th pod address (n ≥ 1, wrapping within 127.1.0.0/16, never a .0 or .255 host byte). */
export function podAddress(n: number): string {
  const k = (((n - 1) % SPACE) + SPACE) % SPACE;
  return `127.1.${Math.floor(k / 254)}.${(k % 254) + 1}`;
}

/** IPv4 addresses that a local TCP or UDP socket is bound to, from /proc/net (empty where it is not readable). */
export function boundAddresses(): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/udp']) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const hex = /^\s*\d+:\s+([0-9A-F]{8}):/i.exec(line)?.[1];
      if (hex) out.add([6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.')); // little-endian bytes
    }
  }
  return out;
}

export class PodIpAllocator {
  private next: number;
  private readonly byUid = new Map<string, string>();

  constructor(start = 1 + Math.floor(Math.random() * SPACE), private readonly inUse: () => Set<string> = boundAddresses) {
    this.next = start;
  }

  ipFor(uid: string): string {
    const known = this.byUid.get(uid);
    if (known) return known;
    const used = this.inUse();
    const mine = new Set(this.byUid.values());
    let ip = podAddress(this.next++);
    for (let tries = 1; (used.has(ip) || mine.has(ip)) && tries < SPACE; tries++) ip = podAddress(this.next++);
    this.byUid.set(uid, ip);
    return ip;
  }

  release(uid: string): void {
    this.byUid.delete(uid);
  }
}
