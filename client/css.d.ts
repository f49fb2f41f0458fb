// Stylesheets are imported for their side effect; esbuild (standalone) and Meteor bundle them.
declare module '*.css';
