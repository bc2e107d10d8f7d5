/** What the proxy's 401 challenges add with `authorizationServer.dpop: allowed` (the default): a DPoP challenge. */
import { DPOP_ALGS } from '../../src/tokens/dpop.js';

export const DPOP_OFFER = `, DPoP algs="${DPOP_ALGS.join(' ')}"`;
