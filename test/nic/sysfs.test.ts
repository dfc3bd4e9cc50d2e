// Sysctls, queues and IRQs read from (fake) procfs and sysfs, and the real ones read-only.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { NoSuchDeviceError } from '../../src/kernel/ethtool/errors.js';
import { createKernelSys } from '../../src/kernel/koffi-sys.js';
import { checkDevice, onlineCpus, parseInterrupts, readIrqs, readQueues, writeIrqAffinity, writeQueueCpus } from '../../src/nic/queues.js';
import { NIC_SYSCTLS, readSysctl, readSysctls, sysctlPath, UnknownSysctlError, writeSysctl } from '../../src/nic/sysctl.js';
import { formatCpuList } from '../../src/nic/cpu-list.js';
import { FakeSys } from '../kernel/fake-sys.js';

const INTERRUPTS = `           CPU0       CPU1       CPU2       CPU3
  0:         40          0          0          0   IO-APIC   2-edge      timer
 88:          0          0          0          0  PCI-MSIX-0000:3b:00.0   0-edge      mlx5_async0@pci:0000:3b:00.0
 89:       1000          0          0          0  PCI-MSIX-0000:3b:00.0   1-edge      mlx5_comp0@pci:0000:3b:00.0
 90:        500          0          0          0  PCI-MSIX-0000:3b:00.0   2-edge      mlx5_comp1@pci:0000:3b:00.0
 95:         10         20         30         40  PCI-MSI 524288-edge      eth1-TxRx-0
 96:          1          2          3          4  PCI-MSI 524289-edge      eth1-TxRx-1
 97:          0          0          0          1  PCI-MSI 524290-edge      eth1
NMI:          0          0          0          0   Non-maskable interrupts
`;

function fakeHost(): FakeSys {
  const sys = new FakeSys();
  sys.files.set('/proc/interrupts', INTERRUPTS);
  sys.files.set('/sys/devices/system/cpu/online', '0-3\n');
  for (const [dev, irqs] of [['eth0', [88, 89, 90]], ['eth1', []]] as const) {
    sys.files.set(`/sys/class/net/${dev}/ifindex`, '2\n');
    sys.files.set(`/sys/class/net/${dev}/queues/rx-0/rps_cpus`, '0\n');
    sys.files.set(`/sys/class/net/${dev}/queues/rx-0/rps_flow_cnt`, '0\n');
    sys.files.set(`/sys/class/net/${dev}/queues/rx-1/rps_cpus`, '00000000,0000000c\n');
    sys.files.set(`/sys/class/net/${dev}/queues/rx-10/rps_cpus`, '0\n');
    sys.files.set(`/sys/class/net/${dev}/queues/tx-0/xps_cpus`, '1\n');
    for (const i of irqs) sys.files.set(`/sys/class/net/${dev}/device/msi_irqs/${i}`, 'msix');
  }
  for (const irq of [88, 89, 90, 95, 96]) {
    sys.files.set(`/proc/irq/${irq}/smp_affinity_list`, '0-3\n');
    sys.files.set(`/proc/irq/${irq}/effective_affinity_list`, '0\n');
  }
  return sys;
}

test('/proc/interrupts: counts per CPU, action names, named rows', () => {
  const rows = parseInterrupts(INTERRUPTS);
  const r95 = rows.find((r) => r.irq === 95)!;
  assert.deepEqual(r95.counts, [10, 20, 30, 40]);
  assert.equal(r95.name, 'eth1-TxRx-0');
  assert.equal(rows.find((r) => r.label === 'NMI')?.irq, undefined);
});

test('queue IRQs: through msi_irqs (mlx5 completion vectors, not the async one) or by name (eth1-TxRx-N, not eth1 itself)', () => {
  const sys = fakeHost();
  assert.deepEqual(readIrqs(sys, 'eth0').map((i) => [i.irq, i.name, i.affinity, i.effective]), [
    [89, 'mlx5_comp0@pci:0000:3b:00.0', [0, 1, 2, 3], [0]],
    [90, 'mlx5_comp1@pci:0000:3b:00.0', [0, 1, 2, 3], [0]],
  ]);
  assert.deepEqual(readIrqs(sys, 'eth1').map((i) => i.irq), [95, 96]);
  writeIrqAffinity(sys, 89, [2, 3]);
  assert.equal(sys.files.get('/proc/irq/89/smp_affinity_list'), '2-3\n');
});

test('queues: rx before tx, numeric order, RPS CPUs from masks; writes format masks', () => {
  const sys = fakeHost();
  const q = readQueues(sys, 'eth0');
  assert.deepEqual(q.map((x) => `${x.kind}-${x.index}`), ['rx-0', 'rx-1', 'rx-10', 'tx-0']);
  assert.deepEqual(q[1]!.cpus, [2, 3]);
  assert.deepEqual(q[3]!.cpus, [0]);
  writeQueueCpus(sys, 'eth0', 'rx', 0, [0, 1, 2, 3]);
  assert.equal(sys.files.get('/sys/class/net/eth0/queues/rx-0/rps_cpus'), 'f\n');
  assert.deepEqual(onlineCpus(sys), [0, 1, 2, 3]);
});

test('devices: unknown or path-like names are NoSuchDeviceError, never a path outside /sys/class/net', () => {
  const sys = fakeHost();
  for (const bad of ['nope0', '../../etc', 'a/b', '', 'x'.repeat(16)]) assert.throws(() => checkDevice(sys, bad), NoSuchDeviceError, bad);
  checkDevice(sys, 'eth0');
});

test('sysctls: dotted names to /proc/sys paths; bad names and missing ones are UnknownSysctlError', () => {
  const sys = new FakeSys();
  sys.files.set('/proc/sys/net/core/netdev_budget', '300\n');
  assert.equal(sysctlPath('net.core.netdev_budget'), '/proc/sys/net/core/netdev_budget');
  assert.equal(readSysctl(sys, 'net.core.netdev_budget'), '300');
  writeSysctl(sys, 'net.core.netdev_budget', '600');
  assert.equal(sys.files.get('/proc/sys/net/core/netdev_budget'), '600\n');
  assert.throws(() => readSysctl(sys, 'net.core.nope'), (e: unknown) => e instanceof UnknownSysctlError && /no such sysctl/.test(e.message));
  for (const bad of ['net/core/x', 'net..core', '../etc/passwd', 'single']) assert.throws(() => sysctlPath(bad), UnknownSysctlError, bad);
  assert.throws(() => writeSysctl(sys, 'net.core.netdev_budget', 'a\nb'), UnknownSysctlError);
  assert.deepEqual(readSysctls(sys, ['net.core.netdev_budget', 'net.core.nope']), { 'net.core.netdev_budget': '600', 'net.core.nope': undefined });
});

test('the real sysctls: bpfkit reads what /proc/sys holds (read-only)', () => {
  const sys = createKernelSys();
  const values = readSysctls(sys);
  let compared = 0;
  for (const s of NIC_SYSCTLS) {
    let expected: string | undefined;
    try {
      expected = readFileSync(sysctlPath(s.name), 'utf8').trim();
    } catch {
      expected = undefined;
    }
    assert.equal(values[s.name], expected, s.name);
    if (expected !== undefined) compared++;
  }
  assert.ok(compared >= 10, `${compared} sysctls readable`);
});

test('the real devices: every queue IRQ bpfkit finds is in /proc/interrupts with the affinity /proc/irq/N holds (read-only)', () => {
  const sys = createKernelSys();
  const interrupts = readFileSync('/proc/interrupts', 'utf8');
  let irqs = 0;
  for (const dev of readdirSync('/sys/class/net').filter((d) => !d.startsWith('bk'))) {
    let found;
    try {
      found = readIrqs(sys, dev);
    } catch (e) {
      if (e instanceof NoSuchDeviceError) continue; // gone meanwhile
      throw e;
    }
    for (const i of found) {
      assert.match(interrupts, new RegExp(`^\\s*${i.irq}:.*\\b${i.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `${dev}: irq ${i.irq}`);
      assert.equal(formatCpuList(i.affinity ?? []), readFileSync(`/proc/irq/${i.irq}/smp_affinity_list`, 'utf8').trim());
      irqs++;
    }
    try {
      const queues = readQueues(sys, dev);
      assert.equal(queues.length, readdirSync(`/sys/class/net/${dev}/queues`).filter((q) => /^(rx|tx)-\d+$/.test(q)).length, dev);
    } catch (e) {
      if (!existsSync(`/sys/class/net/${dev}`)) continue; // another process's interface, deleted meanwhile
      throw e;
    }
  }
  console.log(`# queue IRQs checked against /proc: ${irqs}`);
});
