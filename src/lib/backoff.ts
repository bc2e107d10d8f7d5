/**
 * A dependency that failed (an issuer's discovery or JWKS, an introspection endpoint) is not
 * asked again on every request: the failure is remembered and answered from memory for a
 * while — `firstMs`, doubling with each consecutive failure up to `maxMs` — and a success
 * forgets it. Without this, every request a client sends while the dependency is down costs
 * one or more outbound fetches.
 */
export class FailureBackoff {
  private failures = 0;
  private until = 0;
  private last?: unknown;

  constructor(
    private readonly firstMs = 2_000,
    private readonly maxMs = 60_000,
  ) {}

  /** Runs `fn`, or throws the remembered failure while it lasts; `counts`: which errors are the dependency's fault. */
  async run<T>(fn: () => Promise<T>, counts: (e: unknown) => boolean = () => true): Promise<T> {
    if (this.failures && Date.now() < this.until) throw this.last;
    try {
      const value = await fn();
      this.failures = 0;
      return value;
    } catch (e) {
      // Calls already in flight when the first failure came back do not lengthen the wait.
      if (counts(e) && Date.now() >= this.until) {
        this.failures++;
        this.until = Date.now() + Math.min(this.maxMs, this.firstMs * 2 ** (this.failures - 1));
        this.last = e;
      }
      throw e;
    }
  }
}
