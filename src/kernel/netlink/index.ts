// The netlink core (messages, attributes, socket, errors) and rtnetlink, re-exported for src/kernel/index.ts.
export { AttrWriter, Attrs, parseAttrs, nlaAlign, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, type Attr } from './attributes.js';
export { buildMessage, decodeAck, parseMessages, nlmsgAlign, NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR, type NetlinkAck, type NetlinkMessage } from './message.js';
export { NetlinkError, NetlinkParseError, type ExtAck } from './netlink-error.js';
export { NetlinkProtocol, NetlinkSocket, NetlinkTimeoutError, type NetlinkRequestOptions, type NetlinkSocketOptions } from './socket.js';
