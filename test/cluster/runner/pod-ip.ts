// Each runner pod gets its own loopback address (127.1.x.y, any 127/8 address works on Linux without set-up), so
// ranks can all listen on the same port as real pods do on their own IPs.
export class PodIpAllocator {
  private next = 1;
  private readonly byUid = new Map<string, string>();

  ipFor(uid: string): string {
    let ip = this.byUid.get(uid);
    if (!ip) {
      const n = this.next++;
      ip = `127.1.${(n >> 8) & 255}.${n & 255 || 1}`;
      this.byUid.set(uid, ip);
    }
    return ip;
  }

  release(uid: string): void {
    this.byUid.delete(uid);
  }
}
