// Magic numbers and block types of the classic pcap and pcapng file formats.

/** Classic pcap magic, microsecond timestamps (as read in the writer's byte order). */
export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
/** Classic pcap magic, nanosecond timestamps. */
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
/** Byte length of the classic pcap file header. */
export const PCAP_FILE_HEADER_LEN = 24;
/** Byte length of a classic pcap record header. */
export const PCAP_RECORD_HEADER_LEN = 16;

/** pcapng block types (draft-ietf-opsawg-pcapng). */
export const PcapngBlock = {
  /** Section Header Block; the same bytes in both byte orders. */
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  /** Obsolete Packet Block. */
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
} as const;

/** pcapng byte-order magic in the Section Header Block. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** pcapng option codes used by the reader and writer. */
export const PcapngOption = {
  END_OF_OPT: 0,
  COMMENT: 1,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_FCSLEN: 13,
  IF_TSOFFSET: 14,
  EPB_FLAGS: 2,
  EPB_DROPCOUNT: 4,
  EPB_PACKETID: 5,
  EPB_QUEUE: 6,
  EPB_VERDICT: 7,
} as const;

/** Which capture format a stream is in. */
export type CaptureFormat = 'pcap' | 'pcapng';

/**
 * Detects the format from the first 4 bytes of a capture: `'pcap'` for either classic magic
 * in either byte order, `'pcapng'` for a Section Header Block, `undefined` otherwise.
 */
export function detectCaptureFormat(head: Uint8Array): CaptureFormat | undefined {
  if (head.length < 4) return undefined;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  const le = ((head[3]! << 24) | (head[2]! << 16) | (head[1]! << 8) | head[0]!) >>> 0;
  if (be === PCAP_MAGIC_MICRO || be === PCAP_MAGIC_NANO || le === PCAP_MAGIC_MICRO || le === PCAP_MAGIC_NANO) return 'pcap';
  if (be === PcapngBlock.SECTION_HEADER) return 'pcapng';
  return undefined;
}
