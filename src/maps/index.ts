// The userspace map families: MapOps contract, registry, one file per family, the BpfMap API and codecs.
export type { BpfMap, MapInfoBase, UpdateMode } from './bpf-map.js';
export type { ByteRef, MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
export { InvalidKeySizeError, InvalidValueSizeError, MapAttributeError, MapErrno, mapErrnoName, MapOperationError, UnsupportedMapTypeError, type MapAttributeField } from './errors.js';
export { checkMapDef, createMap, findMapFamily, mapFamily, supportedMapTypes } from './registry.js';
export { arrayFamily, ArrayMap, progArrayFamily, ProgArrayOps, PCPU_MIN_UNIT_SIZE, type ProgramHandle } from './array.js';
export { hashFamily, HashMap } from './hash.js';
export { BpfLru, lruHashFamily, LruHashMap, lruMaxEntries } from './lru.js';
export { LPM_DATA_SIZE_MAX, lpmTrieFamily, LpmTrieMap } from './lpm-trie.js';
export { queueStackFamily, QueueStackMap } from './queue-stack.js';
export { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HDR_SZ, RINGBUF_MAX_RECORD_SZ, ringbufFamily, RingbufFlags, RingbufMap, RingbufQuery, type RingbufRecord } from './ringbuf.js';
export { DevMap, devmapFamily, type DevmapEntry } from './devmap.js';
export { ArrayOfMaps, HashOfMaps, innerMatches, mapInMapFamily, type MapInMapOps } from './map-in-map.js';
export { bloomFilterFamily, BloomFilterMap, bloomGeometry } from './bloom-filter.js';
export { PerfEventArray, perfEventArrayFamily, perfRecordSize, type PerfOutput } from './perf-event-array.js';
export { XskMap, xskMapFamily } from './xskmap.js';
export { JHASH_INITVAL, jhash } from './jhash.js';
export { RuntimeMap, updateFlags } from './runtime-map.js';
export { autoCodec, btfCodec, CodecError, codecs, sumPerCpu, typed, type BtfTypes, type BtfValue, type Codec } from './codec.js';
