// host:port parsing shared by the gRPC and the metrics listeners.
export function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  if (!m) throw new Error(`--listen "${listen}" is not host:port (e.g. 127.0.0.1:50051 or [::1]:0)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--listen port ${port} is out of range`);
  return { host: (m[1] ?? m[2])!, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
