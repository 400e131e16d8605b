/**
 * The DNSBL zones Opsdeck checks out of the box (migration 0022 seeds them;
 * editable through /api/v1/dnsbl/zones) and the tiers of §16.5 of the
 * mail-cluster requirements: how often each tier is checked and what a listing
 * on it does (critical: the IP is paused; the others only alert).
 */
export const DNSBL_TIERS = ['critical', 'high', 'medium', 'low'] as const;
export type DnsblTier = (typeof DNSBL_TIERS)[number];
export const AUTO_RESPONSES = ['pause', 'alert'] as const;
export type AutoResponse = (typeof AUTO_RESPONSES)[number];

export const DEFAULT_TIERS: readonly { tier: DnsblTier; checkIntervalSeconds: number; autoResponse: AutoResponse }[] = [
  { tier: 'critical', checkIntervalSeconds: 60, autoResponse: 'pause' },
  { tier: 'high', checkIntervalSeconds: 300, autoResponse: 'alert' },
  { tier: 'medium', checkIntervalSeconds: 900, autoResponse: 'alert' },
  { tier: 'low', checkIntervalSeconds: 3600, autoResponse: 'alert' },
];

export interface ZoneSeed {
  zone: string;
  tier: DnsblTier;
  ipv6: boolean;
  delistUrl: string;
}

export const DEFAULT_ZONES: readonly ZoneSeed[] = [
  { zone: 'zen.spamhaus.org', tier: 'critical', ipv6: true, delistUrl: 'https://check.spamhaus.org/' },
  { zone: 'b.barracudacentral.org', tier: 'critical', ipv6: false, delistUrl: 'https://www.barracudacentral.org/rbl/removal-request' },
  { zone: 'bl.spamcop.net', tier: 'critical', ipv6: false, delistUrl: 'https://www.spamcop.net/bl.shtml' },
  { zone: 'dnsbl.sorbs.net', tier: 'high', ipv6: false, delistUrl: 'http://www.sorbs.net/delisting/' },
  { zone: 'cbl.abuseat.org', tier: 'high', ipv6: false, delistUrl: 'https://check.spamhaus.org/' },
  { zone: 'psbl.surriel.com', tier: 'high', ipv6: false, delistUrl: 'https://psbl.org/remove' },
  { zone: 'bl.mailspike.net', tier: 'high', ipv6: false, delistUrl: 'https://mailspike.org/iplookup.html' },
  { zone: 'ix.dnsbl.manitu.net', tier: 'high', ipv6: false, delistUrl: 'https://www.dnsbl.manitu.net/' },
  { zone: 'dnsbl.dronebl.org', tier: 'high', ipv6: true, delistUrl: 'https://dronebl.org/lookup' },
  { zone: 'dnsbl-1.uceprotect.net', tier: 'medium', ipv6: false, delistUrl: 'https://www.uceprotect.net/en/rblcheck.php' },
  { zone: 'dnsbl-2.uceprotect.net', tier: 'medium', ipv6: false, delistUrl: 'https://www.uceprotect.net/en/rblcheck.php' },
  { zone: 'dnsbl-3.uceprotect.net', tier: 'medium', ipv6: false, delistUrl: 'https://www.uceprotect.net/en/rblcheck.php' },
  { zone: 'dyna.spamrats.com', tier: 'medium', ipv6: false, delistUrl: 'https://www.spamrats.com/removal.php' },
  { zone: 'noptr.spamrats.com', tier: 'medium', ipv6: false, delistUrl: 'https://www.spamrats.com/removal.php' },
  { zone: 'spam.spamrats.com', tier: 'medium', ipv6: false, delistUrl: 'https://www.spamrats.com/removal.php' },
  { zone: 'db.wpbl.info', tier: 'medium', ipv6: false, delistUrl: 'https://www.wpbl.info/' },
  { zone: 'bl.spameatingmonkey.net', tier: 'medium', ipv6: false, delistUrl: 'https://spameatingmonkey.com/lookup' },
  { zone: 'truncate.gbudb.net', tier: 'medium', ipv6: false, delistUrl: 'https://www.gbudb.com/truncate/' },
  { zone: 'bl.blocklist.de', tier: 'medium', ipv6: false, delistUrl: 'https://www.blocklist.de/en/delist.html' },
  { zone: 'all.s5h.net', tier: 'medium', ipv6: false, delistUrl: 'https://www.usenix.org.uk/content/rbl.html' },
  { zone: 'rbl.interserver.net', tier: 'medium', ipv6: false, delistUrl: 'https://rbl.interserver.net/' },
  { zone: 'dnsbl.justspam.org', tier: 'low', ipv6: false, delistUrl: 'https://www.justspam.org/' },
  { zone: 'spam.dnsbl.anonmails.de', tier: 'low', ipv6: false, delistUrl: 'https://anonmails.de/dnsbl.php' },
  { zone: 'ubl.unsubscore.com', tier: 'low', ipv6: false, delistUrl: 'https://www.lashback.com/blacklist/' },
  { zone: 'dnsbl.kempt.net', tier: 'low', ipv6: false, delistUrl: 'http://www.kempt.net/' },
  { zone: 'bl.nszones.com', tier: 'low', ipv6: false, delistUrl: 'https://www.nszones.com/' },
];
