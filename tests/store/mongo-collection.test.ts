import { after, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { MongoCollection } from '../../imports/store/mongo-collection';
import { collectionContract } from './collection-contract';

// No MongoDB server can be installed on the machines that build this project,
// so this suite runs only where MONGO_URL points at one; otherwise it is
// reported as one skipped test with the reason (counted in the summary).
const mongoUrl = process.env.MONGO_URL;

if (!mongoUrl) {
  const reason = 'MONGO_URL is not set: no MongoDB server on this machine, so the Mongo-backed store is not exercised';
  console.log(`# SKIPPED mongo-collection: ${reason}`);
  test('MongoCollection meets the collection contract', { skip: reason }, () => {});
} else {
  describe('MongoCollection meets the collection contract', () => {
    const client = new MongoClient(mongoUrl);
    const dbName = `connected_users_test_${process.pid}`;
    let n = 0;
    after(async () => {
      await client.db(dbName).dropDatabase();
      await client.close();
    });
    collectionContract(async () => new MongoCollection(client.db(dbName), `c${n++}`));
  });
}
