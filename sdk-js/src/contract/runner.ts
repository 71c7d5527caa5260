/**
 * Run a contract call: simulate and prepare, sign (Keypair or wallet), submit, wait.
 *
 * Without a signer the prepared, unsigned transaction is returned (XDR and SEP-7 URI) for a
 * wallet to sign and submit. A Keypair's secret never leaves this process: only the signed
 * envelope is sent, to the RPC node.
 */
import type { Keypair, Transaction, xdr } from "@stellar/stellar-sdk";
import { RPCError, SigningError, TransactionFailedError } from "../errors.js";
import type { Sleep } from "../core.js";
import type { PreparedTransaction, Signer } from "../types.js";
import {
  assemble,
  buildTransaction,
  failure,
  returnValue,
  sep7Uri,
  signAddressAuth,
  simulatedReturn,
  verifyWalletSignature,
  type Call,
  type RawSimulation,
} from "./invocations.js";
import type { SorobanRpc } from "./rpc.js";

export const TRY_AGAIN_ATTEMPTS = 5;

/** A transaction that succeeded in a ledger. */
export interface Landed {
  txHash: string;
  ledger: number;
  createdAt: number | null;
  value: xdr.ScVal | null;
}

export interface Prepared {
  tx: Transaction;
  simulation: RawSimulation;
  source: string;
  latestLedger: number;
}

/** A Keypair (duck-typed, so a second copy of stellar-sdk in a bundle works too). */
export function isKeypair(signer: unknown): signer is Keypair {
  return (
    typeof signer === "object" &&
    signer !== null &&
    typeof (signer as Keypair).publicKey === "function" &&
    typeof (signer as Keypair).signDecorated === "function"
  );
}

export class ContractRunner {
  constructor(
    readonly rpc: SorobanRpc,
    readonly options: {
      networkPassphrase: string;
      baseFee: number;
      sleep: () => Sleep;
      pollInterval: number;
      pollAttempts: number;
    },
  ) {}

  get networkPassphrase(): string {
    return this.options.networkPassphrase;
  }

  async prepare(call: Call, source: string): Promise<Prepared> {
    const sequence = await this.rpc.accountSequence(source);
    const tx = buildTransaction(call, {
      source,
      sequence: (BigInt(sequence) + 1n).toString(),
      networkPassphrase: this.options.networkPassphrase,
      baseFee: this.options.baseFee,
    });
    const simulation = (await this.rpc.simulate(tx.toXDR())) as RawSimulation;
    const prepared = assemble(tx, simulation);
    return { tx: prepared, simulation, source, latestLedger: Number(simulation.latestLedger ?? 0) };
  }

  unsigned(prepared: Prepared, call: Call, times: { startTime: number | null; endTime: number | null }): PreparedTransaction {
    const tx = prepared.tx;
    return {
      function: call.function,
      contractId: call.contractId,
      source: prepared.source,
      xdr: tx.toXDR(),
      sep7Uri: sep7Uri(tx, this.networkPassphrase, prepared.source, `StellarStream: ${call.function.replace(/_/g, " ")}`),
      networkPassphrase: this.networkPassphrase,
      txHash: tx.hash().toString("hex"),
      fee: Number(tx.fee),
      minResourceFee: Number(prepared.simulation.minResourceFee ?? 0),
      simulatedReturnXdr: simulatedReturn(prepared.simulation),
      startTime: times.startTime,
      endTime: times.endTime,
    };
  }

  async sign(prepared: Prepared, signer: Signer): Promise<Transaction> {
    const keypair = isKeypair(signer) ? signer : null;
    const tx = await signAddressAuth(prepared.tx, keypair, {
      latestLedger: prepared.latestLedger,
      networkPassphrase: this.networkPassphrase,
    });
    if (keypair !== null) {
      tx.sign(keypair);
      return tx;
    }
    if (typeof signer !== "function") throw new SigningError("a signer is a Keypair or a function (xdr, networkPassphrase) => signed xdr");
    const answer = await signer(tx.toXDR(), this.networkPassphrase);
    const signedXdr = typeof answer === "string" ? answer : answer?.signedTxXdr;
    if (typeof signedXdr !== "string") throw new SigningError("the signer returned no signed transaction XDR");
    return verifyWalletSignature(tx, signedXdr, this.networkPassphrase);
  }

  async submit(signed: Transaction): Promise<Landed> {
    const txHash = signed.hash().toString("hex");
    const sleep = this.options.sleep();
    let accepted = false;
    for (let i = 0; i < TRY_AGAIN_ATTEMPTS; i++) {
      const sent = await this.rpc.send(signed.toXDR());
      const status = sent.status;
      if (status === "PENDING" || status === "DUPLICATE") {
        accepted = true;
        break;
      }
      if (status === "TRY_AGAIN_LATER") {
        await sleep(this.options.pollInterval);
        continue;
      }
      if (status === "ERROR") {
        throw failure(sent.errorResultXdr, { txHash, ledger: null, what: "the network rejected the transaction" });
      }
      throw new RPCError(`sendTransaction: unexpected status ${JSON.stringify(status)}`);
    }
    if (!accepted) {
      throw new TransactionFailedError(`the node kept answering TRY_AGAIN_LATER for ${txHash}`, {
        txHash,
        transactionCode: "TRY_AGAIN_LATER",
      });
    }
    for (let i = 0; i < this.options.pollAttempts; i++) {
      const got = await this.rpc.getTransaction(txHash);
      if (got.status === "SUCCESS") {
        return {
          txHash,
          ledger: Number(got.ledger ?? 0),
          createdAt: got.createdAt === undefined || got.createdAt === null ? null : Number(got.createdAt),
          value: returnValue(got),
        };
      }
      if (got.status === "FAILED") {
        const ledger = got.ledger === undefined || got.ledger === null ? null : Number(got.ledger);
        throw failure(got.resultXdr, { txHash, ledger, what: `transaction ${txHash} failed in ledger ${String(ledger)}` });
      }
      await sleep(this.options.pollInterval);
    }
    throw new TransactionFailedError(
      `transaction ${txHash} was not in a ledger after ${this.options.pollAttempts} polls; it may still land: look it up by hash before retrying`,
      { txHash, transactionCode: null },
    );
  }
}
