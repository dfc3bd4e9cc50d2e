// The ethtool netlink family, the netdev family's XDP features and the SIOCETHTOOL extras, re-exported for src/kernel/index.ts.
export { GENL_HDRLEN, GENL_ID_CTRL, GenlSocket, decodeFamily, genlPayload, parseGenl, resolveFamily, type GenlFamily, type GenlMessage, type GenlSocketOptions } from '../netlink/genl.js';
export { EthtoolSocket, ethtoolError, ethtoolMsgName, NET_ADMIN_HINT, decodeStringSet } from './ethtool-socket.js';
export { EthtoolReplyError, NoSuchDeviceError } from './errors.js';
export { readHeader, writeHeader, type DeviceRef, type ReplyDevice } from './header.js';
export { decodeBitset, encodeCompactBitset, writeNamedBits, type Bitset } from './bitset.js';
export { CHANNEL_KINDS, decodeChannels, encodeChannelsChange, getChannels, setChannels, type Channels, type ChannelsChange } from './channels.js';
export { decodeFeatures, encodeFeaturesChange, getFeatures, setFeatures, type FeatureState } from './features.js';
export { decodeRings, encodeRingsChange, getRings, setRings, type Rings, type RingsChange } from './rings.js';
export { COALESCE_PARAMS, decodeCoalesce, encodeCoalesceChange, getCoalesce, setCoalesce, type Coalesce } from './coalesce.js';
export { decodeRss, encodeRssChange, equalTable, getRss, setRss, weightTable, type Rss, type RssChange } from './rss.js';
export { decodeRxfh, encodeRxfh, ETH_RXFH_INDIR_NO_CHANGE, ETHTOOL_GRSSH, ETHTOOL_SRSSH, getRssIoctl, RXFH_HDR, setRssIoctl } from './rss-ioctl.js';
export { decodeLinkSettings, getLinkSettings, type LinkSettings } from './link-settings.js';
export { decodeXdpFeatures, getXdpFeatures, supportsNativeXdp, type XdpFeatures } from './xdp-features.js';
export { decodeDrvinfo, getDriverInfo, DRVINFO_SIZE, ETHTOOL_GDRVINFO, SIOCETHTOOL, type DriverInfo } from './drvinfo.js';
export { decodeDriverStats, ETHTOOL_GSTATS, getDriverStats } from './driver-stats.js';
export { decodeStdStats, getStdStats, type StatsGroup } from './std-stats.js';
export * from './ethtool.generated.js';
