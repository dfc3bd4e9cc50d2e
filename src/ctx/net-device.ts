// The network devices a test run may name (ctx_in's ifindex / ingress_ifindex): loopback unless the user adds more.

/** A device as the context setup sees it. */
export interface NetDevice {
  /** Interface index. */
  readonly ifindex: number;
  /** Number of receive queues (real_num_rx_queues). */
  readonly rxQueues: number;
  /** The device's MAC address (eth_type_trans compares the destination with it). */
  readonly mac: Uint8Array;
  /** The device's broadcast address (default ff:ff:ff:ff:ff:ff; loopback's is all zeroes). */
  readonly broadcast?: Uint8Array;
  /** MTU (default 1500; loopback's is 65536). */
  readonly mtu?: number;
  /** hard_header_len (default ETH_HLEN, 14). */
  readonly hardHeaderLen?: number;
}

/** The loopback device every network namespace has: ifindex 1, one queue, MAC and broadcast 00:00:00:00:00:00. */
export const LOOPBACK: NetDevice = { ifindex: 1, rxQueues: 1, mac: new Uint8Array(6), broadcast: new Uint8Array(6), mtu: 65536 };

/** A device lookup that knows only `devices` (plus loopback). */
export function deviceTable(devices: readonly NetDevice[] = []): (ifindex: number) => NetDevice | undefined {
  const all = new Map<number, NetDevice>([[LOOPBACK.ifindex, LOOPBACK], ...devices.map((d) => [d.ifindex, d] as const)]);
  return (ifindex) => all.get(ifindex);
}
