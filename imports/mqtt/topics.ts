/**
 * The bridge's topic layout:
 *   <prefix>/instances/<instanceId>/status                  retained {"state":"online"|"offline", ...}
 *   <prefix>/instances/<instanceId>/digest                  retained {"epoch","seq","count","hash"} of its records
 *   <prefix>/instances/<instanceId>/connections/<sessionId> retained {"e": epoch, "r": record} (EJSON), empty = gone
 *   <prefix>/sync/<instanceId>                              not retained: an instance's own end-of-resync markers
 * Ids may not contain MQTT's separators or wildcards (MQTT 3.1.1 §4.7).
 */
export type ParsedTopic =
  | { kind: 'status'; instanceId: string }
  | { kind: 'digest'; instanceId: string }
  | { kind: 'sync'; instanceId: string }
  | { kind: 'connection'; instanceId: string; sessionId: string };

// biome-ignore lint/suspicious/noControlCharactersInRegex: MQTT 3.1.1 §1.5.3 forbids NUL in topics; refusing it is the point
const SAFE_SEGMENT = /^[^/+#\u0000]{1,64}$/;

export function isSafeTopicSegment(value: string): boolean {
  return SAFE_SEGMENT.test(value);
}

export class PresenceTopics {
  readonly statusWildcard: string;
  readonly digestWildcard: string;
  readonly connectionsWildcard: string;

  constructor(readonly prefix: string) {
    this.statusWildcard = `${prefix}/instances/+/status`;
    this.digestWildcard = `${prefix}/instances/+/digest`;
    this.connectionsWildcard = `${prefix}/instances/+/connections/+`;
  }

  digest(instanceId: string): string {
    return `${this.prefix}/instances/${instanceId}/digest`;
  }

  /** One instance's records only: subscribing anew makes the broker send its retained records again. */
  connectionsOf(instanceId: string): string {
    return `${this.prefix}/instances/${instanceId}/connections/+`;
  }

  sync(instanceId: string): string {
    return `${this.prefix}/sync/${instanceId}`;
  }

  status(instanceId: string): string {
    return `${this.prefix}/instances/${instanceId}/status`;
  }

  connection(instanceId: string, sessionId: string): string {
    return `${this.prefix}/instances/${instanceId}/connections/${sessionId}`;
  }

  parse(topic: string): ParsedTopic | null {
    if (topic.startsWith(this.prefix + '/sync/')) {
      const instanceId = topic.slice(this.prefix.length + '/sync/'.length);
      return isSafeTopicSegment(instanceId) ? { kind: 'sync', instanceId } : null;
    }
    if (!topic.startsWith(this.prefix + '/instances/')) return null;
    const parts = topic.slice(this.prefix.length + '/instances/'.length).split('/');
    if (parts.length === 2 && (parts[1] === 'status' || parts[1] === 'digest') && isSafeTopicSegment(parts[0]!)) {
      return { kind: parts[1], instanceId: parts[0]! };
    }
    if (parts.length === 3 && parts[1] === 'connections' && isSafeTopicSegment(parts[0]!) && isSafeTopicSegment(parts[2]!)) {
      return { kind: 'connection', instanceId: parts[0]!, sessionId: parts[2]! };
    }
    return null;
  }
}
