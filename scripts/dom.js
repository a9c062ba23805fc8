#!/usr/bin/env node
// The `dom` command. TypeScript runs as-is through tsx: no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
await main(process.argv.slice(2));
