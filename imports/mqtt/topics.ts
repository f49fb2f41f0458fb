/**
 * The bridge's topic layout:
 *   <prefix>/instances/<instanceId>/status                  retained {"state":"online"|"offline", ...}
 *   <prefix>/instances/<instanceId>/connections/<sessionId> retained record (EJSON), empty = gone
 * Ids may not contain MQTT's separators or wildcards (MQTT 3.1.1 §4.7).
 */
export type ParsedTopic =
  | { kind: 'status'; instanceId: string }
  | { kind: 'connection'; instanceId: string; sessionId: string };

const SAFE_SEGMENT = /^[^/+#\u0000]{1,64}$/;

export function isSafeTopicSegment(value: string): boolean {
  return SAFE_SEGMENT.test(value);
}

export class PresenceTopics {
  readonly statusWildcard: string;
  readonly connectionsWildcard: string;

  constructor(readonly prefix: string) {
    this.statusWildcard = `${prefix}/instances/+/status`;
    this.connectionsWildcard = `${prefix}/instances/+/connections/+`;
  }

  status(instanceId: string): string {
    return `${this.prefix}/instances/${instanceId}/status`;
  }

  connection(instanceId: string, sessionId: string): string {
    return `${this.prefix}/instances/${instanceId}/connections/${sessionId}`;
  }

  parse(topic: string): ParsedTopic | null {
    if (!topic.startsWith(this.prefix + '/instances/')) return null;
    const parts = topic.slice(this.prefix.length + '/instances/'.length).split('/');
    if (parts.length === 2 && parts[1] === 'status' && isSafeTopicSegment(parts[0]!)) {
      return { kind: 'status', instanceId: parts[0]! };
    }
    if (parts.length === 3 && parts[1] === 'connections' && isSafeTopicSegment(parts[0]!) && isSafeTopicSegment(parts[2]!)) {
      return { kind: 'connection', instanceId: parts[0]!, sessionId: parts[2]! };
    }
    return null;
  }
}
