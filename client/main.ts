/**
 * Meteor-mode client entry (package.json meteor.mainModule.client): the same
 * dashboard, on Meteor's own DDP client. Its idleness goes out as
 * `presence.setIdle` through MeteorPresenceSource.call (Meteor.call), and is
 * re-sent after a reconnect (idle-reporter.ts). A Meteor app without the
 * dashboard uses the same helper:
 *   const idleness = reportIdleness({ call: (m, ...a) => Meteor.callAsync(m, ...a), document });
 *   Tracker.autorun(() => idleness.session(Meteor.status().connected ? 'connected' : null));
 */
import './dashboard/dashboard.css';
import { mountDashboard } from './dashboard/dashboard';
import { MeteorPresenceSource } from './meteor-presence-source';

const root = document.createElement('div');
document.body.append(root);
mountDashboard(root, new MeteorPresenceSource(), {
  location: window.location,
  history: window.history,
  storage: window.sessionStorage,
});
