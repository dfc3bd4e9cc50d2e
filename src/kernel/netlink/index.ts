// The netlink core (messages, attributes, socket, errors) and rtnetlink, re-exported for src/kernel/index.ts.
export { AttrWriter, Attrs, parseAttrs, nlaAlign, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, type Attr } from './attributes.js';
export { buildMessage, decodeAck, parseMessages, nlmsgAlign, NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR, type NetlinkAck, type NetlinkMessage } from './message.js';
export { NetlinkError, NetlinkParseError, type ExtAck } from './netlink-error.js';
export { NetlinkProtocol, NetlinkSocket, NetlinkTimeoutError, type NetlinkRequestOptions, type NetlinkSocketOptions } from './socket.js';
export { decodeLink, getLink, ifinfomsg, IFF, IFINFOMSG_LEN, IFLA, IFLA_INFO, IFLA_XDP, listLinks, openRtnetlink, rtmName, RTM, setLinkXdp, XDP_ATTACHED, XDP_FLAGS, type LinkAttrs, type SetXdpOptions, type XdpLinkState } from './rtnetlink.js';
export { addBpfFilter, addClsact, clsactParent, deleteBpfFilter, deleteClsact, flushFilters, listBpfFilters, listQdiscs, TC_H, TCA, TCA_BPF, TCA_BPF_FLAG_ACT_DIRECT, TCA_CLS_FLAGS, tcHandle, tcmsg, TCMSG_LEN, type BpfFilterId, type BpfFilterInfo, type BpfFilterOptions, type QdiscInfo, type TcDirection } from './rtnetlink-tc.js';
