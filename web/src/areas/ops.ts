/** The alerting set-up and probe pages: one chunk, loaded when one of them is first opened (pages/index.ts). */
export { RuleEditPage, RulesPage } from '../pages/ops/rules.tsx';
export { SilencesPage } from '../pages/ops/silences.tsx';
export { ChannelsPage } from '../pages/ops/channels.tsx';
export { ProbePage, ProbesPage } from '../pages/ops/probes.tsx';
