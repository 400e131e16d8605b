/**
 * The one password rule of Opsdeck, applied wherever a password is set: user
 * creation (POST /api/v1/users and the CLI/test helpers through UserStore),
 * the own password change, and the first admin (OPSDECK_ADMIN_PASSWORD).
 *
 * - at least PASSWORD_MIN_LENGTH characters (Unicode code points), at most PASSWORD_MAX_LENGTH;
 * - not only whitespace;
 * - not containing the username (compared in canonical form: NFKC, lower case);
 * - not one of the common passwords shipped in common-passwords.ts.
 */
import { InvalidError } from '../../domain/errors.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.ts';

export type PasswordProblem = 'too_short' | 'too_long' | 'only_whitespace' | 'contains_username' | 'common';

const MESSAGES: Record<PasswordProblem, string> = {
  too_short: `the password must have at least ${PASSWORD_MIN_LENGTH} characters`,
  too_long: `the password must have at most ${PASSWORD_MAX_LENGTH} characters`,
  only_whitespace: 'the password must not consist of whitespace only',
  contains_username: 'the password must not contain the username',
  common: 'the password is one of the most common passwords',
};

/**
 * A new password breaks the rule: 400 PASSWORD_TOO_WEAK with `reason` (one of
 * PasswordProblem), a domain InvalidError like the other refusals of the auth services.
 */
export class WeakPasswordError extends InvalidError {
  constructor(readonly problem: PasswordProblem) {
    super('PASSWORD_TOO_WEAK', MESSAGES[problem], [], { reason: problem });
    this.name = 'WeakPasswordError';
  }
}

/** The first rule the password breaks, or null when it is acceptable. */
export function passwordProblem(password: string, username: string): PasswordProblem | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (length > PASSWORD_MAX_LENGTH) return 'too_long';
  if (/^[\s\u200b\u2060\ufeff]*$/u.test(password)) return 'only_whitespace';
  const folded = password.normalize('NFKC').toLowerCase();
  const name = username.normalize('NFKC').toLowerCase();
  if (name.length > 0 && folded.includes(name)) return 'contains_username';
  if (COMMON_PASSWORDS.has(folded)) return 'common';
  return null;
}

/** Throws WeakPasswordError when the password breaks the rule. */
export function assertPasswordAcceptable(password: string, username: string): void {
  const p = passwordProblem(password, username);
  if (p) throw new WeakPasswordError(p);
}
