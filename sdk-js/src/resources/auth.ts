/** SEP-10 sign-in: get a challenge, sign it locally, exchange it for a bearer token. */
import { Keypair, Transaction, TransactionBuilder } from "@stellar/stellar-sdk";
import { API_PREFIX } from "../core.js";
import { SigningError } from "../errors.js";
import type { NebulaClient } from "../client.js";
import { AuthTokenSpec, ChallengeSpec, type AuthToken, type Challenge } from "../types.js";
import { checkAddress } from "../utils.js";

/**
 * Sign a SEP-10 challenge after checking it cannot be anything else: sequence number 0 (it can
 * never be submitted) and only ManageData operations, the first one for our account.
 */
export function signChallenge(challenge: Challenge, keypair: Keypair): string {
  let tx: Transaction;
  try {
    const parsed = TransactionBuilder.fromXDR(challenge.transaction, challenge.network_passphrase);
    if (!(parsed instanceof Transaction)) throw new Error("a fee-bump transaction");
    tx = parsed;
  } catch (error) {
    throw new SigningError(`the challenge is not a transaction envelope: ${String(error)}`);
  }
  const ops = tx.operations;
  if (tx.sequence !== "0" || ops.length === 0 || !ops.every((op) => op.type === "manageData")) {
    throw new SigningError("refusing to sign: this is not a SEP-10 challenge transaction");
  }
  if (ops[0]?.source !== keypair.publicKey()) {
    throw new SigningError(`refusing to sign: the challenge is not for ${keypair.publicKey()}`);
  }
  tx.sign(keypair);
  return tx.toXDR();
}

export class Auth {
  constructor(private readonly client: NebulaClient) {}

  /** A SEP-10 challenge for `account` (`G...`) to sign. */
  async challenge(account: string): Promise<Challenge> {
    checkAddress(account, "account", "G");
    return this.client.request<Challenge>({ method: "GET", path: `${API_PREFIX}/auth/challenge`, query: { account } }, ChallengeSpec);
  }

  /** Exchange a signed challenge for a token (does not store it: see {@link login}). */
  async token(signedTransaction: string): Promise<AuthToken> {
    return this.client.request<AuthToken>(
      { method: "POST", path: `${API_PREFIX}/auth/token`, body: { transaction: signedTransaction } },
      AuthTokenSpec,
    );
  }

  /** Sign in as `keypair`; the client keeps the token. The secret never leaves this process. */
  async login(keypair: Keypair): Promise<AuthToken> {
    const challenge = await this.challenge(keypair.publicKey());
    const token = await this.token(signChallenge(challenge, keypair));
    this.client.token = token.token;
    return token;
  }
}
