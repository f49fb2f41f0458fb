import type { Collection as MongoDriverCollection, Db } from 'mongodb';
import type { Logger } from '../log/logger';
import type { Document, FindOptions, LiveCursor, Selector, StoreCollection } from './collection';
import { MemoryCollection } from './memory-collection';

/**
 * The same collection, persisted in MongoDB through the official driver
 * (used when MONGO_URL is set).
 *
 * Every write goes to MongoDB first, then to an in-memory mirror of what
 * this process wrote; `find()` and its live observers are served from that
 * mirror, so publications stay synchronous and cheap (no oplog or change
 * stream needed). Caveat: the mirror holds this instance's writes only;
 * other instances' records reach the live view through the MQTT bridge.
 */
export class MongoCollection<T extends Document> implements StoreCollection<T> {
  private readonly mirror: MemoryCollection<T>;
  private readonly driver: MongoDriverCollection<T>;

  /** `log` gets the mirror's observer errors (the app's configured logger, not one of its own). */
  constructor(db: Db, readonly name: string, log?: Logger) {
    this.driver = db.collection<T>(name);
    this.mirror = new MemoryCollection<T>(name, log);
  }

  /** Indexes the app's cleanup relies on; idempotent. */
  async ensureIndex(field: string): Promise<void> {
    await this.driver.createIndex({ [field]: 1 } as never);
  }

  async insertAsync(doc: T): Promise<string> {
    await this.driver.insertOne(doc as never);
    return this.mirror.insertAsync(doc);
  }

  async updateAsync(selector: Selector, modifier: Record<string, unknown>): Promise<number> {
    const result = await this.driver.updateMany(selector as never, modifier as never);
    await this.mirror.updateAsync(selector, modifier);
    return result.modifiedCount;
  }

  async removeAsync(selector: Selector): Promise<number> {
    const result = await this.driver.deleteMany(selector as never);
    await this.mirror.removeAsync(selector);
    return result.deletedCount;
  }

  find(selector: Selector = {}, options: FindOptions = {}): LiveCursor<T> {
    return this.mirror.find(selector, options);
  }

  findOneAsync(selector: Selector = {}, options: FindOptions = {}): Promise<T | undefined> {
    return this.mirror.findOneAsync(selector, options);
  }
}
