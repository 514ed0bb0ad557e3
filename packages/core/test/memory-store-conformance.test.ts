import { MemoryKeyStore } from '../src/index.js';
import { describeKeyStore } from '../src/testing.js';

describeKeyStore('MemoryKeyStore', { create: () => new MemoryKeyStore() });
