import { randomUUID } from 'node:crypto';

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly balance: number;
}

export interface Payment {
  readonly id: string;
  readonly accountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly description: string;
  readonly createdAt: string;
}

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly createdAt: string;
}

export interface WorkspaceData {
  readonly settings: { readonly name: string; readonly defaultCurrency: string };
  readonly accounts: Account[];
  readonly payments: Payment[];
  readonly webhooks: Webhook[];
}

/** The demo's business data, kept apart per workspace: a key only ever sees its own. */
export class PaymentsData {
  readonly #workspaces = new Map<string, WorkspaceData>();

  workspace(workspaceId: string): WorkspaceData {
    let data = this.#workspaces.get(workspaceId);
    if (data === undefined) {
      data = {
        settings: { name: workspaceId, defaultCurrency: 'TRY' },
        accounts: [
          {
            id: `acc_${workspaceId}_main`,
            name: 'Main account',
            currency: 'TRY',
            balance: 125_000,
          },
          { id: `acc_${workspaceId}_usd`, name: 'USD account', currency: 'USD', balance: 4_200 },
        ],
        payments: [],
        webhooks: [],
      };
      this.#workspaces.set(workspaceId, data);
    }
    return data;
  }

  createPayment(
    workspaceId: string,
    input: { accountId: string; amount: number; description: string },
  ): Payment | undefined {
    const data = this.workspace(workspaceId);
    const account = data.accounts.find((a) => a.id === input.accountId);
    if (account === undefined) return undefined;
    const payment: Payment = {
      id: `pay_${randomUUID()}`,
      accountId: account.id,
      amount: input.amount,
      currency: account.currency,
      description: input.description,
      createdAt: new Date().toISOString(),
    };
    data.payments.push(payment);
    return payment;
  }

  createWebhook(workspaceId: string, input: { url: string; events: string[] }): Webhook {
    const webhook: Webhook = {
      id: `wh_${randomUUID()}`,
      url: input.url,
      events: input.events,
      createdAt: new Date().toISOString(),
    };
    this.workspace(workspaceId).webhooks.push(webhook);
    return webhook;
  }

  report(workspaceId: string): { payments: number; totals: Record<string, number> } {
    const totals: Record<string, number> = {};
    const { payments } = this.workspace(workspaceId);
    for (const p of payments) totals[p.currency] = (totals[p.currency] ?? 0) + p.amount;
    return { payments: payments.length, totals };
  }
}
