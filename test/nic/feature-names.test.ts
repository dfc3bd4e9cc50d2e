// Feature names: ethtool's short and long names resolve to the kernel's strings; unknown names list close matches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeMatches, editDistance, resolveFeatureName, shortFeatureName, UnknownFeatureError } from '../../src/nic/feature-names.js';

const known = new Set(['rx-checksum', 'rx-gro', 'rx-lro', 'rx-gro-hw', 'tx-generic-segmentation', 'tx-scatter-gather', 'tx-tcp-segmentation', 'tx-tcp6-segmentation', 'tx-checksum-ip-generic', 'tx-checksum-sctp', 'rx-hashing', 'rx-ntuple-filter', 'rx-vlan-hw-parse', 'tx-vlan-hw-insert']);

test('every short name ethtool -K takes resolves to the kernel strings the device has', () => {
  const cases: [string, string[]][] = [
    ['rx', ['rx-checksum']],
    ['tx', ['tx-checksum-ip-generic', 'tx-checksum-sctp']],
    ['sg', ['tx-scatter-gather']],
    ['tso', ['tx-tcp-segmentation', 'tx-tcp6-segmentation']],
    ['gso', ['tx-generic-segmentation']],
    ['gro', ['rx-gro']],
    ['lro', ['rx-lro']],
    ['rxhash', ['rx-hashing']],
    ['ntuple', ['rx-ntuple-filter']],
    ['rxvlan', ['rx-vlan-hw-parse']],
    ['txvlan', ['tx-vlan-hw-insert']],
    ['generic-receive-offload', ['rx-gro']],
    ['rx-checksumming', ['rx-checksum']],
  ];
  for (const [alias, expected] of cases) assert.deepEqual(resolveFeatureName(alias, known, 'eth0'), expected, alias);
  assert.deepEqual(resolveFeatureName('rx-gro-hw', known, 'eth0'), ['rx-gro-hw'], 'kernel strings pass through');
});

test('an unknown name is UnknownFeatureError naming the device and the close matches', () => {
  assert.throws(
    () => resolveFeatureName('rx-gor', known, 'eth0'),
    (e: unknown) => e instanceof UnknownFeatureError && e.code === 'ERR_NIC_UNKNOWN_FEATURE' && e.suggestions[0] === 'rx-gro' && /eth0: unknown feature 'rx-gor' \(did you mean 'rx-gro'/.test(e.message),
  );
  assert.throws(() => resolveFeatureName('gr', known, 'eth0'), (e: unknown) => e instanceof UnknownFeatureError && e.suggestions.includes('gro'));
  assert.throws(() => resolveFeatureName('zzzzzzzzzzzz', known, 'eth0'), (e: unknown) => e instanceof UnknownFeatureError && e.suggestions.length === 0 && !/did you mean/.test(e.message));
  // An alias whose features this device lacks is unknown here.
  assert.throws(() => resolveFeatureName('ufo', known, 'eth0'), UnknownFeatureError);
});

test('short names for display, edit distance, matches', () => {
  assert.equal(shortFeatureName('rx-gro'), 'gro');
  assert.equal(shortFeatureName('rx-checksum'), 'rx');
  assert.equal(shortFeatureName('tx-tcp-segmentation'), undefined, 'tso names a group of four, not this one');
  assert.equal(shortFeatureName('tx-checksum-ipv4'), undefined);
  assert.equal(shortFeatureName('highdma'), undefined);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.deepEqual(closeMatches('rx-lr', ['rx-lro', 'rx-gro', 'tx-nocache-copy']), ['rx-lro', 'rx-gro']);
});
