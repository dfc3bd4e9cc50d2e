// Example files the bundler embeds as bytes (esbuild's binary loader).
declare module '*.o' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*.pcap' {
  const bytes: Uint8Array;
  export default bytes;
}
