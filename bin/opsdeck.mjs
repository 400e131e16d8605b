#!/usr/bin/env node
// Entry shim: runs the TypeScript CLI through tsx so `npm start` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin/opsdeck.ts');
