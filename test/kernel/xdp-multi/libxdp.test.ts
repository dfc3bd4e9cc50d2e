// libxdp's dispatcher as bpfkit meets it on this kernel: recognised by name and config, its version checked, freplace probed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadObject } from '../../../src/elf/object-loader.js';
import { alu64, exit, ld, program } from '../../../src/isa/builder.js';
import { encode } from '../../../src/isa/encode.js';
import { attachXdp, queryXdp } from '../../../src/kernel/attach/xdp.js';
import { ProgType } from '../../../src/kernel/bpf/constants.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { pinObject } from '../../../src/kernel/bpf/obj-pin.js';
import { programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { haveFeature } from '../../../src/kernel/feature-probe.js';
import { createValueMap } from '../../../src/kernel/xdp-multi/state.js';
import { encodeLibxdpConfig, freplaceFeature, XdpDispatcherVersionError, XdpMultiProg } from '../../../src/kernel/xdp-multi/index.js';
import { NotSupportedError } from '../../../src/errors.js';
import { ensureBpffs } from '../../support/bpffs.js';
import { repoRoot } from '../../support/fixtures.js';
import { createVethPair, withNetns } from '../../support/netns.js';
import { kernelTest, type CountingSys } from '../harness.js';

/** A stand-in for libxdp's dispatcher: named xdp_dispatcher, with a `.rodata` config of protocol `version`. */
function fakeDispatcher(sys: CountingSys, version: number) {
  const conf = encodeLibxdpConfig({ numProgsEnabled: 1, isXdpFrags: false, chainCallActions: [1 << 2 | 1 << 31], runPrios: [50], programFlags: [0] });
  conf[1] = version;
  using map = createValueMap(sys, 'xdp_disp.rodata', conf.length, conf);
  const insns = encode(program(ld.map_value(1, map.raw, 0), alu64.mov.imm(0, 2), exit()));
  return loadProgram(sys, { type: ProgType.XDP, insns, license: 'GPL', name: 'xdp_dispatcher' });
}

kernelTest('libxdp dispatcher on the interface: status names its version; an unknown version is refused; version 2 needs freplace, which this kernel refuses (probed)', async (sys) => {
  assert.ok(ensureBpffs().ok);
  const bpffs = `/sys/fs/bpf/bkxl-${process.pid}`;
  const spec = loadObject(new Uint8Array(readFileSync(`${repoRoot}/test/kernel/xdp-multi/c/xdp_mp_count.o`)), { objectName: 'xdp_mp_count' });
  try {
    await withNetns('bkxl-', async (ns) => {
      using pair = createVethPair({ prefix: 'bkxl', b: { ns } });
      const multi = XdpMultiProg.open(sys, pair.a.name, { bpffs });
      for (const version of [3, 2]) {
        using disp = fakeDispatcher(sys, version);
        using att = attachXdp(sys, disp, pair.a.name, { mode: 'skb', link: false });
        // Its one slot's program pinned where libxdp pins it, as xdp-loader leaves it.
        using comp = loadProgram(sys, { type: ProgType.XDP, insns: encode(program(alu64.mov.imm(0, 2), exit())), license: 'GPL', name: 'xdp_comp' });
        const dir = `${bpffs}/xdp/dispatch-${pair.a.ifindex}-${att.progId}`;
        mkdirSync(dir, { recursive: true });
        pinObject(comp, `${dir}/prog0-prog`);
        const compId = programInfo(comp).id;
        const st = multi.status();
        assert.deepEqual([st.kind, st.libxdpVersion, st.progName, st.progId], ['libxdp', version, 'xdp_dispatcher', att.progId]);
        // A version-2 dispatcher's programs are listed from its slots' pins (what xdp-loader loaded shows in bpfkit xdp status).
        assert.deepEqual(
          st.programs.map((p) => [p.slot, p.name, p.id, p.priority, p.actions.join(','), p.tag.length]),
          version === 2 ? [[0, 'xdp_comp', compId, 50, 'XDP_PASS', 16]] : [],
        );
        const err = (() => {
          try {
            multi.load([{ spec }]);
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        if (version === 3) {
          assert.ok(err instanceof XdpDispatcherVersionError, String(err));
          assert.equal(err.version, 3);
          assert.match(err.message, /libxdp dispatcher prog \d+ has protocol version 3; bpfkit implements version 2 .*xdp-loader unload/);
        } else if (!haveFeature(sys, freplaceFeature)) {
          assert.ok(err instanceof NotSupportedError, String(err));
          assert.match(err.message, /freplace \(BPF_PROG_TYPE_EXT\).*not supported.*this kernel refuses freplace/);
        }
        // Refused before anything was made: the libxdp dispatcher is still the one attached, nothing pinned.
        assert.deepEqual(queryXdp(sys, pair.a.name).map((x) => x.progId), [att.progId]);
        att.detach();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  } finally {
    rmSync(bpffs, { recursive: true, force: true });
  }
});

kernelTest('freplace probe: this kernel answers BPF_PROG_TYPE_EXT with EPERM, so the probe says no (and bpftool agrees)', (sys) => {
  const bpftool = JSON.parse(execFileSync('bpftool', ['feature', 'probe', 'kernel', '-j'], { encoding: 'utf8' })) as { program_types: Record<string, boolean> };
  assert.equal(haveFeature(sys, freplaceFeature), bpftool.program_types['have_ext_prog_type']);
});

