/**
 * Addresses that are not the public internet: private, loopback, link-local, shared, reserved,
 * multicast, and the IPv6 forms that embed or map to IPv4 (mapped, compatible `::a.b.c.d`, SIIT
 * `::ffff:0:a.b.c.d`, NAT64, 6to4, Teredo). One list serves two checks: the sandbox's
 * `--deny-net` (IPv4 only: Deno 2.9.5 takes no IPv6 ranges there) and the relay's own outgoing
 * calls off the API's origin (both families, through net.BlockList, which checks an IPv4-mapped
 * `::ffff:a.b.c.d` against the IPv4 ranges itself).
 */
import { BlockList, isIP } from 'node:net';

export const PRIVATE_IPV4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
  '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4'];

export const PRIVATE_IPV6 = ['::/128', '::1/128', '::/96', '::ffff:0:0:0/96', '64:ff9b::/96', '64:ff9b:1::/48', '100::/64',
  '2001::/32', '2001:db8::/32', '2002::/16', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8'];

const blocked = new BlockList();
for (const range of PRIVATE_IPV4) {
  const [address, bits] = range.split('/') as [string, string];
  blocked.addSubnet(address, Number(bits), 'ipv4');
}
for (const range of PRIVATE_IPV6) {
  const [address, bits] = range.split('/') as [string, string];
  blocked.addSubnet(address, Number(bits), 'ipv6');
}

/** Whether an IP address (either family) is outside the public internet. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
