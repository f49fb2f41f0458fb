import { after, describe } from 'node:test';
import { MongoClient } from 'mongodb';
import { MongoCollection } from '../../imports/store/mongo-collection';
import { collectionContract } from './collection-contract';

// No MongoDB server can be installed on the machines that build this project,
// so this suite runs only where MONGO_URL points at one.
const mongoUrl = process.env.MONGO_URL;
const skipReason = mongoUrl ? false : 'MONGO_URL is not set: no MongoDB server here, so the Mongo-backed store is not exercised';
if (skipReason) console.log(`# SKIPPED mongo-collection: ${skipReason}`);

describe('MongoCollection meets the collection contract', { skip: skipReason }, () => {
  const client = new MongoClient(mongoUrl ?? 'mongodb://127.0.0.1:1');
  const dbName = `connected_users_test_${process.pid}`;
  let n = 0;
  after(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });
  collectionContract(async () => new MongoCollection(client.db(dbName), `c${n++}`));
});
