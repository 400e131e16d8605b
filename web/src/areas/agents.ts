/** The agent ledger's pages: one chunk, loaded when one of them is first opened (pages/index.ts). */
export { RunPage, RunsPage } from '../pages/agents/runs.tsx';
export { ApprovalsPage, AuditPage, UsagePage } from '../pages/agents/ledger.tsx';
