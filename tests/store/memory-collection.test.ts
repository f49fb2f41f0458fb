import { describe } from 'node:test';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { collectionContract } from './collection-contract';

describe('MemoryCollection meets the collection contract', () => {
  let n = 0;
  collectionContract(async () => new MemoryCollection(`memory${n++}`));
});
