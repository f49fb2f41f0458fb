// Third-party DDP clients used by the tests ship no type declarations.
declare module 'simpleddp';
declare module 'ddp.js';
declare module 'sockjs-client';
