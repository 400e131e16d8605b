/**
 * The canonical form of a username, used for creation, login, lookups and the
 * login rate-limit keys alike: Unicode NFKC, then lower case (locale-free),
 * then it must match USERNAME_PATTERN — letters a-z, digits and `. _ @ -`,
 * starting with a letter or digit, at most 64 characters. Anything else is not
 * a username: full-width "ｖiewer2" becomes "viewer2", but "vİewer2" (U+0130
 * lower-cases to "i" + U+0307) matches no account and cannot be created.
 */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
export const USERNAME_MAX_LENGTH = 64;
export const USERNAME_RULE = 'letters a-z, digits and . _ @ - only (case-insensitive), starting with a letter or digit, at most 64 characters';

/** NFKC + lower case, without the alphabet check (also the rate-limit key of names that are not valid). */
export function foldUsername(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** The canonical username, or null when the input cannot be a username. */
export function canonicalUsername(raw: string): string | null {
  const folded = foldUsername(raw);
  return USERNAME_PATTERN.test(folded) ? folded : null;
}
