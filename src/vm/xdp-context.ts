// The XDP context now lives in src/ctx/xdp-buff.ts; this file keeps the older import path working.

export { ETH_HLEN, XdpContext, XdpMd, XDP_FRAME_SIZE, XDP_MD_SIZE, XDP_PACKET_HEADROOM, XDP_TAILROOM, type XdpContextOptions } from '../ctx/xdp-buff.js';
