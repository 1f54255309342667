#!/usr/bin/env node
import module from 'node:module';
import { execute } from '@oclif/core';

// Cache compiled modules between runs (Node >= 22.1): a CLI pays its start-up on every command.
module.enableCompileCache?.();

await execute({ dir: import.meta.url });
