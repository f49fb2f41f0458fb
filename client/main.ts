/**
 * Meteor-mode client entry (package.json meteor.mainModule.client): the same
 * dashboard, on Meteor's own DDP client.
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
