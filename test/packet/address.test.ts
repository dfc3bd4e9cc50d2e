// IPv4/IPv6/MAC text <-> bytes, IPv6 output per RFC 5952 (as tcpdump prints).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv6, formatIpv6, parseIpv4, formatIpv4, parseMac, formatMac, PacketBuildError } from '../../src/packet/index.js';

test('IPv6 round trips to RFC 5952 canonical text', () => {
  const cases: [string, string][] = [
    ['::', '::'], ['::1', '::1'], ['1::', '1::'], ['2001:DB8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['fe80::200:f8ff:fe21:67cf', 'fe80::200:f8ff:fe21:67cf'],
  ];
  for (const [input, canonical] of cases) assert.equal(formatIpv6(parseIpv6(input)), canonical, input);
});

test('bad addresses are PacketBuildError with the field name', () => {
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '12345::', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8']) {
    assert.throws(() => parseIpv6(bad, 'dst'), (e: unknown) => e instanceof PacketBuildError && e.field === 'dst', bad);
  }
  for (const bad of ['1.2.3', '1.2.3.256', 'a.b.c.d', '1.2.3.4.5']) assert.throws(() => parseIpv4(bad), PacketBuildError, bad);
  assert.throws(() => parseMac('00:11:22:33:44'), PacketBuildError);
});

test('IPv4 and MAC', () => {
  assert.equal(formatIpv4(parseIpv4('192.168.0.255')), '192.168.0.255');
  assert.equal(formatMac(parseMac('0A-1b-2C-3d-4E-5f')), '0a:1b:2c:3d:4e:5f');
});
