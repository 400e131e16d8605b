/**
 * Domain errors: what a service throws when a rule refuses an operation. They
 * name the kind of refusal (not found, conflict, forbidden, …), a stable `code`
 * chosen by the thrower, a message for people and optional extra fields; they
 * know nothing of HTTP. `src/http/problem.ts` maps each kind to a status once
 * (see docs/adr/0007-domain-errors-and-layering.md).
 *
 * This folder imports nothing: not src/http, not src/modules, no framework.
 */

/** A problem with one field of the input a service received; `path` names the field (e.g. `username`, `items.3.name`). */
export interface FieldIssue {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  constructor(
    /** Stable machine-readable code (e.g. `USER_NOT_FOUND`). */
    readonly code: string,
    message: string,
    /** Extra fields for the client (e.g. `{ maxBytes: 65536 }`). */
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The thing the operation names does not exist (or is not visible to the caller). */
export class NotFoundError extends DomainError {}

/** The operation conflicts with the current state (a name taken, the last admin). */
export class ConflictError extends DomainError {}

/** A count limit of the current state is reached (at most N of something); a conflict the caller resolves by removing one. */
export class LimitExceededError extends ConflictError {}

/** The caller is known but may not do this; the message says why. */
export class ForbiddenError extends DomainError {}

/**
 * The caller's credential is missing, invalid, expired or revoked. `challenge`
 * says whether the credential itself was bad (`invalid_token`) or malformed
 * (`invalid_request`), for the HTTP layer's Bearer challenge.
 */
export class UnauthenticatedError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly challenge?: 'invalid_token' | 'invalid_request',
    extra?: Record<string, unknown>,
  ) {
    super(code, message, extra);
  }
}

/** The input breaks a rule; `issues` name the fields (may be empty when the rule is about the input as a whole). */
export class InvalidError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly issues: readonly FieldIssue[] = [],
    extra?: Record<string, unknown>,
  ) {
    super(code, message, extra);
  }
}

/** The input is larger than the service keeps (bytes, rows). */
export class TooLargeError extends DomainError {}

/** Too many attempts; the same operation may succeed after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    extra?: Record<string, unknown>,
  ) {
    super(code, message, extra);
  }
}

/** A dependency the operation needs is not available now; retry after `retryAfterSeconds` when given. */
export class UnavailableError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds?: number,
    extra?: Record<string, unknown>,
  ) {
    super(code, message, extra);
  }
}

/** The input is understood but this version of Opsdeck cannot process it faithfully (a peer's format whose meaning differs from Opsdeck's columns): 422. */
export class UnsupportedError extends DomainError {}
