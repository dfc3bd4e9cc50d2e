// The koffi Sys's raw primitives against the real kernel: ioctl, netlink socket calls, mmap, epoll, files.
import assert from 'node:assert/strict';
import { MapFlags, MapType, ProgType } from '../../src/kernel/bpf/constants.js';
import { createMap } from '../../src/kernel/bpf/map-create.js';
import { lookupElem, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { Fd } from '../../src/kernel/fd.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { kernelTest, u32, u64 } from './harness.js';

const AF_INET = 2;
const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFINDEX = 0x8933;
const RTM_GETLINK = 18;
const RTM_NEWLINK = 16;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const EPOLLIN = 1;
const EPOLL_CTL_ADD = 1;

kernelTest('if_nametoindex and ioctl(SIOCGIFINDEX) agree on lo; a missing name is ENODEV', (sys) => {
  assert.equal(sys.ifNameToIndex('lo'), 1);
  assert.throws(() => sys.ifNameToIndex('bk-none0'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENODEV');
  using sock = new Fd(sys, sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 'socket');
  const ifreq = new Uint8Array(40);
  ifreq.set(new TextEncoder().encode('lo'));
  sys.ioctl(sock.raw, SIOCGIFINDEX, ifreq);
  assert.equal(new DataView(ifreq.buffer).getInt32(16, true), 1);
});

kernelTest('netlink: socket, bind, getsockname, send a link dump request, recv RTM_NEWLINK', (sys) => {
  using sock = new Fd(sys, sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0), 'socket');
  const addr = new Uint8Array(12);
  new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
  sys.bind(sock.raw, addr);
  const name = new Uint8Array(12);
  assert.equal(sys.getsockname(sock.raw, name), 12);
  assert.notEqual(new DataView(name.buffer).getUint32(4, true), 0, 'the kernel assigned a port id');
  sys.setsockopt(sock.raw, 270 /* SOL_NETLINK */, 11 /* NETLINK_EXT_ACK */, u32(1));
  const req = new Uint8Array(32);
  const dv = new DataView(req.buffer);
  dv.setUint32(0, 32, true);
  dv.setUint16(4, RTM_GETLINK, true);
  dv.setUint16(6, 0x301, true); // NLM_F_REQUEST | NLM_F_DUMP
  dv.setUint32(8, 1, true);
  assert.equal(sys.send(sock.raw, req, 0), 32);
  const buf = new Uint8Array(65536);
  const n = sys.recv(sock.raw, buf, 0);
  assert.ok(n >= 16);
  assert.equal(new DataView(buf.buffer).getUint16(4, true), RTM_NEWLINK);
  assert.throws(() => sys.bind(-1, addr), (e: unknown) => e instanceof KernelError && e.errnoName === 'EBADF' && e.op === 'bind');
});

kernelTest('mmap of a BPF_F_MMAPABLE array: writes through either side are seen by the other', (sys) => {
  using map = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: MapFlags.MMAPABLE });
  updateElem(map, u32(2), u64(0x0102030405060708n));
  const m = sys.mmap(map.raw, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
  try {
    assert.deepEqual(m.bytes.subarray(16, 24), u64(0x0102030405060708n));
    m.bytes.set(u64(99), 8);
    assert.deepEqual(lookupElem(map, u32(1)), u64(99));
  } finally {
    sys.munmap(m);
  }
  assert.throws(() => sys.mmap(map.raw, 4096, PROT_READ, MAP_SHARED, 1 << 20), (e: unknown) => e instanceof KernelError && e.op === 'mmap');
});

kernelTest('ring buffer: a program writes a record, epoll wakes up, the mmapped data holds it', (sys) => {
  using ring = createMap(sys, { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
  // *(u64 *)(r10 - 8) = 0x1122; r1 = ring; r2 = r10 - 8; r3 = 8; r4 = 0; call bpf_ringbuf_output; r0 = 2; exit
  const insns = new Uint8Array([
    0x7a, 0x0a, 0xf8, 0xff, 0x22, 0x11, 0, 0,
    0x18, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xbf, 0xa2, 0, 0, 0, 0, 0, 0,
    0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff,
    0xb7, 0x03, 0, 0, 8, 0, 0, 0,
    0xb7, 0x04, 0, 0, 0, 0, 0, 0,
    0x85, 0, 0, 0, 130, 0, 0, 0,
    0xb7, 0, 0, 0, 2, 0, 0, 0,
    0x95, 0, 0, 0, 0, 0, 0, 0,
  ]);
  new DataView(insns.buffer).setInt32(12, ring.raw, true);
  using prog = loadProgram(sys, { type: ProgType.XDP, insns, license: 'GPL' });
  using ep = new Fd(sys, sys.epollCreate1(SOCK_CLOEXEC), 'epoll');
  sys.epollCtl(ep.raw, EPOLL_CTL_ADD, ring.raw, EPOLLIN, 42);
  assert.deepEqual(sys.epollWait(ep.raw, 4, 0), []);
  assert.equal(testRun(prog, { dataIn: new Uint8Array(14) }).retval, 2);
  assert.deepEqual(sys.epollWait(ep.raw, 4, 1000), [{ events: EPOLLIN, data: 42 }]);
  // Producer page then data, read-only, at offset one page.
  const m = sys.mmap(ring.raw, 4096 + 2 * 4096, PROT_READ, MAP_SHARED, 4096);
  try {
    const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset);
    assert.equal(dv.getBigUint64(0, true), 16n, 'producer position: 8-byte header + 8 bytes');
    assert.equal(dv.getUint32(4096, true), 8, 'record length');
    assert.equal(dv.getBigUint64(4096 + 8, true), 0x1122n);
  } finally {
    sys.munmap(m);
  }
});

kernelTest('readFile reads sysfs; a missing file is ENOENT', (sys) => {
  assert.match(new TextDecoder().decode(sys.readFile('/sys/devices/system/cpu/possible')), /^\d+(-\d+)?/);
  assert.throws(() => sys.readFile('/sys/nope/none'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
  assert.equal(sys.getpid(), process.pid);
});
