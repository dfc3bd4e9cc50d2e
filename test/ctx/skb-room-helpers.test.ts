// bpf_skb_adjust_room (modes, encap/decap flags, bounds), bpf_skb_load_bytes_relative and bpf_check_mtu vs the kernel.
import assert from 'node:assert/strict';
import { alu64, call, exit, type Instruction, ld, ldx, program, r0, r1, r2, r3, r4, r5, r6, r7, r10, st } from '../../src/isa/index.js';
import { BpfAdjRoomFlags as F } from '../../src/isa/uapi.generated.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import type { Sys } from '../../src/kernel/sys.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRun, summary, vmRun } from './oracle.js';
import { rng } from '../vm/oracle.js';

class Tally {
  compared = 0;
  readonly diffs: string[] = [];
  check(sys: Sys, ops: RunnableProgramType, name: string, insns: Instruction[], data: Uint8Array): void {
    const k = summary(kernelRun(sys, ops, insns, data));
    const m = summary(vmRun(ops, insns, data, undefined, { env: createHelperEnv() }));
    this.compared++;
    if (k !== m) this.diffs.push(`${name}:\n  kernel ${k.slice(0, 220)}\n  bpfkit ${m.slice(0, 220)}`);
  }
  done(what: string): void {
    process.stdout.write(`# ${what}: ${this.compared} cases compared with the kernel\n`);
    assert.equal(this.diffs.length, 0, `${this.diffs.length} disagreements:\n${this.diffs.slice(0, 8).join('\n')}`);
  }
}

const ipv4 = frame([0, 0, 0, 0, 0, 0], 0x0800, new Uint8Array(60).map((_, i) => (i === 0 ? 0x45 : i)));
const ipv6 = frame([0, 0, 0, 0, 0, 0], 0x86dd, new Uint8Array(80).map((_, i) => (i === 0 ? 0x60 : i)));
const arp = frame([0, 0, 0, 0, 0, 0], 0x0806, 28);

/** `times` × adjust_room(len_diff, mode, flags); returns (ret & 0xffff) | protocol << 16. */
function adjustRoom(lenDiff: number, mode: number, flags: bigint, times = 1): Instruction[] {
  const calls: Instruction[] = [];
  for (let i = 0; i < times; i++) calls.push(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, lenDiff), alu64.mov.imm(r3, mode), ld.imm64(r4, flags), call.helper('skb_adjust_room'));
  return program(alu64.mov.reg(r6, r1), ...calls, alu64.and.imm(r0, 0xffff), ldx.w(r2, r6, SkBuff.protocol), alu64.lsh.imm(r2, 16), alu64.or.reg(r0, r2), exit());
}

kernelTest('skb_adjust_room: NET and MAC modes, encap/decap flags, bounds, as in the kernel', (sys) => {
  const t = new Tally();
  const flagSets: bigint[] = [
    0n, BigInt(F.FIXED_GSO), BigInt(F.NO_CSUM_RESET), BigInt(F.ENCAP_L3_IPV4), BigInt(F.ENCAP_L3_IPV6), BigInt(F.ENCAP_L3_IPV4 | F.ENCAP_L3_IPV6),
    BigInt(F.ENCAP_L3_IPV4 | F.ENCAP_L4_GRE), BigInt(F.ENCAP_L3_IPV6 | F.ENCAP_L4_UDP), BigInt(F.ENCAP_L3_IPV4 | F.ENCAP_L4_UDP | F.ENCAP_L4_GRE),
    BigInt(F.ENCAP_L3_IPV4 | F.ENCAP_L2_ETH), BigInt(F.ENCAP_L3_IPV4 | F.ENCAP_L2_ETH) | (14n << 56n), BigInt(F.ENCAP_L3_IPV4) | (30n << 56n),
    BigInt(F.DECAP_L3_IPV4), BigInt(F.DECAP_L3_IPV6), BigInt(F.DECAP_L3_IPV4 | F.DECAP_L3_IPV6), 0x200n,
  ];
  for (const [name, data] of [['ipv4', ipv4], ['ipv6', ipv6], ['arp', arp]] as const) {
    for (const diff of [0, 4, 20, 40, -4, -20, -39, -40, -45, -46, 0xfff, 0x1000, -0x1000]) {
      for (const mode of [0, 1, 2]) {
        for (const flags of flagSets) {
          if (name === 'arp' && (flags !== 0n || mode !== 0)) continue;
          t.check(sys, tcOps, `${name} diff ${diff} mode ${mode} flags 0x${flags.toString(16)}`, adjustRoom(diff, mode, flags), data);
        }
      }
    }
  }
  for (const flags of [BigInt(F.ENCAP_L3_IPV4), 0n]) t.check(sys, tcOps, `twice, flags ${flags}`, adjustRoom(8, 1, flags, 2), ipv4);
  t.done('skb_adjust_room');
});

kernelTest('skb_load_bytes_relative from the MAC and network headers, and bpf_check_mtu (tc and xdp)', (sys) => {
  const t = new Tally();
  for (const start of [0, 1, 2]) {
    for (const off of [0, 1, 13, 14, ipv4.length - 22, ipv4.length - 15, ipv4.length - 14, ipv4.length - 8, ipv4.length - 7, 0xffff, 0x10000]) {
      for (const len of [1, 8]) {
        const insns = program(
          st.dw(r10, -8, 0x5a5a5a5a),
          alu64.mov.imm(r2, off),
          alu64.mov.reg(r3, r10),
          alu64.add.imm(r3, -8),
          alu64.mov.imm(r4, len),
          alu64.mov.imm(r5, start),
          call.helper('skb_load_bytes_relative'),
          ldx.w(r2, r10, -8),
          alu64.xor.reg(r0, r2),
          exit(),
        );
        t.check(sys, tcOps, `load_bytes_relative start ${start} off ${off} len ${len}`, insns, ipv4);
      }
    }
  }
  for (const ops of [tcOps, xdpOps]) {
    for (const ifindex of [0, 1, 99999]) {
      for (const mtuIn of [0, 1500, 65536, 65537]) {
        for (const diff of [0, 100, -100, 65536]) {
          for (const flags of [0, 1, 2]) {
            const insns = program(
              st.w(r10, -4, mtuIn),
              alu64.mov.imm(r2, ifindex),
              alu64.mov.reg(r3, r10),
              alu64.add.imm(r3, -4),
              alu64.mov.imm(r4, diff),
              alu64.mov.imm(r5, flags),
              call.helper('check_mtu'),
              alu64.and.imm(r0, 0xff),
              ldx.w(r7, r10, -4),
              alu64.lsh.imm(r7, 8),
              alu64.or.reg(r0, r7),
              exit(),
            );
            t.check(sys, ops, `${ops.name} check_mtu if ${ifindex} mtu ${mtuIn} diff ${diff} flags ${flags}`, insns, ipv4);
          }
        }
      }
    }
  }
  t.done('load_bytes_relative/check_mtu');
});

kernelTest('skb_change_proto: IPv4 <-> IPv6 header room, other protocols and flags refused', (sys) => {
  const t = new Tally();
  for (const [name, data] of [['ipv4', ipv4], ['ipv6', ipv6], ['arp', arp]] as const) {
    for (const proto of [0x0008, 0xdd86, 0x0608, 0x0800]) {
      for (const flags of [0, 1]) {
        const insns = program(
          alu64.mov.reg(r6, r1),
          alu64.mov.imm(r2, proto),
          alu64.mov.imm(r3, flags),
          call.helper('skb_change_proto'),
          alu64.and.imm(r0, 0xffff),
          ldx.w(r2, r6, SkBuff.protocol),
          alu64.lsh.imm(r2, 16),
          alu64.or.reg(r0, r2),
          exit(),
        );
        t.check(sys, tcOps, `${name} -> 0x${proto.toString(16)} flags ${flags}`, insns, data);
      }
    }
  }
  t.done('skb_change_proto');
});

kernelTest('random sequences of skb helpers in one tc program (vlan, room, proto, tail, head, store, ecn)', (sys) => {
  const t = new Tally();
  const rand = rng(17);
  type Step = [string, Instruction[]];
  const pick = <T>(xs: readonly T[]): T => xs[rand() % xs.length]!;
  const steps: (() => Step)[] = [
    () => { const p = pick([0x0081, 0xa888]); const tci = rand() % 4096; return [`push ${p.toString(16)}/${tci}`, [alu64.mov.imm(r2, p), alu64.mov.imm(r3, tci), call.helper('skb_vlan_push')]]; },
    () => ['pop', [call.helper('skb_vlan_pop')]],
    () => {
      const d = pick([4, 8, -4, -8, 20, -20]);
      const mode = rand() % 2;
      const f = pick([0, F.ENCAP_L3_IPV4, F.NO_CSUM_RESET, F.DECAP_L3_IPV4]);
      return [`room ${d}/${mode}/${f}`, [alu64.mov.imm(r2, d), alu64.mov.imm(r3, mode), ld.imm64(r4, BigInt(f)), call.helper('skb_adjust_room')]];
    },
    () => { const p = pick([0x0008, 0xdd86]); return [`proto ${p.toString(16)}`, [alu64.mov.imm(r2, p), alu64.mov.imm(r3, 0), call.helper('skb_change_proto')]]; },
    () => { const n = 40 + (rand() % 120); return [`tail ${n}`, [alu64.mov.imm(r2, n), alu64.mov.imm(r3, 0), call.helper('skb_change_tail')]]; },
    () => { const n = rand() % 40; return [`head ${n}`, [alu64.mov.imm(r2, n), alu64.mov.imm(r3, 0), call.helper('skb_change_head')]]; },
    () => {
      const off = rand() % 80;
      const f = rand() % 4;
      return [`store ${off}/${f}`, [st.dw(r10, -8, 0x11223344), alu64.mov.imm(r2, off), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -8), alu64.mov.imm(r4, 8), alu64.mov.imm(r5, f), call.helper('skb_store_bytes')]];
    },
    () => ['ecn', [call.helper('skb_ecn_set_ce')]],
    () => {
      const k = pick([0, 12, 14, 16, 30, -0x100000, -0x100000 + 2, -0x200000 + 12]);
      return [`ld_abs ${k}`, [ld.abs.w(k)]];
    },
  ];
  for (let i = 0; i < Number(process.env.BPFKIT_SEQ ?? 300); i++) {
    const body: Instruction[] = [alu64.mov.reg(r6, r1), alu64.mov.imm(r7, 0)];
    const n = 2 + (rand() % 5);
    const names: string[] = [];
    for (let s = 0; s < n; s++) {
      const [name, insns] = steps[rand() % steps.length]!();
      names.push(name);
      body.push(alu64.mov.reg(r1, r6), ...insns, alu64.mul.imm(r7, 7), alu64.add.reg(r7, r0));
    }
    body.push(ldx.w(r2, r6, SkBuff.len), alu64.lsh.imm(r2, 20), alu64.xor.reg(r7, r2), ldx.w(r2, r6, SkBuff.protocol), alu64.xor.reg(r7, r2), alu64.mov.reg(r0, r7), exit());
    const data = [ipv4, ipv6, frame([0, 0, 0, 0, 0, 0], 0x8100, new Uint8Array([0, 9, 8, 0, 0x45, ...new Array<number>(40).fill(1)]))][rand() % 3]!;
    t.check(sys, tcOps, `sequence #${i} on ${data[12]!.toString(16)}: ${names.join(', ')}`, program(...body), data);
  }
  t.done('skb helper sequences');
});
