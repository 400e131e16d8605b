/** What a sending domain and a DKIM selector may be (shared by the routes' Zod schemas and the service). */

/**
 * A sending domain: a fully qualified host name in lower case — at least two labels of letters,
 * digits and hyphens (not first or last), each 1–63 characters, at most 253 in all, a top-level
 * label that is not all digits (so an IPv4 address is refused). Internationalised names in their
 * ASCII (xn--) form. A trailing dot is removed before the check.
 */
export const DOMAIN_RULE = 'a host name such as example.com: two or more labels of letters, digits and hyphens, at most 253 characters (IDNs in xn-- form)';
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_RE = new RegExp(`^(?:${LABEL}\\.)+(?=[a-z0-9-]*[a-z])${LABEL}$`);

export function normalizeDomain(s: string): string {
  return s.trim().toLowerCase().replace(/\.$/, '');
}
export function isSendingDomain(s: string): boolean {
  return s.length >= 3 && s.length <= 253 && DOMAIN_RE.test(s);
}

/** RFC 6376 §3.1: a selector is one or more dot-separated labels; underscores are allowed as DNS labels there. */
export const SELECTOR_RULE = 'a DKIM selector: dot-separated labels of letters, digits, hyphens and underscores, at most 63 characters';
const SELECTOR_RE = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
export function isSelector(s: string): boolean {
  return s.length >= 1 && s.length <= 63 && SELECTOR_RE.test(s);
}
