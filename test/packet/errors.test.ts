// The packet module's error classes: name, stable code, structured fields, context and cause kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfkitError } from '../../src/errors.js';
import { PcapError, PacketBuildError } from '../../src/packet/index.js';

const TABLE = [
  { make: () => new PcapError(96, 'record caplen 9999999 exceeds the limit of 262144'), cls: PcapError, name: 'PcapError', code: 'ERR_PCAP_MALFORMED', message: 'malformed capture at offset 96: record caplen 9999999 exceeds the limit of 262144', fields: { offset: 96, reason: 'record caplen 9999999 exceeds the limit of 262144' } },
  { make: () => new PacketBuildError('src', 'not an IPv4 address: "1.2.3"'), cls: PacketBuildError, name: 'PacketBuildError', code: 'ERR_PACKET_BUILD', message: 'src: not an IPv4 address: "1.2.3"', fields: { field: 'src', reason: 'not an IPv4 address: "1.2.3"' } },
];

for (const row of TABLE) {
  test(`${row.name}: class, name, code, message, fields`, () => {
    const e = row.make();
    assert.ok(e instanceof row.cls && e instanceof BpfkitError && e instanceof Error);
    assert.equal(e.name, row.name);
    assert.equal(e.code, row.code);
    assert.equal(e.message, row.message);
    for (const [k, v] of Object.entries(row.fields)) assert.equal((e as unknown as Record<string, unknown>)[k], v);
    const wrapped = e.withContext('file "x.pcap"');
    assert.ok(wrapped instanceof row.cls);
    assert.equal(wrapped.message, `file "x.pcap": ${row.message}`);
    assert.equal(wrapped.code, row.code);
  });
}

test('cause is kept', () => {
  const cause = new Error('inner');
  assert.equal(new PcapError(0, 'x', { cause }).cause, cause);
});
