// pcapng option lists: walk them, read the SHB and IDB options the reader needs.

import type { TsResolution } from './timestamp.js';
import { PcapngOption } from './capture-format.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Calls `visit(code, valueOffset, valueLength)` for each option in `dv[start..end)`, stopping
 * at opt_endofopt or the end. Returns `undefined` if well formed, else why not.
 */
export function walkPcapngOptions(
  dv: DataView, start: number, end: number, littleEndian: boolean,
  visit: (code: number, valueOffset: number, valueLength: number) => void,
): string | undefined {
  let p = start;
  while (p + 4 <= end) {
    const code = dv.getUint16(p, littleEndian);
    const length = dv.getUint16(p + 2, littleEndian);
    if (code === PcapngOption.END_OF_OPT) return undefined;
    const next = p + 4 + ((length + 3) & ~3);
    if (p + 4 + length > end) return `option ${code} at +${p - start} runs past the block (length ${length})`;
    visit(code, p + 4, length);
    p = next;
  }
  return undefined;
}

/** Decodes a UTF-8 option value. */
export function optionString(dv: DataView, offset: number, length: number): string {
  return utf8.decode(new Uint8Array(dv.buffer, dv.byteOffset + offset, length)).replace(/\0+$/, '');
}

/** Interface description (IDB) as the reader exposes it. */
export interface CaptureInterface {
  /** Link type (`LinkType.ETHERNET`...). */
  linkType: number;
  /** Maximum bytes captured per packet; 0 means no limit. */
  snaplen: number;
  /** Timestamp resolution (if_tsresol byte; 6 = microseconds when absent). */
  tsResolution: TsResolution;
  /** Seconds added to every timestamp (if_tsoffset), usually 0. */
  tsOffset: number;
  /** if_name, when present. */
  name?: string;
  /** if_description, when present. */
  description?: string;
  /** Bits of frame check sequence at the end of each frame (if_fcslen / pcap FCS field), when known. */
  fcsLength?: number;
}

/** A pcapng section (from its Section Header Block). */
export interface PcapngSection {
  /** Byte order of every block in the section. */
  littleEndian: boolean;
  /** Format version major (1). */
  versionMajor: number;
  /** Format version minor (0). */
  versionMinor: number;
  /** Section length in bytes, or -1 when not specified (or beyond 2^53). */
  sectionLength: number;
  /** Byte offset of the SHB in the stream. */
  offset: number;
  /** shb_hardware. */
  hardware?: string;
  /** shb_os. */
  os?: string;
  /** shb_userappl. */
  userAppl?: string;
  /** opt_comment values. */
  comments: string[];
}
