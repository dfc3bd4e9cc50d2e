// Public API of the packet module: captures (pcap/pcapng), header parse/build, checksums, RSS.

export { PcapError, PacketBuildError } from './errors.js';
export { LinkType, captureLinkTypeName, SLL_HEADER_LEN, SLL2_HEADER_LEN, type LinkTypeValue } from './link-type.js';
export { EtherType, IpProto, TcpFlag } from './ether-type.js';
export {
  PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO, PcapngBlock, PcapngOption, PCAPNG_BYTE_ORDER_MAGIC, detectCaptureFormat,
  type CaptureFormat,
} from './capture-format.js';
export {
  TS_RESOLUTION_MICRO, TS_RESOLUTION_NANO, binaryTsResolution, ticksPerSecond, ticksToTime, timeToTicks,
  type TsResolution, type TimeParts, type TickParts,
} from './timestamp.js';
export { PacketRecord, type CapturedPacket } from './packet-record.js';
export { walkPcapngOptions, type CaptureInterface, type PcapngSection } from './pcapng-options.js';
export {
  CaptureReader, readCapture, readCaptureStream, type CaptureReaderOptions, type PcapFileHeader,
} from './capture-reader.js';
export { PcapWriter, writePcap, type PcapWriterOptions, type PacketMeta, type PacketInput } from './pcap-writer.js';
export {
  PcapngWriter, type PcapngSectionOptions, type PcapngInterfaceOptions, type PcapngPacketMeta,
} from './pcapng-writer.js';
export {
  foldSum, onesComplementSum, internetChecksum, checksumUpdate16, checksumUpdate32, checksumUpdateBytes,
  pseudoHeaderSum, transportChecksum,
} from './checksum.js';
export {
  writeIpv4, parseIpv4, writeIpv6, parseIpv6, parseIp, formatIpv4, formatIpv6, writeMac, parseMac, formatMac,
} from './address.js';
export { ParsedFrame, parseFrame, Truncated, MAX_IPV6_EXTENSION_HEADERS } from './frame-parser.js';
export {
  buildEthernet, buildIpPacket, buildUdp, buildTcp, buildIcmpEcho, buildArp, tcpFlagsFromString,
  type VlanTag, type LinkOptions, type IpOptions, type Ipv6ExtensionHeader, type PayloadInput, type UdpOptions,
  type TcpOptions, type IcmpEchoOptions, type ArpOptions, type IpPacketOptions,
} from './frame-builder.js';
export { verifyIpv4Checksum, verifyTransportChecksum, fillChecksums } from './frame-checksum.js';
export { MICROSOFT_RSS_KEY, toeplitzHash, ToeplitzHasher } from './toeplitz.js';
export { RssSpreader, type RssSpreaderOptions } from './rss-spreader.js';
