/**
 * The short-lived records of the browser connect flow, in the store (shared by replicas):
 * elicitations (a connect link handed to an MCP client, bound to the user it was made for) and
 * connect states (one authorization request in flight: PKCE verifier, user, where to return),
 * each state consumed once (Store.claim).
 */
import { randomId } from '../lib/crypto.js';
import type { Store } from '../store/store.js';

export const ELICITATION_TTL_MS = 30 * 60_000;
export const CONNECT_STATE_TTL_MS = 10 * 60_000;

export interface Elicitation {
  user: string;
  backend: string;
}

export interface ConnectState {
  user: string;
  backend: string;
  codeVerifier: string;
  returnTo: string;
  /** The client the authorization request was made with (the code is exchanged with it). */
  issuer: string;
  clientId: string;
  scopes: string[];
}

export class ConnectRecords {
  constructor(private readonly store: Store) {}

  /** A new elicitation id bound to `user`, for the connect link of `backend`. */
  async elicit(user: string, backend: string): Promise<string> {
    const id = randomId(18);
    await this.store.set(`upstream-elicitation:${id}`, { user, backend } satisfies Elicitation, ELICITATION_TTL_MS);
    return id;
  }

  elicitation(id: string): Promise<Elicitation | undefined> {
    return this.store.get<Elicitation>(`upstream-elicitation:${id}`);
  }

  /** Keeps a connect state; returns its `state` value. */
  async begin(s: ConnectState): Promise<string> {
    const state = randomId(24);
    await this.store.set(`upstream-connect:${state}`, s, CONNECT_STATE_TTL_MS);
    return state;
  }

  /** The state, once: a second call (another replica included) finds nothing. */
  async consume(state: string): Promise<ConnectState | undefined> {
    const s = await this.store.get<ConnectState>(`upstream-connect:${state}`);
    if (!s) return undefined;
    if (!(await this.store.claim(`upstream-connect-used:${state}`, CONNECT_STATE_TTL_MS))) return undefined;
    await this.store.delete(`upstream-connect:${state}`);
    return s;
  }
}
